"""The kinds of leaf the one log holds (``docs/formats.md`` section 4), and the ones built here.

Every leaf is canonical JSON with ``format``, ``sequence`` (its leaf index) and
``previous_record_sha256`` (SHA-256 of the previous leaf's bytes), so one hash chain runs
through every kind. A format not in :data:`LEAF_FORMATS` is refused by the audit and by
verifiers, never guessed at. Each issue that adds a kind adds it here (and its builder and
parser beside it) when it lands.
"""

from __future__ import annotations

from dataclasses import dataclass

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.errors import MalformedInput
from notary.verify.note import is_valid_key_name, parse_verifier_key
from notary.verify.payloads import RECORD_FORMAT, RECORD_FORMAT_V2

__all__ = [
    "AUDIT_HEAD",
    "LEAF_FORMATS",
    "ORIGIN_ROTATION",
    "OriginRotationLeaf",
    "origin_rotation",
    "parse_origin_rotation",
]

AUDIT_HEAD = "notary-audit-head/1"
ORIGIN_ROTATION = "notary-origin-rotation/1"
#: Every leaf format built so far, oldest first. (Reserved in formats.md, added when built:
#: key revocation, key rotation, identity binding and unbinding, 瞒报 reports.)
LEAF_FORMATS = (RECORD_FORMAT, AUDIT_HEAD, RECORD_FORMAT_V2, ORIGIN_ROTATION)

_ROTATION_FIELDS = frozenset(
    {
        "at",
        "format",
        "from_origin",
        "from_verifier_key",
        "previous_record_sha256",
        "sequence",
        "to_origin",
        "to_verifier_key",
    }
)


def origin_rotation(
    *,
    sequence: int,
    previous_record_sha256: str,
    from_origin: str,
    from_verifier_key: str,
    to_origin: str,
    to_verifier_key: str,
    at: str,
) -> bytes:
    """The ``notary-origin-rotation/1`` leaf: the last leaf under ``from_origin``. Its
    checkpoint, signed (and cosigned) under the old origin, vouches for the new one's key."""
    return canonical_json(
        {
            "format": ORIGIN_ROTATION,
            "sequence": sequence,
            "previous_record_sha256": previous_record_sha256,
            "from_origin": from_origin,
            "from_verifier_key": from_verifier_key,
            "to_origin": to_origin,
            "to_verifier_key": to_verifier_key,
            "at": at,
        }
    )


@dataclass(frozen=True)
class OriginRotationLeaf:
    """A parsed rotation leaf."""

    sequence: int
    from_origin: str
    to_origin: str
    to_verifier_key: str
    at: str


def parse_origin_rotation(data: bytes) -> OriginRotationLeaf:
    """Parse a rotation leaf strictly; raises :class:`MalformedInput` for anything else (not
    canonical, other fields, origins that are not key names, verifier keys not named by them)."""
    value = parse_canonical_json(data, what="the rotation leaf")
    if not isinstance(value, dict) or value.keys() != _ROTATION_FIELDS or value["format"] != ORIGIN_ROTATION:
        raise MalformedInput(f"not a {ORIGIN_ROTATION} leaf")
    for side in ("from", "to"):
        origin, key = value[f"{side}_origin"], value[f"{side}_verifier_key"]
        if not isinstance(origin, str) or not is_valid_key_name(origin) or not isinstance(key, str):
            raise MalformedInput(f"{side}_origin must be a key name with its verifier key")
        if parse_verifier_key(key).name != origin:
            raise MalformedInput(f"{side}_verifier_key is not named by {side}_origin")
    if not isinstance(value["sequence"], int) or isinstance(value["sequence"], bool):
        raise MalformedInput("sequence must be an integer")
    return OriginRotationLeaf(
        value["sequence"], value["from_origin"], value["to_origin"], value["to_verifier_key"], value["at"]
    )
