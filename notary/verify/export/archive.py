"""A case export's zip, read member by member from a file: never the whole archive in memory.

An export may hold a million bundles, so it is not read the way a bundle is (whole, by
:func:`~notary.verify.archive.read_archive`). :meth:`ExportArchive.open` reads the end records
and walks the central directory once, refusing what is unsafe before any member is read;
:meth:`ExportArchive.entries` walks it again, and :meth:`ExportArchive.read` reads one member,
checking its local header, its size and its CRC. Every refusal is a :class:`MalformedExport`.

Rules beyond a bundle's (see ``docs/export.md``): the directory lists members in the order
they appear in the archive, and members may be stored or deflated but not encrypted; data
descriptors and extra fields (other than zip64's, which are read) are allowed, so that an
export repacked by a common zip tool still opens.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from notary.verify.archive import (
    MAX_ARCHIVE_BYTES,
    MAX_COMPRESSION_RATIO,
    RATIO_FLOOR_BYTES,
    MalformedBundle,
    is_safe_member_name,
)

__all__ = [
    "EXPORT_LIMITS",
    "Entry",
    "ExportArchive",
    "ExportLimits",
    "MalformedExport",
]

_LOCAL_HEADER = b"PK\x03\x04"
_CENTRAL_HEADER = b"PK\x01\x02"
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_END_SIZE, _LOCATOR_SIZE, _ZIP64_END_SIZE, _CENTRAL_SIZE, _LOCAL_SIZE = 22, 20, 56, 46, 30
_ENCRYPTED, _DATA_DESCRIPTOR, _STRONG_ENCRYPTION = 0x0001, 0x0008, 0x0040
_STORED, _DEFLATED = 0, 8
_MAX_16, _MAX_32 = 0xFFFF, 0xFFFFFFFF
_READ_CHUNK = 64 * 1024


class MalformedExport(MalformedBundle):
    """Not a zip the verifier will open as a case export: damaged, unsafe or over a limit."""

    code = "malformed_export"


@dataclass(frozen=True)
class ExportLimits:
    """What :class:`ExportArchive` accepts; the defaults are ``EXPORT_LIMITS``."""

    #: Members under ``bundles/``.
    max_bundles: int = 1_000_000
    #: Other members: the three an export has, and a few more for a check to report.
    max_other_members: int = 16
    #: One bundle, as for a bundle on its own (its own limits then apply inside).
    max_bundle_bytes: int = MAX_ARCHIVE_BYTES
    #: ``manifest.json``: about 100 bytes per bundle.
    max_manifest_bytes: int = 256 * 1024 * 1024
    #: Any other member (``manifest.sig``, ``keys/notary.pem``).
    max_member_bytes: int = 1024 * 1024


EXPORT_LIMITS = ExportLimits()


@dataclass(frozen=True)
class Entry:
    """One member as the central directory describes it."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    offset: int


def _unpack(fmt: str, data: bytes, what: str) -> tuple[int, ...]:
    try:
        return struct.unpack(fmt, data)
    except struct.error as exc:
        raise MalformedExport(f"the {what} is cut short") from exc


