"""Zip archives read defensively and written deterministically.

Evidence bundles (and the case exports that hold them) are zips that anyone may hand to the
verifier, so reading one is reading hostile input: every refusal below is a
:class:`MalformedBundle` raised before more than the archive's directory has been looked at,
and no member is inflated beyond the size its directory entry declares.

Writing is the other half: :func:`write_archive` lays out stored (uncompressed) members with
fixed headers and one fixed time, so the same members always give the same bytes, whatever
the zlib or Python version. Deflate output is not specified byte for byte, so it is never
used for writing; it is accepted when reading, for archives repacked by other tools.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from notary.verify.errors import MalformedInput

__all__ = [
    "MAX_ARCHIVE_BYTES",
    "MAX_COMPRESSION_RATIO",
    "MAX_INFLATED_BYTES",
    "MAX_MEMBERS",
    "MAX_NAME_LENGTH",
    "RATIO_FLOOR_BYTES",
    "ArchiveLimits",
    "MalformedBundle",
    "dos_time",
    "is_safe_member_name",
    "read_archive",
    "write_archive",
]

#: The archive as received: the largest document (``NOTARY_MAX_DOCUMENT_BYTES``, 20 MiB by
#: default) plus room for a service configured higher, within ``NOTARY_MAX_REQUEST_BYTES``.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
#: Members: a bundle has 14 plus two per extra checkpoint timestamp authority.
MAX_MEMBERS = 64
#: The sum of the members' inflated sizes.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
#: A deflated member may inflate to at most this many times its compressed size...
MAX_COMPRESSION_RATIO = 100
#: ...once it is larger than this (small text members compress well and harm no one).
RATIO_FLOOR_BYTES = 1024 * 1024
#: Member names: ASCII path segments of letters, digits, ``.``, ``_`` and ``-``.
MAX_NAME_LENGTH = 200

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_LOCAL_HEADER = b"PK\x03\x04"
_CENTRAL_HEADER = b"PK\x01\x02"
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
_END_SIZE = 22
_LOCAL_SIZE = 30
_ENCRYPTED = 0x0001
_DATA_DESCRIPTOR = 0x0008
_STRONG_ENCRYPTION = 0x0040
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_UNIX_FILE_0644 = 0o100644 << 16
_MADE_BY_UNIX_2_0 = (3 << 8) | 20
_NEEDS_2_0 = 20


class MalformedBundle(MalformedInput):
    """Not a zip the verifier will open: damaged, unsafe (a bomb, odd paths) or over a limit."""

    code = "malformed_bundle"


@dataclass(frozen=True)
class ArchiveLimits:
    """What :func:`read_archive` accepts; the defaults are those of an evidence bundle."""

    max_archive_bytes: int = MAX_ARCHIVE_BYTES
    max_members: int = MAX_MEMBERS
    max_inflated_bytes: int = MAX_INFLATED_BYTES
    max_compression_ratio: int = MAX_COMPRESSION_RATIO
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES


BUNDLE_LIMITS = ArchiveLimits()


def _directory_bounds(data: bytes) -> tuple[int, int]:
    """(member count, offset of the central directory) from the end records.

    The end record must be the archive's last 22 bytes: no archive comment, nothing appended.
    Read here, before :mod:`zipfile` builds an object per directory entry, so a directory of
    millions of entries is refused for its count alone.
    """
    end = len(data) - _END_SIZE
    if end < 0 or data[end : end + 4] != _END_OF_DIRECTORY:
        raise MalformedBundle("not a zip archive, or bytes follow its end record (an archive comment?)")
    disk, directory_disk, on_disk, count, size, offset, comment = struct.unpack(
        "<HHHHIIH", data[end + 4 : end + _END_SIZE]
    )
    if comment:
        raise MalformedBundle("the end record announces a comment the archive does not hold")
    if disk or directory_disk or on_disk != count:
        raise MalformedBundle("multi-volume zip archives are not accepted")
    if count == 0xFFFF or offset == 0xFFFFFFFF or size == 0xFFFFFFFF:
        locator = end - 20
        if locator < 0 or data[locator : locator + 4] != _ZIP64_LOCATOR:
            raise MalformedBundle("zip64 archive without its locator")
        (record,) = struct.unpack("<Q", data[locator + 8 : locator + 16])
        if record > locator or data[record : record + 4] != _ZIP64_END:
            raise MalformedBundle("zip64 end record not where its locator points")
        count, _, size, offset = struct.unpack("<QQQQ", data[record + 24 : record + 56])
        end = record
    if offset + size != end:
        raise MalformedBundle("the central directory is not where the end record says")
    return count, offset


def is_safe_member_name(name: str) -> bool:
    """Whether ``name`` is a member name the notary's archives use: ASCII letters, digits, ``.``,
    ``_`` and ``-`` in ``/``-separated segments, none empty or starting with ``.``, at most
    ``MAX_NAME_LENGTH`` characters (so no absolute path, ``..``, backslash or drive letter)."""
    return len(name) <= MAX_NAME_LENGTH and bool(_NAME.fullmatch(name))


def _check_entry(info: zipfile.ZipInfo, seen: set[str], limits: ArchiveLimits) -> None:
    name = info.filename
    if name in seen:
        raise MalformedBundle(f"two members are named {name!r}", details={"member": name})
    seen.add(name)
    if name.endswith("/"):
        raise MalformedBundle(f"directory entries are not accepted ({name!r})", details={"member": name})
    if not is_safe_member_name(name) or ".." in name.split("/"):
        # The pattern already excludes absolute paths, backslashes, drive letters and empty
        # or dot-leading segments; ".." is named for the reader of this line.
        raise MalformedBundle(f"unsafe or unexpected member name {name!r}", details={"member": name})
    if info.flag_bits & (_ENCRYPTED | _STRONG_ENCRYPTION):
        raise MalformedBundle(f"member {name!r} is encrypted", details={"member": name})
    if info.compress_type not in _METHODS:
        raise MalformedBundle(
            f"member {name!r} uses compression method {info.compress_type}; only stored and deflate are read",
            details={"member": name},
        )
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise MalformedBundle(f"stored member {name!r} has two sizes", details={"member": name})
    if (
        info.compress_type == zipfile.ZIP_DEFLATED
        and info.file_size > limits.ratio_floor_bytes
        and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
    ):
        raise MalformedBundle(
            f"member {name!r} inflates more than {limits.max_compression_ratio} times (a zip bomb?)",
            details={"member": name, "compressed": info.compress_size, "inflated": info.file_size},
        )


def _check_layout(data: bytes, infos: Sequence[zipfile.ZipInfo], directory: int) -> None:
    """Each local header says what the directory says, and members overlap neither one
    another nor the directory: overlapping entries are how some zip bombs reuse one
    compressed stream for many members."""
    next_free = 0
    for info in sorted(infos, key=lambda item: item.header_offset):
        start = info.header_offset
        if start < next_free or data[start : start + 4] != _LOCAL_HEADER:
            raise MalformedBundle(
                f"member {info.filename!r} overlaps another or has no local header",
                details={"member": info.filename},
            )
        flags, method, _, _, crc, compressed, size, name_length, extra_length = struct.unpack(
            "<HHHHIIIHH", data[start + 6 : start + _LOCAL_SIZE]
        )
        local_name = data[start + _LOCAL_SIZE : start + _LOCAL_SIZE + name_length]
        described = (flags, method, local_name) == (
            info.flag_bits,
            info.compress_type,
            info.orig_filename.encode(),
        )
        if not described or (
            not flags & _DATA_DESCRIPTOR
            and (crc, compressed, size) != (info.CRC, info.compress_size, info.file_size)
            and 0xFFFFFFFF not in (compressed, size)  # zip64: the sizes are in an extra field
        ):
            raise MalformedBundle(
                f"the local header of {info.filename!r} contradicts the central directory",
                details={"member": info.filename},
            )
        next_free = start + _LOCAL_SIZE + name_length + extra_length + info.compress_size
        if info.flag_bits & _DATA_DESCRIPTOR:
            # Signature (optional, usually present), CRC and two sizes of 4 or 8 bytes.
            next_free += 12
        if next_free > directory:
            raise MalformedBundle(
                f"member {info.filename!r} runs into the central directory", details={"member": info.filename}
            )


def read_archive(data: bytes, *, limits: ArchiveLimits = BUNDLE_LIMITS) -> dict[str, bytes]:
    """Every member of a zip archive, in archive order, after checking it is safe to open.

    Refused, with :class:`MalformedBundle`: empty input, input over ``max_archive_bytes``,
    anything that is not a zip starting with a member (self-extracting or prefixed archives),
    bytes after the end record, more than ``max_members`` members, declared inflated sizes
    summing over ``max_inflated_bytes``, a deflated member over ``ratio_floor_bytes`` whose
    inflated size exceeds ``max_compression_ratio`` times its compressed size, duplicate
    names, directory entries, names that are absolute, hold ``..``, backslashes or characters
    other than ASCII letters, digits, ``.``, ``_``, ``-`` and ``/``, encrypted members,
    compression other than stored or deflate, members that overlap, and any member whose
    inflated bytes or CRC do not match its directory entry.
    """
    if not data:
        raise MalformedBundle("the file is empty")
    if len(data) > limits.max_archive_bytes:
        raise MalformedBundle(
            f"the archive is {len(data)} bytes; at most {limits.max_archive_bytes} are accepted",
            details={"size": len(data), "limit": limits.max_archive_bytes},
        )
    if not data.startswith(_LOCAL_HEADER):
        if data.startswith(_END_OF_DIRECTORY):
            raise MalformedBundle("the archive has no members")
        raise MalformedBundle("not a zip archive")
    count, directory = _directory_bounds(data)
    if count > limits.max_members:
        raise MalformedBundle(
            f"the archive has {count} members; at most {limits.max_members} are accepted",
            details={"members": count, "limit": limits.max_members},
        )
    if data[directory : directory + 4] != _CENTRAL_HEADER:
        raise MalformedBundle("the central directory is damaged")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) != count:
                raise MalformedBundle("the central directory does not hold the members it declares")
            seen: set[str] = set()
            for info in infos:
                _check_entry(info, seen, limits)
            total = sum(info.file_size for info in infos)
            if total > limits.max_inflated_bytes:
                raise MalformedBundle(
                    f"the members inflate to {total} bytes; at most {limits.max_inflated_bytes} are accepted",
                    details={"inflated": total, "limit": limits.max_inflated_bytes},
                )
            _check_layout(data, infos, directory)
            # ZipExtFile stops at the declared size and checks the CRC, so nothing inflates
            # past the totals checked above.
            return {info.filename: archive.read(info) for info in infos}
    except MalformedBundle:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        struct.error,
        NotImplementedError,
    ) as exc:
        raise MalformedBundle(f"damaged zip archive: {exc}") from exc


def dos_time(moment: dt.datetime) -> tuple[int, int]:
    """The zip (MS-DOS) time and date fields of ``moment``'s UTC wall time, seconds rounded
    down to even. Raises ``ValueError`` for a naive time or one outside 1980-2107."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: member times must carry a timezone")
    utc = moment.astimezone(dt.UTC)
    if not 1980 <= utc.year <= 2107:
        raise ValueError("zip member times run from 1980 to 2107")
    time = (utc.hour << 11) | (utc.minute << 5) | (utc.second // 2)
    date = ((utc.year - 1980) << 9) | (utc.month << 5) | utc.day
    return time, date


def write_archive(members: Sequence[tuple[str, bytes]], *, modified: dt.datetime) -> bytes:
    """A zip of ``members``, in the order given, stored, every member dated ``modified`` (UTC).

    The same arguments always give the same bytes: version 2.0 headers made by Unix, mode
    0644, no extra fields, no comments, no data descriptors. Zip times have a resolution of
    two seconds and no time zone; the UTC wall time is written. Raises ``ValueError`` for a
    name :func:`read_archive` would refuse, a duplicate name, a naive or out-of-range time,
    or an archive needing zip64 (over 65,534 members or 4 GiB).
    """
    time, date = dos_time(modified)
    local_parts: list[bytes] = []
    central_parts: list[bytes] = []
    offset = 0
    names: set[str] = set()
    for name, content in members:
        if name in names or not is_safe_member_name(name):
            raise ValueError(f"member name {name!r} is duplicate or not accepted by read_archive")
        names.add(name)
        encoded = name.encode("ascii")
        crc = zlib.crc32(content)
        size = len(content)
        fields = struct.pack("<HHHHHIII", _NEEDS_2_0, 0, 0, time, date, crc, size, size)
        header = _LOCAL_HEADER + fields + struct.pack("<HH", len(encoded), 0) + encoded
        central_parts.append(
            _CENTRAL_HEADER
            + struct.pack("<H", _MADE_BY_UNIX_2_0)
            + fields
            + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, _UNIX_FILE_0644, offset)
            + encoded
        )
        local_parts += (header, content)
        offset += len(header) + size
    directory = b"".join(central_parts)
    if len(members) >= 0xFFFF or offset + len(directory) >= 0xFFFFFFFF:
        raise ValueError("the archive would need zip64")
    end = _END_OF_DIRECTORY + struct.pack(
        "<HHHHIIH", 0, 0, len(members), len(members), len(directory), offset, 0
    )
    return b"".join(local_parts) + directory + end
