"""Zip archives: every refusal of read_archive (hostile zips), and write_archive's fixed bytes."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import struct
import subprocess
import warnings
import zipfile

import pytest

from notary.verify.archive import (
    MAX_MEMBERS,
    ArchiveLimits,
    MalformedBundle,
    read_archive,
    write_archive,
)

WHEN = dt.datetime(2026, 12, 1, 8, 0, 7, tzinfo=dt.UTC)
SMALL = [("a.txt", b"hello"), ("dir/b.bin", bytes(range(256)))]


def zipped(entries, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests want
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return buffer.getvalue()


def refused(data: bytes, match: str, **limits: int) -> MalformedBundle:
    with pytest.raises(MalformedBundle, match=match) as caught:
        read_archive(data, limits=ArchiveLimits(**limits))
    assert caught.value.code == "malformed_bundle"
    return caught.value


def test_written_archives_read_back_in_order():
    data = write_archive(SMALL, modified=WHEN)
    assert list(read_archive(data).items()) == SMALL


def test_writing_is_deterministic_and_has_fixed_headers():
    data = write_archive(SMALL, modified=WHEN)
    assert data == write_archive(SMALL, modified=WHEN)
    assert data != write_archive(SMALL, modified=WHEN + dt.timedelta(seconds=2))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            assert info.date_time == (2026, 12, 1, 8, 0, 6)  # two-second resolution, UTC wall time
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.extra == b""
            assert info.comment == b""
            assert info.create_system == 3
            assert info.external_attr >> 16 == 0o100644
            assert info.flag_bits == 0
    # Another time zone, the same moment: the same bytes.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert write_archive(SMALL, modified=WHEN.astimezone(shanghai)) == data


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip is not installed")
def test_unzip_accepts_written_archives(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(write_archive(SMALL, modified=WHEN))
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert "No errors detected" in result.stdout


@pytest.mark.parametrize("name", ["/abs", "../up", "a/../b", "a\\b", "dir/", "", ".hidden", "a//b", "é.txt"])
def test_writing_refuses_names_reading_would_refuse(name):
    with pytest.raises(ValueError, match="not accepted"):
        write_archive([(name, b"x")], modified=WHEN)


def test_writing_refuses_duplicates_and_naive_or_early_times():
    with pytest.raises(ValueError, match="duplicate"):
        write_archive([("a", b"1"), ("a", b"2")], modified=WHEN)
    with pytest.raises(ValueError, match="naive"):
        write_archive(SMALL, modified=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="1980"):
        write_archive(SMALL, modified=dt.datetime(1979, 12, 31, tzinfo=dt.UTC))


def test_deflated_archives_of_other_tools_are_read():
    assert read_archive(zipped(SMALL)) == dict(SMALL)


def test_empty_and_non_zip_input():
    refused(b"", "empty")
    refused(b"%PDF-1.4\n", "not a zip")
    refused(b"PK\x05\x06" + bytes(18), "no members")


def test_prefixed_appended_and_commented_archives():
    data = write_archive(SMALL, modified=WHEN)
    refused(b"#!/bin/sh\n" + data, "not a zip")
    refused(data + b"tail", "end record")
    commented = io.BytesIO()
    with zipfile.ZipFile(commented, "w") as archive:
        archive.comment = b"hello"
        archive.writestr("a", b"x")
    refused(commented.getvalue(), "end record")


def test_too_large_input():
    data = write_archive(SMALL, modified=WHEN)
    refused(data, "at most 100 are accepted", max_archive_bytes=100)


def test_too_many_members_is_refused_from_the_end_record_alone():
    many = write_archive([(f"m{i}", b"") for i in range(MAX_MEMBERS + 1)], modified=WHEN)
    error = refused(many, f"{MAX_MEMBERS + 1} members")
    assert error.details == {"members": MAX_MEMBERS + 1, "limit": MAX_MEMBERS}
    # An end record claiming 65,000 members, with none behind it: refused before parsing.
    data = bytearray(write_archive(SMALL, modified=WHEN))
    data[-14:-10] = struct.pack("<HH", 65000, 65000)
    refused(bytes(data), "65000 members")


def test_too_much_inflated_data():
    refused(
        write_archive([("a", b"x" * 600), ("b", b"y" * 600)], modified=WHEN),
        "inflate to 1200",
        max_inflated_bytes=1000,
    )


def test_a_zip_bomb_is_refused_by_its_ratio_before_inflating():
    bomb = zipped([("zeros", bytes(8 * 1024 * 1024))])
    error = refused(bomb, "inflates more than 100 times")
    assert error.details["inflated"] == 8 * 1024 * 1024
    # Small text members compress well and are no threat: under the floor, any ratio passes.
    assert read_archive(zipped([("small", bytes(100_000))]))["small"] == bytes(100_000)


def test_duplicate_names_are_refused():
    refused(zipped([("a", b"1"), ("a", b"2")]), "two members are named 'a'")


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("/etc/passwd", "unsafe"),
        ("../escape", "unsafe"),
        ("a/../../b", "unsafe"),
        ("C:/x", "unsafe"),
        ("a\\b", "unsafe"),
        ("dir/", "directory"),
        ("sp ace", "unsafe"),
        ("x" * 201, "unsafe"),
    ],
)
def test_unsafe_names_are_refused(name, match):
    refused(zipped([(name, b"x")]), match)


def _patch_flags(data: bytes, name: bytes, *, flags: int | None = None, method: int | None = None) -> bytes:
    """Set the flag bits or method of member ``name`` in both its headers."""
    out = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                if flags is not None:
                    out[start + flag_at : start + flag_at + 2] = struct.pack("<H", flags)
                if method is not None:
                    out[start + flag_at + 2 : start + flag_at + 4] = struct.pack("<H", method)
            start += 4
    return bytes(out)


def test_encrypted_members_are_refused():
    data = write_archive(SMALL, modified=WHEN)
    refused(_patch_flags(data, b"a.txt", flags=0x0001), "encrypted")
    refused(_patch_flags(data, b"a.txt", flags=0x0040), "encrypted")


def test_other_compression_methods_are_refused():
    refused(zipped(SMALL, zipfile.ZIP_BZIP2), "compression method 12")
    refused(_patch_flags(write_archive(SMALL, modified=WHEN), b"a.txt", method=99), "compression method 99")


def test_overlapping_members_are_refused():
    # Two directory entries for one local header: the trick of overlapping zip bombs.
    data = write_archive([("a", b"x" * 10)], modified=WHEN)
    directory_at = data.index(b"PK\x01\x02")
    entry = data[directory_at:-22]
    doubled = data[:directory_at] + entry + entry.replace(b"a", b"b", 1)[:-1] + b"b"
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 2, 2, 2 * len(entry), directory_at, 0)
    refused(doubled + end, "overlaps")


def test_damaged_content_is_refused():
    data = bytearray(write_archive(SMALL, modified=WHEN))
    data[data.index(b"hello")] ^= 1
    refused(bytes(data), "damaged")
    stored_sizes = bytearray(write_archive(SMALL, modified=WHEN))
    stored_sizes[18:22] = struct.pack("<I", 4)  # local header's compressed size
    refused(bytes(stored_sizes), "contradicts the central directory")