class ExportArchive:
    """An export's zip on a seekable binary file. Build it with :meth:`open`."""

    def __init__(self, handle: BinaryIO, limits: ExportLimits) -> None:
        self._handle = handle
        self.limits = limits
        self.size = 0
        self.count = 0
        self.directory_offset = 0
        self.directory_size = 0
        #: Members outside ``bundles/``, by name (at most ``max_other_members``).
        self.others: dict[str, Entry] = {}
        self.bundle_count = 0

    @classmethod
    def open(cls, handle: BinaryIO, *, limits: ExportLimits = EXPORT_LIMITS) -> ExportArchive:
        """Read the end records and check every directory entry; raises :class:`MalformedExport`
        for anything that is not a zip starting with a member, bytes after the end record,
        multi-volume archives, too many members, unsafe or duplicate names, directory entries,
        encrypted members, methods other than stored and deflate, members declared larger
        than their limit, or a directory out of archive order or overlapping itself."""
        archive = cls(handle, limits)
        archive._read_end()
        archive._scan()
        return archive

    def _pread(self, offset: int, length: int) -> bytes:
        try:
            self._handle.seek(offset)
            return self._handle.read(length)
        except OSError as exc:
            raise MalformedExport(f"cannot read the archive: {exc}") from exc

    def _read_end(self) -> None:
        try:
            self.size = self._handle.seek(0, 2)
        except OSError as exc:
            raise MalformedExport(f"cannot read the archive: {exc}") from exc
        if self.size == 0:
            raise MalformedExport("the file is empty")
        if self._pread(0, 4) != _LOCAL_HEADER:
            raise MalformedExport("not a zip archive starting with a member")
        end = self.size - _END_SIZE
        record = self._pread(end, _END_SIZE) if end >= 0 else b""
        if record[:4] != _END_OF_DIRECTORY:
            raise MalformedExport("not a zip archive, or bytes follow its end record (an archive comment?)")
        disk, directory_disk, on_disk, count, size, offset, comment = _unpack(
            "<HHHHIIH", record[4:], "end record"
        )
        if comment or disk or directory_disk or on_disk != count:
            raise MalformedExport("archive comments and multi-volume archives are not accepted")
        if count == _MAX_16 or _MAX_32 in (size, offset):
            locator = self._pread(end - _LOCATOR_SIZE, _LOCATOR_SIZE) if end >= _LOCATOR_SIZE else b""
            if locator[:4] != _ZIP64_LOCATOR:
                raise MalformedExport("zip64 archive without its locator")
            _, zip64_at, _ = _unpack("<IQI", locator[4:], "zip64 locator")
            if zip64_at + _ZIP64_END_SIZE != end - _LOCATOR_SIZE:
                raise MalformedExport("the zip64 end record is not where its locator points")
            zip64 = self._pread(zip64_at, _ZIP64_END_SIZE)
            if zip64[:4] != _ZIP64_END:
                raise MalformedExport("the zip64 end record is damaged")
            _, _, _, zdisk, zdirectory_disk, on_disk, count, size, offset = _unpack(
                "<QHHIIQQQQ", zip64[4:], "zip64 end record"
            )
            if zdisk or zdirectory_disk or on_disk != count:
                raise MalformedExport("multi-volume zip archives are not accepted")
            end = zip64_at
        limit = self.limits.max_bundles + self.limits.max_other_members
        if count > limit:
            raise MalformedExport(
                f"the archive has {count} members; at most {limit} are accepted",
                details={"members": count, "limit": limit},
            )
        if count == 0:
            raise MalformedExport("the archive has no members")
        if offset + size != end:
            raise MalformedExport("the central directory is not where the end record says")
        self.count, self.directory_offset, self.directory_size = count, offset, size

    def _scan(self) -> None:
        seen: set[str] = set()
        next_free = 0
        for entry in self.entries():
            if entry.name in seen:
                raise MalformedExport(f"two members are named {entry.name!r}", details={"member": entry.name})
            seen.add(entry.name)
            # In archive order, each member must start after the previous one ends: overlapping
            # members are how some zip bombs reuse one stream many times.
            if entry.offset < next_free:
                raise MalformedExport(
                    f"member {entry.name!r} overlaps the one before it, or the directory is out of archive order",
                    details={"member": entry.name},
                )
            next_free = self._next_free(entry)
            if next_free > self.directory_offset:
                raise MalformedExport(
                    f"member {entry.name!r} runs into the central directory", details={"member": entry.name}
                )
            if entry.name.startswith("bundles/"):
                self.bundle_count += 1
                if self.bundle_count > self.limits.max_bundles:
                    raise MalformedExport(f"more than {self.limits.max_bundles} bundles")
            else:
                if len(self.others) >= self.limits.max_other_members:
                    raise MalformedExport(
                        f"more than {self.limits.max_other_members} members besides bundles"
                    )
                self.others[entry.name] = entry
            if entry.size > self.limit_for(entry.name):
                raise MalformedExport(
                    f"member {entry.name!r} is {entry.size} bytes; at most {self.limit_for(entry.name)} are accepted",
                    details={"member": entry.name, "size": entry.size},
                )

    def limit_for(self, name: str) -> int:
        """The largest size accepted for member ``name``."""
        if name.startswith("bundles/"):
            return self.limits.max_bundle_bytes
        if name == "manifest.json":
            return self.limits.max_manifest_bytes
        return self.limits.max_member_bytes

    def entries(self) -> Iterator[Entry]:
        """Every member, in directory (= archive) order, read afresh from the directory."""
        position, end = self.directory_offset, self.directory_offset + self.directory_size
        buffer, buffer_at = b"", position
        for _ in range(self.count):
            need = position - buffer_at + _CENTRAL_SIZE
            if need > len(buffer):
                buffer, buffer_at = self._pread(position, max(_READ_CHUNK, _CENTRAL_SIZE)), position
            at = position - buffer_at
            fixed = buffer[at : at + _CENTRAL_SIZE]
            if fixed[:4] != _CENTRAL_HEADER:
                raise MalformedExport("the central directory is damaged")
            (_, _, flags, method, _, _, crc, compressed, size, name_length, extra_length, comment_length, *_,
             offset) = _unpack("<HHHHHHIIIHHHHHII", fixed[4:], "central directory")  # fmt: skip
            variable = name_length + extra_length + comment_length
            if at + _CENTRAL_SIZE + variable > len(buffer):
                buffer, buffer_at = self._pread(position, _CENTRAL_SIZE + variable + _READ_CHUNK), position
                at = 0
            start = at + _CENTRAL_SIZE
            raw_name = buffer[start : start + name_length]
            extra = buffer[start + name_length : start + name_length + extra_length]
            position += _CENTRAL_SIZE + variable
            if position > end or len(raw_name) != name_length:
                raise MalformedExport("the central directory runs past its end")
            if comment_length:
                raise MalformedExport("member comments are not accepted")
            compressed, size, offset = _zip64_values(extra, compressed, size, offset)
            entry = Entry(_name(raw_name), method, flags, crc, compressed, size, offset)
            _check(entry)
            yield entry
        if position != end:
            raise MalformedExport("the central directory holds more than its members")

    def read(self, entry: Entry) -> bytes:
        """The member's bytes, after checking its local header agrees with the directory, that
        it lies before the directory, that it inflates to its declared size and its CRC.
        Raises :class:`MalformedExport`."""
        header = self._pread(entry.offset, _LOCAL_SIZE)
        if header[:4] != _LOCAL_HEADER:
            raise MalformedExport(
                f"member {entry.name!r} has no local header", details={"member": entry.name}
            )
        flags, method, _, _, crc, compressed, size, name_length, extra_length = _unpack(
            "<HHHHIIIHH", header[6:], "local header"
        )
        name = self._pread(entry.offset + _LOCAL_SIZE, name_length)
        described = (flags, method, name) == (entry.flags, entry.method, entry.name.encode("ascii"))
        if not described or (
            not flags & _DATA_DESCRIPTOR
            and (crc, compressed, size) != (entry.crc, entry.compressed_size, entry.size)
            and _MAX_32 not in (compressed, size)
        ):
            raise MalformedExport(
                f"the local header of {entry.name!r} contradicts the central directory",
                details={"member": entry.name},
            )
        data_at = entry.offset + _LOCAL_SIZE + name_length + extra_length
        if data_at + entry.compressed_size > self.directory_offset:
            raise MalformedExport(
                f"member {entry.name!r} runs into the central directory", details={"member": entry.name}
            )
        data = self._pread(data_at, entry.compressed_size)
        if len(data) != entry.compressed_size:
            raise MalformedExport(f"member {entry.name!r} is cut short", details={"member": entry.name})
        if entry.method == _DEFLATED:
            try:
                inflater = zlib.decompressobj(-15)
                data = inflater.decompress(data, entry.size + 1)
            except zlib.error as exc:
                raise MalformedExport(
                    f"member {entry.name!r} does not inflate: {exc}", details={"member": entry.name}
                ) from exc
        if len(data) != entry.size or zlib.crc32(data) != entry.crc:
            raise MalformedExport(
                f"member {entry.name!r} is damaged (size or CRC)", details={"member": entry.name}
            )
        return data

    def _next_free(self, entry: Entry) -> int:
        """Where the member after ``entry`` may start at the earliest (its data and descriptor end)."""
        header = self._pread(entry.offset, _LOCAL_SIZE)
        if header[:4] != _LOCAL_HEADER:
            raise MalformedExport(
                f"member {entry.name!r} has no local header", details={"member": entry.name}
            )
        name_length, extra_length = _unpack("<HH", header[26:], "local header")
        end = entry.offset + _LOCAL_SIZE + name_length + extra_length + entry.compressed_size
        return end + (12 if entry.flags & _DATA_DESCRIPTOR else 0)


