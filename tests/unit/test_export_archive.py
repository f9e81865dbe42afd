"""The export's zip: written as a stream with the bundle writer's exact layout (zip64 when it
must), read member by member, hostile archives refused; the manifest's bytes made in pieces."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile

import pytest

from notary.verify.archive import write_archive
from notary.verify.canonical import canonical_json
from notary.verify.export.archive import ExportArchive, ExportLimits, MalformedExport
from notary.verify.export.manifest import (
    MalformedExportManifest,
    ManifestWriter,
    bundle_path,
    contract_of,
    parse_manifest,
    parse_signature,
)
from notary.verify.export.zipstream import ZipStream
from tests.support.export import header

WHEN = dt.datetime(2026, 12, 2, 9, 0, 0, tzinfo=dt.UTC)
MEMBERS = [("keys/notary.pem", b"pem\n"), ("bundles/ct_1.zip", b"x" * 1000), ("manifest.json", b"{}")]


def streamed(members, **options):
    stream = ZipStream(modified=WHEN, **options)
    chunks = [chunk for name, content in members for chunk in stream.member(name, content)]
    return b"".join(chunks + list(stream.finish()))


def opened(data, **limits):
    return ExportArchive.open(io.BytesIO(data), limits=ExportLimits(**limits))


def read_all(data, **limits):
    archive = opened(data, **limits)
    return {entry.name: archive.read(entry) for entry in archive.entries()}


def test_the_stream_is_the_bundle_writers_layout():
    assert streamed(MEMBERS) == write_archive(MEMBERS, modified=WHEN)
    assert read_all(streamed(MEMBERS)) == dict(MEMBERS)


def test_zip64_records_are_written_and_read_by_others_too():
    data = streamed(MEMBERS, force_zip64=True)
    assert b"PK\x06\x06" in data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.filename: archive.read(info) for info in archive.infolist()} == dict(MEMBERS)
    assert read_all(data) == dict(MEMBERS)


def test_chunks_must_match_what_was_announced():
    stream = ZipStream(modified=WHEN)
    with pytest.raises(ValueError, match="do not match"):
        list(stream.member_chunks("a.txt", 3, 0, [b"abc"]))
    with pytest.raises(ValueError, match="not accepted"):
        list(stream.member("../a", b""))
    stream.close()
    with pytest.raises(ValueError, match="finished"):
        list(stream.member("a.txt", b""))


def test_repacked_exports_open():
    # Deflated members, extra fields and data descriptors, as common tools write them.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in MEMBERS:
            with archive.open(name, "w") as handle:
                handle.write(content)
    unseekable = io.BytesIO()

    class Stream(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            return unseekable.write(data)

    with zipfile.ZipFile(Stream(), "w", zipfile.ZIP_DEFLATED) as archive:  # data descriptors
        for name, content in MEMBERS:
            archive.writestr(name, content)
    for data in (buffer.getvalue(), unseekable.getvalue()):
        assert read_all(data) == dict(MEMBERS)


def _central(data: bytes, index: int) -> int:
    at = -1
    for _ in range(index + 1):
        at = data.index(b"PK\x01\x02", at + 1)
    return at


def _set_offset(data: bytes, index: int, offset: int) -> bytes:
    at = _central(data, index) + 42
    return data[:at] + struct.pack("<I", offset) + data[at + 4 :]


def _set_flags(data: bytes, index: int, flags: int) -> bytes:
    at = _central(data, index) + 8
    return data[:at] + struct.pack("<H", flags) + data[at + 2 :]


def _swap_directory_entries(data: bytes) -> bytes:
    start = struct.unpack("<I", data[-6:-2])[0]
    directory = data[start:-22]
    first, second, third = (b"PK\x01\x02" + part for part in directory.split(b"PK\x01\x02")[1:])
    return data[:start] + second + first + third + data[-22:]


GOOD = streamed(MEMBERS)
HOSTILE = [
    ("empty", b"", "empty"),
    ("not a zip", b"hello world, this is not a zip at all", "not a zip"),
    ("bytes appended", GOOD + b"\0", "bytes follow"),
    ("a comment", GOOD[:-2] + b"\x01\x00!", "comment"),
    ("prefixed", b"MZ" + GOOD, "not a zip"),
    ("overlapping members", _set_offset(GOOD, 1, 0), "overlaps"),
    ("directory out of order", _swap_directory_entries(GOOD), "out of archive order"),
    (
        "duplicate names",
        streamed([("a.txt", b"1"), ("b.txt", b"2")]).replace(b"b.txt", b"a.txt"),
        "two members",
    ),
    ("unsafe name", streamed([("a.txt", b"1")]).replace(b"a.txt", b"../.."), "unsafe"),
    ("encrypted", _set_flags(GOOD, 1, 1), "encrypted"),
    ("runs into the directory", _set_offset(GOOD, 2, len(GOOD) - 80), "local header|runs into|overlaps"),
]


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_hostile_archives_are_refused(name, data, message):
    with pytest.raises(MalformedExport, match=message) as caught:
        read_all(data)
    assert caught.value.code == "malformed_export"


def test_limits_are_enforced_from_the_directory():
    with pytest.raises(MalformedExport, match="at most"):
        opened(GOOD, max_bundles=1, max_other_members=1)
    with pytest.raises(MalformedExport, match="more than 0 bundles"):
        opened(GOOD, max_bundles=0, max_other_members=3)
    with pytest.raises(MalformedExport, match="bytes; at most 999"):
        opened(GOOD, max_bundle_bytes=999)
    with pytest.raises(MalformedExport, match=r"manifest\.json"):
        opened(GOOD, max_manifest_bytes=1)


def test_a_damaged_member_is_refused_when_read():
    data = GOOD.replace(b"x" * 1000, b"x" * 999 + b"y")
    archive = opened(data)
    entries = list(archive.entries())
    assert archive.read(entries[0]) == b"pem\n"
    with pytest.raises(MalformedExport, match="damaged"):
        archive.read(entries[1])


def test_the_manifest_is_canonical_json_made_in_pieces():
    writer = ManifestWriter(header(), spool_bytes=64)  # spilled to files at once
    bundles = {f"ct_{i:04d}": f"{i:064x}" for i in range(50)}
    for contract_id, digest in bundles.items():
        writer.add_bundle(contract_id, digest)
    writer.add_not_included("ct_9999", "expired")
    expected = canonical_json(
        header()
        | {"bundles": {bundle_path(k): v for k, v in bundles.items()}, "not_included": {"ct_9999": "expired"}}
    )
    assert b"".join(writer.chunks()) == expected
    assert b"".join(writer.chunks()) == expected  # read twice: to sign, then to send
    manifest = parse_manifest(expected)
    assert (len(manifest.bundles), dict(manifest.not_included)) == (50, {"ct_9999": "expired"})
    with pytest.raises(ValueError, match="ascending"):
        writer.add_bundle("ct_0000", "0" * 64)
    with pytest.raises(ValueError, match="status"):
        writer.add_not_included("ct_99999", "sealed")
    writer.close()
    empty = ManifestWriter(header())
    assert b"".join(empty.chunks()) == canonical_json(header() | {"bundles": {}, "not_included": {}})
    empty.close()


def test_bundle_paths():
    assert bundle_path("ct_01ABC") == "bundles/ct_01ABC.zip"
    assert contract_of("bundles/ct_01ABC.zip") == "ct_01ABC"
    assert contract_of("bundles/ct_01ABC.zip.zip") is None
    assert contract_of("bundles/sub/ct.zip") is None
    with pytest.raises(ValueError, match="cannot name"):
        bundle_path("../x")


def _manifest(**changes):
    value = header() | {"bundles": {}, "not_included": {}}
    value.update(changes)
    return canonical_json(value)


BAD_MANIFESTS = [
    _manifest(format="notary-evidence/1"),
    _manifest(purpose="notary.sign.v1"),
    _manifest(exported_at="2026-12-02"),
    _manifest(extra=1),
    _manifest(bundles={"bundles/x/y.zip": "0" * 64}),
    _manifest(bundles={"bundles/ct_1.zip": "0" * 63}),
    _manifest(bundles={"bundles/ct_1.zip": "0" * 64}, not_included={"ct_1": "expired"}),
    _manifest(not_included={"ct_1": "sealed"}),
    _manifest(exported_by={"kind": "platform", "id": "pl_1"}),
    _manifest(case=header()["case"] | {"scope": {"id_number": "110105194912310021"}}),
    _manifest(investigator={"investigator_id": "iv", "name": "", "agency": "x"}),
    b'{"format": "notary-export/1"}',
    b"[]",
]


@pytest.mark.parametrize("data", BAD_MANIFESTS)
def test_bad_manifests_are_refused(data):
    with pytest.raises(MalformedExportManifest) as caught:
        parse_manifest(data)
    assert caught.value.code == "malformed_manifest"


@pytest.mark.parametrize(
    "value",
    [
        {"algorithm": "ed25519", "key_fingerprint": "0" * 64, "signature": "AAAA"},
        {"algorithm": "ecdsa-p256-sha256", "key_fingerprint": "0" * 63, "signature": "AAAA"},
        {"algorithm": "ecdsa-p256-sha256", "key_fingerprint": "0" * 64, "signature": "A==="},
        {"algorithm": "ecdsa-p256-sha256", "key_fingerprint": "0" * 64},
    ],
)
def test_bad_signature_files_are_refused(value):
    with pytest.raises(MalformedExportManifest):
        parse_signature(canonical_json(value))
