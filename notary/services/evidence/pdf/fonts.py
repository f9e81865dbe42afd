"""The CJK fonts of the certificate, registered with reportlab once per process.

reportlab embeds TrueType outlines only; Debian's Noto CJK fonts are OpenType/CFF and fail to
load, so the certificate uses WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``), a TrueType
collection with a proportional face (text) and a monospaced one (digests, ids). Parsing the
collection costs tens of milliseconds, so it happens once, on first use, under a lock.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from notary.services.glyphs import FontMissing

DEFAULT_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

# reportlab's index of each face inside wqy-zenhei.ttc (fc-list lists them in another order).
_TEXT_FACE, _MONO_FACE = 0, 1


class CertificateFontMissing(FontMissing):
    """The CJK font the certificate needs is not installed or cannot be read."""


@dataclass(frozen=True)
class CertificateFonts:
    """reportlab names of the registered faces."""

    text: str
    mono: str


_lock = threading.Lock()
_registered: CertificateFonts | None = None
_fallbacks: dict[Path, str | None] = {}


def certificate_fonts() -> CertificateFonts:
    """Register the faces on first call and return their names; later calls cost nothing.

    Raises :class:`CertificateFontMissing` when the font file is missing or not a TrueType
    collection reportlab can embed (install ``fonts-wqy-zenhei``).
    """
    global _registered  # noqa: PLW0603 -- one registration per process is the point
    fonts = _registered
    if fonts is not None:
        return fonts
    with _lock:
        if _registered is None:
            _registered = load_fonts(DEFAULT_FONT_PATH)
        return _registered


def load_fonts(path: Path) -> CertificateFonts:
    """Parse the collection at ``path`` and register its faces (slow: use :func:`certificate_fonts`).

    Raises :class:`CertificateFontMissing` when the file is missing or cannot be embedded.
    """
    if not path.is_file():
        raise CertificateFontMissing(
            f"certificate font {path} is missing: install the Debian package fonts-wqy-zenhei",
            details={"path": str(path)},
        )
    fonts = CertificateFonts(text="NotaryCJK", mono="NotaryCJKMono")
    try:
        text_face = TTFont(fonts.text, str(path), subfontIndex=_TEXT_FACE)
        mono_face = TTFont(fonts.mono, str(path), subfontIndex=_MONO_FACE)
    except (TTFError, OSError) as exc:
        raise CertificateFontMissing(
            f"certificate font {path} cannot be embedded: {exc}", details={"path": str(path)}
        ) from exc
    _share_tables(text_face, mono_face)
    pdfmetrics.registerFont(text_face)
    pdfmetrics.registerFont(mono_face)
    return fonts


def _share_tables(*fonts: TTFont) -> None:
    """Let the faces of one collection share its bytes and memoise its tables.

    reportlab keeps a copy of the whole 16 MB file per face and, for every subset it embeds,
    slices the collection's 10 MB ``glyf`` table afresh: three subsets a certificate cost
    ~25 ms. The faces of wqy-zenhei.ttc share their glyph tables, so one copy of the file and
    one memo of its tables serve both. This leans on reportlab internals (``_ttf_data``,
    ``get_table_pos``); if they change, the faces are left as reportlab made them.
    """
    faces = [font.face for font in fonts]
    if not all(hasattr(face, "_ttf_data") and hasattr(face, "get_table_pos") for face in faces):
        return
    data = faces[0]._ttf_data
    if any(face._ttf_data != data for face in faces):
        return
    tables: dict[tuple[int, int], bytes] = {}
    lock = threading.Lock()
    for face in faces:
        face._ttf_data = data

        def get_table(tag: str, face: object = face) -> bytes:
            position = face.get_table_pos(tag)  # type: ignore[attr-defined]
            with lock:
                table = tables.get(position)
                if table is None:
                    start, length = position
                    table = tables[position] = data[start : start + length]
            return table

        face.get_table = get_table


def fallback_font(path: Path) -> str | None:
    """The reportlab name of the fallback face at ``path`` (HanaMinA/B, from
    :data:`notary.services.glyphs.FALLBACK_FONTS`), registered on first use: each costs tens of
    megabytes in reportlab, so only a certificate that prints a rare character pays for it.
    ``None`` when the file cannot be embedded (the character is then shown as ``[U+XXXX]``)."""
    if path in _fallbacks:
        return _fallbacks[path]
    with _lock:
        if path not in _fallbacks:
            name = f"NotaryFallback{len(_fallbacks)}"
            try:
                face = TTFont(name, str(path))
                _raw_trailing_advances(face)
                _share_tables(face)  # its tables sliced once, not per certificate (25 ms each)
                pdfmetrics.registerFont(face)
            except (TTFError, OSError, struct.error):
                _fallbacks[path] = None
            else:
                _fallbacks[path] = name
        return _fallbacks[path]


def _raw_trailing_advances(font: TTFont) -> None:
    """Give the subset the advance widths the font has, so they match the PDF's ``/Widths``.

    A font's ``hmtx`` may list full metrics for its first glyphs only; the rest share the last
    advance. reportlab reads that last advance, scales it to 1/1000 em for ``/Widths`` and
    then keeps the *scaled* value as the raw advance of every later glyph; the subsets it
    embeds then say 1000 units in a 1024-unit em (HanaMin: 976.6 against 1000 in ``/Widths``,
    which PDF/A forbids). The advances of those glyphs are set back to the raw value. This
    leans on reportlab internals (``face.hmetrics``); if they change, nothing is changed.
    """
    face = getattr(font, "face", None)
    metrics = getattr(face, "hmetrics", None)
    if face is None or not isinstance(metrics, list):
        return
    (full,) = struct.unpack_from(">H", face.get_table("hhea"), 34)
    if 0 < full < len(metrics):
        raw = metrics[full - 1][0]
        metrics[full:] = [(raw, lsb) for _, lsb in metrics[full:]]


def _to_unicode_beyond_the_bmp() -> None:
    """Make reportlab's ToUnicode maps right for characters beyond U+FFFF.

    reportlab writes each entry as ``<%04X>``: ``𠮷`` (U+20BB7) becomes the five digits
    ``<20BB7>``, which readers take as U+20BB and a stray digit, so ``pdftotext`` and a
    reader's copy and search give ``₻`` for the rare names the fallback faces draw. A
    ToUnicode map holds UTF-16BE, so such a character is its surrogate pair
    (``<D842DFB7>``). Entries within the BMP are written exactly as before, so every other
    PDF is unchanged. This leans on reportlab internals (``ttfonts.makeToUnicodeCMap``); if
    it is gone, nothing is changed.
    """
    original = getattr(ttfonts, "makeToUnicodeCMap", None)
    if original is None or getattr(original, "utf16", False):
        return

    def make(fontname: str, subset: list[int]) -> str:
        text: str = original(fontname, subset)
        for index, code_point in enumerate(subset):
            if code_point > 0xFFFF:
                pair = chr(code_point).encode("utf-16-be").hex().upper()
                text = text.replace(f"<{index:02X}> <{code_point:04X}>", f"<{index:02X}> <{pair}>", 1)
        return text

    make.utf16 = True  # type: ignore[attr-defined]
    ttfonts.makeToUnicodeCMap = make


_to_unicode_beyond_the_bmp()
