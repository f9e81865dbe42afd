"""Which characters the certificate's embedded fonts can draw, read from the fonts themselves.

A character no embedded font has a glyph for vanishes from the signed certificate (Arabic-
Indic digits made "100000.00" print as "1.00"). So text that the certificate prints is
refused at input when it holds such a character (:mod:`notary.services.text`), and the check
asks exactly the fonts the certificate embeds: the text face of WenQuanYi Zen Hei and, for
rare names (CJK extension B and beyond, which WenQuanYi lacks), the HanaMin faces of Debian's
``fonts-hanazono`` as fallbacks.

Only each font's ``cmap`` table is read (a few hundred kilobytes, not the 60 MB of outlines
reportlab would load), once per process, and kept as sorted code point ranges.
"""

from __future__ import annotations

import bisect
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from notary.errors import Unavailable

#: The certificate's faces, in the order the renderer tries them: (file, face index in a
#: collection). The first is required; fallbacks that are not installed are left out.
PRIMARY_FONT = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0)
FALLBACK_FONTS = (
    (Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"), 0),
    (Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"), 0),
)


class FontMissing(Unavailable):
    """The certificate's font is not installed, so what it can print is unknown."""

    code = "certificate_font_missing"


class BadFont(ValueError):
    """A font file whose ``cmap`` cannot be read."""


@dataclass(frozen=True)
class Coverage:
    """Code points a font draws, as sorted, disjoint, inclusive ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of_ranges(cls, ranges: Iterable[tuple[int, int]]) -> Coverage:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(s for s, _ in merged), tuple(e for _, e in merged))

    def __contains__(self, code_point: object) -> bool:
        if not isinstance(code_point, int):
            return False
        index = bisect.bisect_right(self.starts, code_point) - 1
        return index >= 0 and code_point <= self.ends[index]

    def __or__(self, other: Coverage) -> Coverage:
        return Coverage.of_ranges(
            [*zip(self.starts, self.ends, strict=True), *zip(other.starts, other.ends, strict=True)]
        )

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self.starts, self.ends, strict=True))


def read_coverage(path: Path, face: int = 0) -> Coverage:
    """The code points with a glyph (other than ``.notdef``) in face ``face`` of the TrueType
    or OpenType file (or collection) at ``path``. Raises ``OSError`` (unreadable) or
    :class:`BadFont` (no usable Unicode ``cmap`` subtable)."""
    data = path.read_bytes() if path.stat().st_size < 1 << 20 else _cmap_region(path, face)
    return _coverage(data, face)


def _cmap_region(path: Path, face: int) -> bytes:
    # Large files: read the headers and the cmap table only, then hand _coverage a sparse copy
    # with just those bytes at their offsets.
    with path.open("rb") as handle:
        head = handle.read(12 + 4 * 64)
        offset = _face_offset(head, face)
        handle.seek(offset)
        directory = handle.read(12)
        (tables,) = struct.unpack_from(">H", directory, 4)
        directory += handle.read(16 * tables)
        cmap_offset, cmap_length = _find_table(directory, 0, b"cmap")
        handle.seek(cmap_offset)
        cmap = handle.read(cmap_length)
    sparse = bytearray(cmap_offset + cmap_length)
    sparse[: len(head)] = head
    sparse[offset : offset + len(directory)] = directory
    sparse[cmap_offset : cmap_offset + cmap_length] = cmap
    return bytes(sparse)


def _face_offset(data: bytes, face: int) -> int:
    if data[:4] != b"ttcf":
        if face != 0:
            raise BadFont(f"not a collection, so no face {face}")
        return 0
    (count,) = struct.unpack_from(">I", data, 8)
    if not 0 <= face < count:
        raise BadFont(f"the collection has {count} faces, not face {face}")
    (offset,) = struct.unpack_from(">I", data, 12 + 4 * face)
    return int(offset)


def _find_table(data: bytes, offset: int, tag: bytes) -> tuple[int, int]:
    (tables,) = struct.unpack_from(">H", data, offset + 4)
    for index in range(tables):
        name, _, table_offset, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * index)
        if name == tag:
            return int(table_offset), int(length)
    raise BadFont(f"no {tag.decode()} table")


# Unicode subtables, best first: (platform, encoding, format).
_SUBTABLES = ((3, 10, 12), (0, 6, 12), (0, 4, 12), (3, 1, 4), (0, 3, 4))


def _coverage(data: bytes, face: int) -> Coverage:
    try:
        cmap, _ = _find_table(data, _face_offset(data, face), b"cmap")
        (records,) = struct.unpack_from(">H", data, cmap + 2)
        found: dict[tuple[int, int, int], int] = {}
        for index in range(records):
            platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * index)
            (kind,) = struct.unpack_from(">H", data, cmap + offset)
            found.setdefault((platform, encoding, kind), cmap + offset)
        for key in _SUBTABLES:
            if key in found:
                reader = _format12 if key[2] == 12 else _format4
                return Coverage.of_ranges(reader(data, found[key]))
    except struct.error as exc:
        raise BadFont(f"truncated font: {exc}") from exc
    raise BadFont("no Unicode cmap subtable (format 4 or 12)")


def _format12(data: bytes, at: int) -> list[tuple[int, int]]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    ranges = []
    for index in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * index)
        if glyph == 0:  # the first code point of the group maps to .notdef
            start += 1
        if start <= end:
            ranges.append((start, end))
    return ranges


def _format4(data: bytes, at: int) -> list[tuple[int, int]]:
    (doubled,) = struct.unpack_from(">H", data, at + 6)
    segments = doubled // 2
    ends_at = at + 14
    starts_at = ends_at + doubled + 2
    deltas_at = starts_at + doubled
    range_offsets_at = deltas_at + doubled
    ranges = []
    for index in range(segments):
        (end,) = struct.unpack_from(">H", data, ends_at + 2 * index)
        (start,) = struct.unpack_from(">H", data, starts_at + 2 * index)
        (delta,) = struct.unpack_from(">h", data, deltas_at + 2 * index)
        (range_offset,) = struct.unpack_from(">H", data, range_offsets_at + 2 * index)
        for code_point in range(start, min(end, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code_point + delta) & 0xFFFF
            else:
                address = range_offsets_at + 2 * index + range_offset + 2 * (code_point - start)
                (glyph,) = struct.unpack_from(">H", data, address)
                if glyph:
                    glyph = (glyph + delta) & 0xFFFF
            if glyph:
                ranges.append((code_point, code_point))
    return ranges


@dataclass(frozen=True)
class CertificateGlyphs:
    """What the certificate's text face draws, alone and with its fallbacks."""

    primary: Coverage
    fallbacks: tuple[tuple[Path, Coverage], ...]

    @property
    def drawable(self) -> Coverage:
        combined = self.primary
        for _, coverage in self.fallbacks:
            combined = combined | coverage
        return combined


def load_glyphs(
    primary: tuple[Path, int] = PRIMARY_FONT, fallbacks: Sequence[tuple[Path, int]] = FALLBACK_FONTS
) -> CertificateGlyphs:
    """Read the coverage of the certificate's fonts. Raises :class:`FontMissing` when the
    primary font cannot be read; a fallback that is missing or unreadable is left out."""
    try:
        main = read_coverage(*primary)
    except (OSError, BadFont) as exc:
        raise FontMissing(
            f"certificate font {primary[0]} cannot be read ({exc}): install fonts-wqy-zenhei",
            details={"path": str(primary[0])},
        ) from exc
    extra = []
    for path, face in fallbacks:
        try:
            extra.append((path, read_coverage(path, face)))
        except (OSError, BadFont):
            continue
    return CertificateGlyphs(main, tuple(extra))


_lock = threading.Lock()
_glyphs: CertificateGlyphs | None = None
_drawable: Coverage | None = None


def certificate_glyphs() -> CertificateGlyphs:
    """The coverage of the certificate's faces, read once per process: what input accepts
    (:func:`drawable`) and which fallback face the renderer draws a character with. Raises
    :class:`FontMissing` when the primary font is missing."""
    global _glyphs  # noqa: PLW0603 -- one read per process is the point
    if _glyphs is None:
        with _lock:
            if _glyphs is None:
                _glyphs = load_glyphs()
    return _glyphs


def drawable() -> Coverage:
    """Every code point the certificate can print (primary face or a fallback), read once per
    process. Raises :class:`FontMissing` when the primary font is missing."""
    global _drawable  # noqa: PLW0603 -- one union per process is the point
    if _drawable is None:
        glyphs = certificate_glyphs()
        with _lock:
            if _drawable is None:
                _drawable = glyphs.drawable
    return _drawable
