"""The kinds of leaf the one log holds (``docs/formats.md`` section 4): the registry, and the
kinds built here.

Every leaf is canonical JSON with ``format``, ``sequence`` (its leaf index) and
``previous_record_sha256`` (SHA-256 of the previous leaf's bytes), so one hash chain runs
through every kind. :data:`LEAF_KINDS` maps each format to its strict parser; a format not
in it is refused (:class:`UnknownLeafFormat`) by the audit and by verifiers, never guessed
at. Each issue that adds a kind registers it here when it lands: one table, which
``notary audit``, the bundle verifier and later events (``later/``, issue 25) share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.evidence.record import parse_record
from notary.verify.key_events import (
    IDENTITY_BINDING,
    IDENTITY_UNBINDING,
    KEY_REVOCATION,
    KEY_ROTATION,
    parse_key_event,
)
from notary.verify.note import is_valid_key_name, parse_verifier_key
from notary.verify.payloads import RECORD_FORMAT, RECORD_FORMAT_V2
from notary.verify.reports import REPORT_LEAF_FORMAT, parse_report_leaf

__all__ = [
    "AUDIT_HEAD",
    "LEAF_FORMATS",
    "LEAF_KINDS",
    "ORIGIN_ROTATION",
    "AuditHeadLeaf",
    "MalformedLeaf",
    "OriginRotationLeaf",
    "UnknownLeafFormat",
    "origin_rotation",
    "parse_audit_head",
    "parse_leaf",
    "parse_origin_rotation",
]

AUDIT_HEAD = "notary-audit-head/1"
ORIGIN_ROTATION = "notary-origin-rotation/1"


class UnknownLeafFormat(MalformedInput):
    """A leaf whose ``format`` is not one the log's registry holds."""

    code = "unknown_leaf_format"


class MalformedLeaf(MalformedInput):
    """A leaf of a registered kind that its kind's parser refuses."""

    code = "malformed_leaf"


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


_HEAD_FIELDS = frozenset(
    {"at", "audit_head_sha256", "audit_sequence", "format", "previous_record_sha256", "sequence"}
)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class AuditHeadLeaf:
    """A parsed ``notary-audit-head/1`` leaf: the audit trail's head at ``audit_sequence``."""

    sequence: int
    audit_sequence: int
    audit_head_sha256: str
    at: str


def _index(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedInput(f"{what} must be a non-negative integer")
    return value


def parse_audit_head(data: bytes) -> AuditHeadLeaf:
    """Parse an audit head leaf strictly; raises :class:`MalformedInput`."""
    value = parse_canonical_json(data, what="the audit head leaf")
    if not isinstance(value, dict) or value.keys() != _HEAD_FIELDS or value["format"] != AUDIT_HEAD:
        raise MalformedInput(f"not a {AUDIT_HEAD} leaf")
    for name in ("audit_head_sha256", "previous_record_sha256"):
        if not isinstance(value[name], str) or not _HEX64.fullmatch(value[name]):
            raise MalformedInput(f"{name} must be 64 lowercase hex digits")
    if not isinstance(value["at"], str):
        raise MalformedInput("at must be a time")
    return AuditHeadLeaf(
        _index(value["sequence"], "sequence"),
        _index(value["audit_sequence"], "audit_sequence"),
        value["audit_head_sha256"],
        value["at"],
    )


#: The registry: every leaf format the log may hold, oldest first, with its strict parser.
#: The key events (issue 25) share one parser, :func:`notary.verify.key_events.parse_key_event`.
LEAF_KINDS: Mapping[str, Callable[[bytes], Any]] = MappingProxyType(
    {
        RECORD_FORMAT: parse_record,
        AUDIT_HEAD: parse_audit_head,
        RECORD_FORMAT_V2: parse_record,
        ORIGIN_ROTATION: parse_origin_rotation,
        REPORT_LEAF_FORMAT: parse_report_leaf,
        KEY_REVOCATION: parse_key_event,
        KEY_ROTATION: parse_key_event,
        IDENTITY_BINDING: parse_key_event,
        IDENTITY_UNBINDING: parse_key_event,
    }
)
LEAF_FORMATS = tuple(LEAF_KINDS)


def parse_leaf(data: bytes) -> tuple[str, Any]:
    """A leaf's format and what its kind's parser reads from it.

    Raises :class:`UnknownLeafFormat` for a format the registry does not hold (or none), and
    :class:`MalformedLeaf` (naming the parser's complaint) for a leaf its parser refuses.
    """
    try:
        value = parse_canonical_json(data, what="the leaf")
    except NotaryError as exc:
        raise MalformedLeaf(exc.message) from exc
    kind = value.get("format") if isinstance(value, dict) else None
    parser = LEAF_KINDS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise UnknownLeafFormat(
            f"the leaf's format {kind!r} is not a kind the log holds",
            details={"format": str(kind), "known": list(LEAF_FORMATS)},
        )
    try:
        return str(kind), parser(data)
    except NotaryError as exc:
        raise MalformedLeaf(
            f"a {kind} leaf its parser refuses: {exc.message}", details={"format": kind}
        ) from exc
