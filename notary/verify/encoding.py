"""Strict text encodings: canonical standard base64 and lowercase hex."""

from __future__ import annotations

import base64
import binascii

from notary.verify.errors import MalformedInput


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str | bytes, *, what: str = "base64 value") -> bytes:
    """Decode canonical standard base64; raises :class:`MalformedInput` otherwise.

    Canonical means the text re-encodes to itself: padding present, no whitespace, no
    unused bits set. Anything else is a changed input, not a tolerable variant.
    """
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise MalformedInput(f"{what} is not base64") from exc
    else:
        raw = text
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{what} is not base64") from exc
    if base64.b64encode(data) != raw:
        raise MalformedInput(f"{what} is not canonical base64")
    return data


def hex_digest(text: str, *, what: str = "digest", size: int = 32) -> bytes:
    """Decode a lowercase hex digest of ``size`` bytes; raises :class:`MalformedInput`."""
    if not isinstance(text, str) or len(text) != 2 * size or text != text.lower():
        raise MalformedInput(f"{what} must be {2 * size} lowercase hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise MalformedInput(f"{what} must be {2 * size} lowercase hex digits") from exc
