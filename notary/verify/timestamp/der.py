"""A small strict DER reader: definite minimal lengths, low tag numbers, minimal INTEGERs and
OBJECT IDENTIFIERs, nothing left over.

For walking fixed, well-known structures (RFC 3161 tokens) many times a second, where
asn1crypto's object model is too slow; anything rare or irregular is better left to asn1crypto.
"""

from __future__ import annotations

import functools

from notary.verify.errors import MalformedInput

__all__ = [
    "BOOLEAN",
    "GENERALIZED_TIME",
    "INTEGER",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "SET",
    "DerReader",
    "MalformedDer",
]

BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31


class MalformedDer(MalformedInput):
    """Bytes that are not the strict DER encoding of the expected structure."""

    code = "malformed_der"


class DerReader:
    """Sequential reader of the DER elements between ``pos`` and ``end`` of ``data``."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < self.end else None

    def element(self) -> tuple[int, int, int]:
        """(tag, content start, content end) of the next element; moves past it."""
        data, pos = self.data, self.pos
        if pos + 2 > self.end:
            raise MalformedDer("truncated DER")
        tag, length = data[pos], data[pos + 1]
        if tag & 0x1F == 0x1F:
            raise MalformedDer("high tag numbers are not supported")
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or pos + count > self.end:
                raise MalformedDer("indefinite or oversized DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            if length < 0x80 or data[pos] == 0:
                raise MalformedDer("non-minimal DER length")
            pos += count
        if pos + length > self.end:
            raise MalformedDer("truncated DER")
        self.pos = pos + length
        return tag, pos, pos + length

    def expect(self, tag: int, what: str) -> tuple[int, int]:
        found, start, end = self.element()
        if found != tag:
            raise MalformedDer(f"{what}: expected tag {tag:#04x}, found {found:#04x}")
        return start, end

    def inner(self, tag: int, what: str) -> DerReader:
        start, end = self.expect(tag, what)
        return DerReader(self.data, start, end)

    def raw(self) -> bytes:
        start = self.pos
        self.element()
        return self.data[start : self.pos]

    def octets(self, tag: int, what: str) -> bytes:
        start, end = self.expect(tag, what)
        return self.data[start:end]

    def integer(self, what: str) -> int:
        content = self.octets(INTEGER, what)
        if not content or (len(content) > 1 and (content[0], content[1] & 0x80) in ((0, 0), (0xFF, 0x80))):
            raise MalformedDer(f"{what}: not a minimal DER INTEGER")
        return int.from_bytes(content, "big", signed=True)

    def oid(self, what: str) -> str:
        dotted = _oid_text(self.octets(OID, what))
        if dotted is None:
            raise MalformedDer(f"{what}: bad OBJECT IDENTIFIER")
        return dotted

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise MalformedDer(f"{what}: unexpected trailing data")


@functools.lru_cache(maxsize=512)
def _oid_text(content: bytes) -> str | None:
    """Dotted form of an OBJECT IDENTIFIER's content octets; None when not minimal DER."""
    if not content or content[-1] & 0x80:
        return None
    arcs: list[int] = []
    value = 0
    for index, octet in enumerate(content):
        # 0x80 opening an arc is a non-minimal encoding (X.690 8.19.2).
        if octet == 0x80 and (index == 0 or not content[index - 1] & 0x80):
            return None
        value = value << 7 | octet & 0x7F
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))
