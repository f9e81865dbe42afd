"""A batch body ``{"<key>": [item, ...]}`` read one item at a time, straight from its bytes.

``json.loads`` of a 48 MB batch holds the body, its decoded text (two bytes a character as
soon as one character is not Latin-1, so 96 MB) and every item's base64 string at once, and
the documents decoded from them after: the web worker's peak rose three times the body. Here
the body stays bytes; each item's extent is found by a scan that skips strings with one
regular expression (C speed: the long base64 strings cost one match each), and each item is
parsed on its own, so only one item's text is alive at a time.

Strictness is the same as :func:`notary.verify.canonical.parse_json`: every item and the key
are parsed by it, and the scan accepts only JSON whitespace and the exact punctuation of
``{"key": [a, b, ...]}`` between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from notary.api.errors import MalformedJson
from notary.errors import ValidationFailed
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput

__all__ = ["batch_items"]

_SPACE = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRUCTURE = re.compile(rb'["{}\[\]]')
_SCALAR = re.compile(rb"[^,\]\} \t\n\r]+")


def _skip(data: bytes | bytearray, at: int) -> int:
    match = _SPACE.match(data, at)
    assert match is not None  # "*" always matches
    return match.end()


def _expect(data: bytes | bytearray, at: int, token: bytes) -> int:
    at = _skip(data, at)
    if data[at : at + 1] != token:
        found = data[at : at + 1].decode("latin-1") or "the end"
        raise MalformedJson(
            f"the request body is not valid JSON: expected {token.decode()!r} at byte {at}, found {found!r}"
        )
    return at + 1


def _value_end(data: bytes | bytearray, at: int) -> int:
    """The end of the JSON value starting at ``at`` (its extent only; parsing checks it)."""
    first = data[at : at + 1]
    if first == b'"':
        match = _STRING.match(data, at)
        if match is None:
            raise MalformedJson(f"the request body is not valid JSON: an unterminated string at byte {at}")
        return match.end()
    if first not in (b"{", b"["):
        match = _SCALAR.match(data, at)
        if match is None:
            raise MalformedJson(f"the request body is not valid JSON: a value is missing at byte {at}")
        return match.end()
    depth = 0
    position = at
    while True:
        match = _STRUCTURE.search(data, position)
        if match is None:
            raise MalformedJson("the request body is not valid JSON: it ends inside a value")
        char = match.group()
        if char == b'"':
            string = _STRING.match(data, match.start())
            if string is None:
                raise MalformedJson(
                    f"the request body is not valid JSON: an unterminated string at byte {match.start()}"
                )
            position = string.end()
            continue
        depth += 1 if char in (b"{", b"[") else -1
        position = match.end()
        if depth == 0:
            return position


def _parse(data: bytes | bytearray, start: int, end: int) -> Any:
    try:
        return parse_json(bytes(data[start:end]), what="the request body")
    except MalformedInput as exc:
        raise MalformedJson(f"{exc.message} (at byte {start})") from exc


def batch_items(data: bytes | bytearray, key: str, *, max_items: int) -> Iterator[Any]:
    """Yield each item of ``{"<key>": [...]}`` in ``data``, parsed strictly, one at a time.

    Raises :class:`MalformedJson` (400) for a body that is not JSON, and
    :class:`ValidationFailed` (422) for JSON of another shape: not an object, another field,
    not a list, no items or more than ``max_items``. A caller must consume the iterator to
    its end before acting: the body's last bytes are checked only then.
    """
    at = _skip(data, 0)
    if data[at : at + 1] != b"{":
        _parse(data, at, len(data))  # malformed: 400; well-formed but no object: 422 below
        raise ValidationFailed("the request is not valid", details={"_body": ["must be a JSON object"]})
    at = _skip(data, at + 1)
    if data[at : at + 1] == b"}":
        raise ValidationFailed(
            "the request is not valid", details={key: ["Missing data for required field."]}
        )
    end = _value_end(data, at)
    name = _parse(data, at, end)
    if name != key:
        raise ValidationFailed("the request is not valid", details={str(name): ["Unknown field."]})
    at = _skip(data, _expect(data, end, b":"))
    if data[at : at + 1] != b"[":
        raise ValidationFailed("the request is not valid", details={key: ["Not a valid list."]})
    at = _skip(data, at + 1)
    count = 0
    if data[at : at + 1] != b"]":
        while True:
            end = _value_end(data, at)
            count += 1
            if count > max_items:
                raise ValidationFailed(
                    "the request is not valid", details={key: [f"Length must be between 1 and {max_items}."]}
                )
            yield _parse(data, at, end)
            at = _skip(data, end)
            if data[at : at + 1] == b",":
                at = _skip(data, at + 1)
                continue
            at = _expect(data, at, b"]")
            break
    else:
        at += 1
    at = _skip(data, at)
    if data[at : at + 1] == b",":
        # A second field after the list: name it as the schema would.
        at = _skip(data, at + 1)
        other = _parse(data, at, _value_end(data, at))
        if other == key:
            raise MalformedJson(f"the request body is not valid JSON: duplicate key {key!r}")
        raise ValidationFailed("the request is not valid", details={str(other): ["Unknown field."]})
    at = _expect(data, at, b"}")
    if _skip(data, at) != len(data):
        raise MalformedJson(f"the request body is not valid JSON: extra data at byte {_skip(data, at)}")
    if count == 0:
        raise ValidationFailed(
            "the request is not valid", details={key: [f"Length must be between 1 and {max_items}."]}
        )
