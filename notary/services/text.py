"""Free text people type (names, titles, case numbers, legal bases): one reading, or a refusal.

Text is stored and shown exactly as sent, so it must not be able to look like something
else. Refused, each with a 422 naming the character and where it is:

- lone surrogates (JSON can carry ``\\ud800``; no encoder can store it);
- control characters (``Cc``: NUL, ESC, CR, LF...): escape sequences rewrote an operator's
  terminal, and a newline starts a fake line in any log;
- format characters (``Cf``): bidirectional overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) reorder what is shown, zero-width characters (U+200B-U+200D, U+2060, U+FEFF)
  make two different strings look the same;
- line and paragraph separators, private-use and unassigned code points;
- text that is not in Unicode NFC: ``é`` sent decomposed hashes differently from ``é``;
- in text the certificate prints, a character none of its fonts draws
  (:mod:`notary.services.glyphs`): it would vanish from the signed PDF.
"""

from __future__ import annotations

import unicodedata

from notary.errors import ValidationFailed
from notary.services import glyphs

__all__ = ["TextRefused", "check_text", "describe"]

# Cc control, Cf format (bidi, zero-width), Cs surrogate, Co private use, Cn unassigned,
# Zl line separator, Zp paragraph separator.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character (bidirectional control or zero-width)",
    "Cs": "a lone surrogate, not a character",
    "Co": "a private-use character",
    "Cn": "not an assigned character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


class TextRefused(ValidationFailed):
    """Text holding a character that could make it read two ways (see the module)."""


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character named so a person can find it."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _problem(text: str, *, printed: bool) -> str | None:
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            return f"{describe(char)} at position {position} is {_REFUSED_CATEGORIES[category]}"
    if not unicodedata.is_normalized("NFC", text):
        return "is not in Unicode NFC (composed) form: normalise it to NFC before sending"
    if printed:
        drawable = glyphs.drawable()
        for position, char in enumerate(text):
            if ord(char) not in drawable:
                return (
                    f"{describe(char)} at position {position} cannot be printed: "
                    "no font of the certificate has a glyph for it"
                )
    return None


def check_text(text: object, *, field: str, printed: bool = False) -> str:
    """``text`` unchanged when it may be stored; raises :class:`TextRefused` with
    ``details={field: [why]}`` otherwise, and :class:`~notary.services.glyphs.FontMissing`
    when ``printed`` and the certificate's font is not installed.

    ``printed`` marks text the certificate prints (party and platform names, titles).
    """
    if not isinstance(text, str):
        raise TextRefused(f"{field} must be a string", details={field: ["must be a string"]})
    problem = _problem(text, printed=printed)
    if problem is not None:
        raise TextRefused(f"{field}: {problem}", details={field: [problem]})
    return text


def text_problem(text: str, *, printed: bool = False) -> str | None:
    """Why ``text`` is refused (see :func:`check_text`), or None; for schema validators."""
    return _problem(text, printed=printed)
