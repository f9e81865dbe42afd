"""The text rules and the font coverage they ask (issue 25 item 1, round2-notes "Shown versus signed")."""

from __future__ import annotations

import pytest
from reportlab.pdfbase.ttfonts import TTFont

from notary.services import glyphs
from notary.services.text import TextRefused, check_text

FONTS = [glyphs.PRIMARY_FONT, *glyphs.FALLBACK_FONTS]


@pytest.mark.parametrize(("path", "face"), FONTS, ids=[path.name for path, _ in FONTS])
def test_the_cmap_reader_agrees_with_reportlab(path, face):
    """What the input check calls printable is what the renderer has a glyph for (reportlab maps
    U+00A0 to the space glyph by itself when a font lacks it; the font does not have it)."""
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    coverage = glyphs.read_coverage(path, face)
    font = TTFont("probe", str(path), subfontIndex=face)
    mapped = {code for code, glyph in font.face.charToGlyph.items() if glyph}
    if 0xA0 not in coverage:
        mapped.discard(0xA0)
    assert len(coverage) == len(mapped)
    assert all(code in coverage for code in mapped)


def test_a_missing_primary_font_is_unavailable_and_a_missing_fallback_is_left_out(tmp_path):
    with pytest.raises(glyphs.FontMissing):
        glyphs.load_glyphs((tmp_path / "none.ttc", 0), ())
    loaded = glyphs.load_glyphs(glyphs.PRIMARY_FONT, [(tmp_path / "none.ttf", 0)])
    assert loaded.fallbacks == ()


def test_a_file_that_is_no_font_is_refused(tmp_path):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 40)
    with pytest.raises(glyphs.BadFont):
        glyphs.read_coverage(bogus)


def test_rare_names_need_the_fallback_font():
    loaded = glyphs.load_glyphs()
    if not loaded.fallbacks:
        pytest.skip("fonts-hanazono is not installed")
    assert 0x20BB7 not in loaded.primary  # 𠮷, CJK extension B
    assert 0x20BB7 in loaded.drawable
    assert 0x0915 not in loaded.drawable  # Devanagari KA: no font has it


@pytest.mark.parametrize(
    ("text", "printed"),
    [("张三", True), ("O'Brien-Smith Jr.", True), ("個人借款合同（第 2 版）", True), ("法\u3000律", False)],
)
def test_ordinary_text_passes_unchanged(text, printed):
    assert check_text(text, field="name", printed=printed) is text


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("a\x00b", "U+0000 at position 1 is a control character"),
        ("a\x7fb", "U+007F"),
        ("a\x85b", "U+0085"),
        ("ab\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE at position 2"),
        ("\u2067x", "U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("a\u200bb", "U+200B ZERO WIDTH SPACE"),
        ("a\u2028b", "U+2028 LINE SEPARATOR"),
        ("a\ue000b", "U+E000 at position 1 is a private-use character"),
        ("a\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"),
        ("a\ud800", "U+D800 at position 1 is a lone surrogate"),
        ("n\u0303", "NFC"),
    ],
)
def test_hidden_characters_are_named(text, named):
    with pytest.raises(TextRefused) as caught:
        check_text(text, field="title")
    assert named in caught.value.message
    assert caught.value.details == {"title": [caught.value.message.removeprefix("title: ")]}


def test_unprintable_characters_are_refused_only_where_printed():
    assert check_text("नमस्ते", field="legal_basis") == "नमस्ते"
    with pytest.raises(TextRefused, match=r"U\+0928 DEVANAGARI LETTER NA at position 0 cannot be printed"):
        check_text("नमस्ते", field="name", printed=True)


def test_non_strings_are_refused():
    with pytest.raises(TextRefused):
        check_text(None, field="name")