def _name(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedExport("member names must be ASCII") from exc


def _zip64_values(extra: bytes, compressed: int, size: int, offset: int) -> tuple[int, int, int]:
    """The true sizes and offset: those marked 0xFFFFFFFF come, in this order, from extra field 0x0001."""
    wanted = [size == _MAX_32, compressed == _MAX_32, offset == _MAX_32]
    if not any(wanted):
        return compressed, size, offset
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[at : at + 4])
        body = extra[at + 4 : at + 4 + length]
        at += 4 + length
        if tag != 0x0001:
            continue
        values = [struct.unpack("<Q", body[i : i + 8])[0] for i in range(0, len(body) - len(body) % 8, 8)]
        if len(values) < sum(wanted):
            break
        taken = iter(values)
        size = next(taken) if wanted[0] else size
        compressed = next(taken) if wanted[1] else compressed
        offset = next(taken) if wanted[2] else offset
        return compressed, size, offset
    raise MalformedExport("a member's zip64 sizes or offset are missing")


def _check(entry: Entry) -> None:
    name = entry.name
    if name.endswith("/"):
        raise MalformedExport(f"directory entries are not accepted ({name!r})", details={"member": name})
    if not is_safe_member_name(name) or ".." in name.split("/"):
        raise MalformedExport(f"unsafe or unexpected member name {name!r}", details={"member": name})
    if entry.flags & (_ENCRYPTED | _STRONG_ENCRYPTION):
        raise MalformedExport(f"member {name!r} is encrypted", details={"member": name})
    if entry.method not in (_STORED, _DEFLATED):
        raise MalformedExport(
            f"member {name!r} uses compression method {entry.method}", details={"member": name}
        )
    if entry.method == _STORED and entry.compressed_size != entry.size:
        raise MalformedExport(f"stored member {name!r} has two sizes", details={"member": name})
    if (
        entry.method == _DEFLATED
        and entry.size > RATIO_FLOOR_BYTES
        and entry.size > MAX_COMPRESSION_RATIO * max(entry.compressed_size, 1)
    ):
        raise MalformedExport(
            f"member {name!r} inflates more than {MAX_COMPRESSION_RATIO} times", details={"member": name}
        )
