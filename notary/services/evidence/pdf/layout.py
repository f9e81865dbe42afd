"""Small drawing primitives for the certificate: styled runs, line wrapping, a QR code.

The certificate draws straight on a reportlab canvas instead of using platypus: the layout is
fixed (label/value rows), and platypus' paragraph parser and table sizing cost several times
the whole page budget. Wrapping breaks between words, between any two CJK characters, and,
for long unbroken values such as digests and URLs, between any two characters, so nothing can
run past its column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas

from notary.services.evidence.pdf.fonts import fallback_font
from notary.services.glyphs import certificate_glyphs


@dataclass(frozen=True)
class Style:
    """Font name (registered with reportlab), size, line height and colour of a run."""

    font: str
    size: float
    leading: float
    color: Color
    _face: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Measuring is the hot path of wrapping: skip reportlab's font lookup by name each time.
        object.__setattr__(self, "_face", getFont(self.font))

    def runs(self, text: str) -> list[tuple[str, Style]]:
        """``text`` as runs, each in a face that draws it: this style's own font where it can,
        else the first fallback face that has the character (HanaMin, for rare names in CJK
        extension B and beyond, which WenQuanYi lacks), else ``[U+XXXX]`` in this style.

        A character without a glyph would otherwise vanish from the page (old data may hold
        Arabic-Indic digits: ``1٠٠٠٠٠.00`` printed as ``1.00``); the reader sees instead that
        something unusual is there, and which code point it is. The fallbacks are the faces
        input is checked against (:mod:`notary.services.glyphs`), so what input accepts is drawn.
        """
        glyphs = getattr(getattr(self._face, "face", None), "charToGlyph", None)
        if glyphs is None or all(ord(char) in glyphs for char in text):
            return [(text, self)]
        runs: list[tuple[str, Style]] = []
        for char in text:
            shown, style = (char, self) if ord(char) in glyphs else self._fallback(char)
            if runs and runs[-1][1] == style:
                runs[-1] = (runs[-1][0] + shown, style)
            else:
                runs.append((shown, style))
        return runs

    def _fallback(self, char: str) -> tuple[str, Style]:
        for path, coverage in certificate_glyphs().fallbacks:
            if ord(char) in coverage:
                font = fallback_font(path)
                if font is not None:
                    return char, Style(font, self.size, self.leading, self.color)
        return f"[U+{ord(char):04X}]", self

    def width(self, text: str) -> float:
        """Width of ``text`` in points."""
        return float(self._face.stringWidth(text, self.size))


Run = tuple[str, Style]
Line = list[Run]

# A CJK character (ideographs, kana, hangul, full-width forms and punctuation, and the
# ideographs of the supplementary planes: extensions B to H, compatibility supplement) may be
# broken before or after; other text only at spaces, unless a single token is wider than the
# column.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f\U00020000-\U0003ffff"
_TOKEN = re.compile(f"[{_CJK}]| +|[^ {_CJK}]+")
# Chinese typesetting: these never start a line (closing) or end one (opening).
_NO_LINE_START = set("，。、；：！？）》」』】〕〉”’%,.;:!?)")
_NO_LINE_END = set("（《「『【〔〈“‘(")


def _tokens(runs: Iterable[Run]) -> list[Run]:
    tokens: list[Run] = []
    glue_next = False
    for text, given in runs:
        for token, style in _faced(given.runs(text)):
            joinable = tokens and not token.startswith(" ") and not tokens[-1][0].startswith(" ")
            if joinable and tokens[-1][1] == style and (glue_next or token[0] in _NO_LINE_START):
                tokens[-1] = (tokens[-1][0] + token, style)
            else:
                tokens.append((token, style))
            glue_next = token[-1] in _NO_LINE_END
    return tokens


def _faced(runs: Iterable[Run]) -> Iterable[Run]:
    for text, style in runs:
        for token in _TOKEN.findall(text):
            yield token, style


def _split_long(token: str, style: Style, width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in token:
        if current and style.width(current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def wrap(runs: Sequence[Run], width: float) -> list[Line]:
    """Break styled ``runs`` into lines no wider than ``width`` points."""
    lines: list[Line] = []
    line: Line = []
    used = 0.0
    for token, style in _tokens(runs):
        if token.startswith(" "):
            if line:
                line.append((token, style))
                used += style.width(token)
            continue
        size = style.width(token)
        if used + size > width and line:
            while line and line[-1][0].startswith(" "):
                used -= line[-1][1].width(line.pop()[0])
            lines.append(line)
            line, used = [], 0.0
        last = token
        if size > width:
            *full, last = _split_long(token, style, width)
            lines.extend([[(piece, style)] for piece in full])
            size = style.width(last)
        line.append((last, style))
        used += size
    if line:
        lines.append(line)
    return lines or [[]]


def line_height(line: Line, fallback: Style) -> float:
    """The leading of the tallest run on ``line``."""
    return max((style.leading for _, style in line), default=fallback.leading)


def draw_lines(canvas: Canvas, lines: Sequence[Line], x: float, top: float, fallback: Style) -> float:
    """Draw ``lines`` from ``top`` downwards (baseline at 80 % of each line); returns the height used."""
    y = top
    for line in lines:
        height = line_height(line, fallback)
        baseline = y - height * 0.8
        cursor = x
        for text, style in _merge(line):
            canvas.setFont(style.font, style.size)
            canvas.setFillColor(style.color)
            canvas.drawString(cursor, baseline, text)
            cursor += style.width(text)
        y -= height
    return top - y


def _merge(line: Line) -> list[Run]:
    merged: list[Run] = []
    for text, style in line:
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        else:
            merged.append((text, style))
    return merged


def lines_height(lines: Sequence[Line], fallback: Style) -> float:
    """Total height of ``lines``."""
    return sum(line_height(line, fallback) for line in lines)


# Any of the eight masks is valid (the decoder reads it from the format bits); trying all eight
# for the lowest penalty, as the qrcode package does by default, costs ~10 ms a certificate.
_QR_MASK = 2


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR code of ``payload`` (error correction M, fixed mask), modules only, no quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=_QR_MASK)
    code.add_data(payload)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def draw_qr(canvas: Canvas, matrix: Sequence[Sequence[bool]], x: float, y: float, size: float) -> None:
    """Draw ``matrix`` as a ``size``-point square with its lower-left corner at (x, y).

    Dark runs of each row become one rectangle of a single filled path: a few hundred
    operators instead of a shape object per module.
    """
    module = size / len(matrix)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        start = None
        for column, dark in enumerate([*row, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                path.rect(x + start * module, top, (column - start) * module, module)
                start = None
    canvas.drawPath(path, stroke=0, fill=1)
