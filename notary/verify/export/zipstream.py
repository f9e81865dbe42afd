"""Zip archives written as a stream of byte chunks, for case exports of any number of bundles.

The layout is :func:`~notary.verify.archive.write_archive`'s (members stored, version 2.0 made
by Unix, mode 0644, one fixed time, no data descriptors, no comments), so the bytes depend only
on the members and the time. Nothing held grows with the number of members: each member's
bytes are passed through, and the central directory, which names every member, is spooled to
a temporary file (kept in memory while small) and copied out at the end.

Past 65,534 members or 4 GiB of offsets the classic fields overflow; the zip64 records of
APPNOTE 6.3 (end record 4.3.14, locator 4.3.15, extra field 0x0001 for a member's offset) then
carry the true values, and the classic fields hold their "see zip64" markers.
"""

from __future__ import annotations

import datetime as dt
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator

from notary.verify.archive import dos_time, is_safe_member_name

__all__ = ["ZipStream"]

_LOCAL_HEADER = b"PK\x03\x04"
_CENTRAL_HEADER = b"PK\x01\x02"
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EXTRA = 0x0001
_UNIX_FILE_0644 = 0o100644 << 16
_UNIX = 3 << 8
_NEEDS_2_0, _NEEDS_4_5 = 20, 45
_MAX_16, _MAX_32 = 0xFFFF, 0xFFFFFFFF
_COPY_CHUNK = 64 * 1024


class ZipStream:
    """One zip written as chunks: ``yield from stream.member(name, data)`` for each member, in
    order, then ``yield from stream.finish()``.

    ``force_zip64`` writes the zip64 records even when nothing overflows (so that tests can
    read them without making a 4 GiB archive). Member names must be unique; that is the
    caller's to ensure, since checking it would hold every name.
    """

    def __init__(
        self, *, modified: dt.datetime, force_zip64: bool = False, spool_bytes: int = 256 * 1024
    ) -> None:
        self._time, self._date = dos_time(modified)
        self._force_zip64 = force_zip64
        self._directory = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 (closed by finish)
        self._directory_size = 0
        self._offset = 0
        self._count = 0
        self._finished = False

    @property
    def offset(self) -> int:
        """Bytes written so far."""
        return self._offset

    @property
    def count(self) -> int:
        """Members written so far."""
        return self._count

    def member(self, name: str, content: bytes) -> Iterator[bytes]:
        """The chunks of one member holding ``content``. Raises ``ValueError`` like :meth:`member_chunks`."""
        return self.member_chunks(name, len(content), zlib.crc32(content), (content,))

    def member_chunks(self, name: str, size: int, crc: int, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The chunks of one member whose ``size`` and CRC-32 are known before its bytes, which
        ``chunks`` then yields (and may yield again, say, from a spool file).

        Raises ``ValueError`` for a name :func:`~notary.verify.archive.read_archive` would refuse,
        a member of 4 GiB or more, use after :meth:`finish`, or chunks that do not add up to
        ``size`` and ``crc`` (the archive is then unusable: stop sending it).
        """
        if self._finished:
            raise ValueError("the archive is already finished")
        if not is_safe_member_name(name):
            raise ValueError(f"member name {name!r} is not accepted by read_archive")
        if not 0 <= size < _MAX_32:
            raise ValueError("a member of 4 GiB or more would need zip64 sizes")
        encoded = name.encode("ascii")
        start = self._offset
        fields = struct.pack("<HHHHHIII", _NEEDS_2_0, 0, 0, self._time, self._date, crc, size, size)
        header = _LOCAL_HEADER + fields + struct.pack("<HH", len(encoded), 0) + encoded
        yield header
        written, running = 0, 0
        for chunk in chunks:
            written += len(chunk)
            running = zlib.crc32(chunk, running)
            yield chunk
        if written != size or running != crc:
            raise ValueError(f"member {name!r}: the chunks do not match the size and CRC announced")
        self._offset += len(header) + size
        self._count += 1
        self._spool_entry(encoded, crc, size, start)

    def _spool_entry(self, encoded: bytes, crc: int, size: int, start: int) -> None:
        extra = b""
        needs, offset_field = _NEEDS_2_0, start
        if start >= _MAX_32 or self._force_zip64:
            extra = struct.pack("<HHQ", _ZIP64_EXTRA, 8, start)
            needs, offset_field = _NEEDS_4_5, _MAX_32
        entry = (
            _CENTRAL_HEADER
            + struct.pack("<HHHHHHIII", _UNIX | needs, needs, 0, 0, self._time, self._date, crc, size, size)
            + struct.pack("<HHHHHII", len(encoded), len(extra), 0, 0, 0, _UNIX_FILE_0644, offset_field)
            + encoded
            + extra
        )
        self._directory.write(entry)
        self._directory_size += len(entry)

    def close(self) -> None:
        """Drop the spooled directory (after :meth:`finish`, or to abandon the archive)."""
        self._finished = True
        self._directory.close()

    def finish(self) -> Iterator[bytes]:
        """The central directory and the end records; the archive is then complete."""
        if self._finished:
            raise ValueError("the archive is already finished")
        self._finished = True
        directory_start = self._offset
        try:
            self._directory.seek(0)
            while chunk := self._directory.read(_COPY_CHUNK):
                yield chunk
        finally:
            self._directory.close()
        directory_end = directory_start + self._directory_size
        zip64 = (
            self._force_zip64
            or self._count >= _MAX_16
            or directory_start >= _MAX_32
            or self._directory_size >= _MAX_32
        )
        count, size, offset = self._count, self._directory_size, directory_start
        if zip64:
            yield (
                _ZIP64_END
                + struct.pack("<QHHII", 44, _UNIX | _NEEDS_4_5, _NEEDS_4_5, 0, 0)
                + struct.pack("<QQQQ", count, count, size, offset)
            )
            yield _ZIP64_LOCATOR + struct.pack("<IQI", 0, directory_end, 1)
            count, size, offset = _MAX_16, _MAX_32, _MAX_32
        yield _END_OF_DIRECTORY + struct.pack("<HHHHIIH", 0, 0, count, count, size, offset, 0)
