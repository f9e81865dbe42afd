"""What changes what a key may do, signed and logged: revocation, rotation, identity binding
and unbinding (issue 25, ``docs/formats.md`` sections 3 and 4).

Two purposes are signed by a party's key: ``notary.rotate.v1`` (the **old** key: "replace me
by this key") and ``notary.revoke.v1`` (the revoked key itself, or another live key of the same
party). Four leaf formats record the events in the one log, each canonical JSON with
``format``, ``sequence`` and ``previous_record_sha256`` like every leaf. Old contracts keep
verifying with the key that signed them; a bundle built after an event names it (``later/``)
with its inclusion proof, and the report shows it beside the signature it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.errors import MalformedInput
from notary.verify.keys import ALGORITHMS

__all__ = [
    "IDENTITY_BINDING",
    "IDENTITY_UNBINDING",
    "KEY_EVENT_FORMATS",
    "KEY_REVOCATION",
    "KEY_ROTATION",
    "PURPOSE_REVOKE",
    "PURPOSE_ROTATE",
    "REVOCATION_REASONS",
    "UNBINDING_REASONS",
    "KeyEvent",
    "MalformedKeyEvent",
    "identity_binding_leaf",
    "identity_unbinding_leaf",
    "key_revocation_leaf",
    "key_rotation_leaf",
    "parse_key_event",
    "revoke_payload",
    "rotate_payload",
]

PURPOSE_ROTATE = "notary.rotate.v1"
PURPOSE_REVOKE = "notary.revoke.v1"

KEY_REVOCATION = "notary-key-revocation/1"
KEY_ROTATION = "notary-key-rotation/1"
IDENTITY_BINDING = "notary-identity-binding/1"
IDENTITY_UNBINDING = "notary-identity-unbinding/1"
KEY_EVENT_FORMATS = (KEY_REVOCATION, KEY_ROTATION, IDENTITY_BINDING, IDENTITY_UNBINDING)

REVOCATION_REASONS = ("lost", "compromised", "superseded", "other")
UNBINDING_REASONS = ("mistaken", "revoked", "other")

_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_ID = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,400}={0,2}", re.ASCII)
_MAX_SEQUENCE = 2**53 - 1


class MalformedKeyEvent(MalformedInput):
    """A key event leaf that is not exactly one of the four formats."""

    code = "malformed_key_event"


def rotate_payload(
    *, platform_id: str, party_id: str, old_key_fingerprint: str, new_key_fingerprint: str, new_algorithm: str
) -> bytes:
    """What the **old** key signs to hand its party over to the new key (``notary.rotate.v1``)."""
    return canonical_json(
        {
            "purpose": PURPOSE_ROTATE,
            "platform_id": platform_id,
            "party_id": party_id,
            "old_key_fingerprint": old_key_fingerprint,
            "new_key_fingerprint": new_key_fingerprint,
            "new_algorithm": new_algorithm,
        }
    )


def revoke_payload(*, platform_id: str, party_id: str, key_fingerprint: str, reason: str) -> bytes:
    """What a key of the party signs to revoke ``key_fingerprint`` (``notary.revoke.v1``)."""
    if reason not in REVOCATION_REASONS:
        raise ValueError(f"not a revocation reason: {reason!r}")
    return canonical_json(
        {
            "purpose": PURPOSE_REVOKE,
            "platform_id": platform_id,
            "party_id": party_id,
            "key_fingerprint": key_fingerprint,
            "reason": reason,
        }
    )


def _leaf(kind: str, sequence: int, previous_record_sha256: str, fields: Mapping[str, Any]) -> bytes:
    return canonical_json(
        {"format": kind, "sequence": sequence, "previous_record_sha256": previous_record_sha256, **fields}
    )


def key_revocation_leaf(
    *,
    sequence: int,
    previous_record_sha256: str,
    at: str,
    platform_id: str,
    party_id: str,
    key_fingerprint: str,
    reason: str,
    by: Mapping[str, Any],
) -> bytes:
    """``notary-key-revocation/1``. ``by`` is ``{"kind": "party", "key_fingerprint",
    "signature"}`` (a ``notary.revoke.v1`` signature) or ``{"kind": "operator", "operator",
    "audit_sequence"}``."""
    return _leaf(
        KEY_REVOCATION,
        sequence,
        previous_record_sha256,
        {
            "at": at,
            "platform_id": platform_id,
            "party_id": party_id,
            "key_fingerprint": key_fingerprint,
            "reason": reason,
            "by": dict(by),
        },
    )


def key_rotation_leaf(
    *,
    sequence: int,
    previous_record_sha256: str,
    at: str,
    platform_id: str,
    party_id: str,
    identity_commitment: str,
    old_key_fingerprint: str,
    new_key_fingerprint: str,
    new_algorithm: str,
    new_enrolment_proof: str,
    approval: Mapping[str, Any],
) -> bytes:
    """``notary-key-rotation/1``. ``approval`` is ``{"kind": "old_key", "signature"}`` (a
    ``notary.rotate.v1`` signature) or ``{"kind": "operator", "operator", "audit_sequence"}``."""
    return _leaf(
        KEY_ROTATION,
        sequence,
        previous_record_sha256,
        {
            "at": at,
            "platform_id": platform_id,
            "party_id": party_id,
            "identity_commitment": identity_commitment,
            "old_key_fingerprint": old_key_fingerprint,
            "new_key_fingerprint": new_key_fingerprint,
            "new_algorithm": new_algorithm,
            "new_enrolment_proof": new_enrolment_proof,
            "approval": dict(approval),
        },
    )


def identity_binding_leaf(
    *,
    sequence: int,
    previous_record_sha256: str,
    at: str,
    key_fingerprint: str,
    operator: str,
    audit_sequence: int,
) -> bytes:
    """``notary-identity-binding/1``: no identity value of any kind, only the key and who bound it."""
    return _leaf(
        IDENTITY_BINDING,
        sequence,
        previous_record_sha256,
        {
            "at": at,
            "key_fingerprint": key_fingerprint,
            "operator": operator,
            "audit_sequence": audit_sequence,
        },
    )


def identity_unbinding_leaf(
    *,
    sequence: int,
    previous_record_sha256: str,
    at: str,
    key_fingerprint: str,
    operator: str,
    audit_sequence: int,
    reason: str,
) -> bytes:
    """``notary-identity-unbinding/1``."""
    if reason not in UNBINDING_REASONS:
        raise ValueError(f"not an unbinding reason: {reason!r}")
    return _leaf(
        IDENTITY_UNBINDING,
        sequence,
        previous_record_sha256,
        {
            "at": at,
            "key_fingerprint": key_fingerprint,
            "operator": operator,
            "audit_sequence": audit_sequence,
            "reason": reason,
        },
    )


@dataclass(frozen=True)
class KeyEvent:
    """A parsed key event leaf. ``kind`` is ``revoked``, ``rotated``, ``bound`` or ``unbound``;
    ``key_fingerprint`` is the key it changes (for a rotation, the old key); ``party_id`` is
    None for identity (un)bindings, which are per key."""

    kind: str
    format: str
    sequence: int
    previous_record_sha256: str
    at: str
    key_fingerprint: str
    party_id: str | None
    platform_id: str | None
    reason: str | None
    new_key_fingerprint: str | None
    raw: bytes

    def report(self) -> dict[str, Any]:
        """As a verification report lists it (``key_events``)."""
        entry: dict[str, Any] = {"kind": self.kind, "at": self.at, "leaf_index": self.sequence}
        if self.reason is not None:
            entry["reason"] = self.reason
        if self.new_key_fingerprint is not None:
            entry["new_key_fingerprint"] = self.new_key_fingerprint
        return entry


_COMMON = frozenset({"format", "sequence", "previous_record_sha256", "at"})
_FIELDS = {
    KEY_REVOCATION: _COMMON | {"platform_id", "party_id", "key_fingerprint", "reason", "by"},
    KEY_ROTATION: _COMMON
    | {
        "platform_id",
        "party_id",
        "identity_commitment",
        "old_key_fingerprint",
        "new_key_fingerprint",
        "new_algorithm",
        "new_enrolment_proof",
        "approval",
    },
    IDENTITY_BINDING: _COMMON | {"key_fingerprint", "operator", "audit_sequence"},
    IDENTITY_UNBINDING: _COMMON | {"key_fingerprint", "operator", "audit_sequence", "reason"},
}
_KINDS = {
    KEY_REVOCATION: "revoked",
    KEY_ROTATION: "rotated",
    IDENTITY_BINDING: "bound",
    IDENTITY_UNBINDING: "unbound",
}


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedKeyEvent(f"key event: {what}", details={"field": what.split(" ", 1)[0]})


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SEQUENCE


def _operator(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def _approval(value: Any, signer: str) -> None:
    _check(isinstance(value, dict), f"{signer} must be an object")
    kind = value.get("kind")
    if kind == "operator":
        _check(
            value.keys() == {"kind", "operator", "audit_sequence"},
            f"{signer} by an operator has kind, operator, audit_sequence",
        )
        _check(
            _operator(value["operator"]) and _count(value["audit_sequence"]),
            f"{signer} names an operator and an audit entry",
        )
        return
    party_kind = "party" if signer == "by" else "old_key"
    expected = {"kind", "key_fingerprint", "signature"} if signer == "by" else {"kind", "signature"}
    _check(
        kind == party_kind and value.keys() == expected,
        f"{signer} is a {party_kind} signature or an operator",
    )
    _check(_text(value["signature"], _BASE64), f"{signer} signature must be base64")
    if signer == "by":
        _check(_text(value["key_fingerprint"], _HEX64), "by key_fingerprint must be 64 hex digits")


def parse_key_event(data: bytes) -> KeyEvent:
    """Parse one key event leaf strictly: canonical JSON, exactly its format's fields, each of
    its form. Raises :class:`MalformedKeyEvent`."""
    try:
        value = parse_canonical_json(data, what="the key event")
    except MalformedInput as exc:
        raise MalformedKeyEvent(exc.message) from exc
    _check(isinstance(value, dict) and value.get("format") in _FIELDS, "format is not a key event format")
    kind = value["format"]
    missing, unknown = sorted(_FIELDS[kind] - value.keys()), sorted(value.keys() - _FIELDS[kind])
    _check(not missing and not unknown, f"fields differ from {kind}: missing {missing}, unknown {unknown}")
    _check(_count(value["sequence"]), "sequence must be an integer from 0")
    _check(_text(value["previous_record_sha256"], _HEX64), "previous_record_sha256 must be 64 hex digits")
    _check(_text(value["at"], _TIME), "at must be RFC 3339 UTC with milliseconds")
    reason = value.get("reason")
    new_key = None
    if kind in (KEY_REVOCATION, KEY_ROTATION):
        _check(
            _text(value["platform_id"], _ID) and _text(value["party_id"], _ID),
            "platform_id and party_id must be ids",
        )
    if kind == KEY_REVOCATION:
        _check(_text(value["key_fingerprint"], _HEX64), "key_fingerprint must be 64 hex digits")
        _check(reason in REVOCATION_REASONS, "reason is not a revocation reason")
        _approval(value["by"], "by")
        key = value["key_fingerprint"]
    elif kind == KEY_ROTATION:
        for name in ("old_key_fingerprint", "new_key_fingerprint", "identity_commitment"):
            _check(_text(value[name], _HEX64), f"{name} must be 64 hex digits")
        _check(
            value["old_key_fingerprint"] != value["new_key_fingerprint"],
            "new_key_fingerprint must differ from the old",
        )
        _check(value["new_algorithm"] in ALGORITHMS, "new_algorithm is not a known algorithm")
        _check(_text(value["new_enrolment_proof"], _BASE64), "new_enrolment_proof must be base64")
        _approval(value["approval"], "approval")
        key, new_key = value["old_key_fingerprint"], value["new_key_fingerprint"]
    else:
        _check(_text(value["key_fingerprint"], _HEX64), "key_fingerprint must be 64 hex digits")
        _check(
            _operator(value["operator"]) and _count(value["audit_sequence"]), "operator and audit_sequence"
        )
        if kind == IDENTITY_UNBINDING:
            _check(reason in UNBINDING_REASONS, "reason is not an unbinding reason")
        key = value["key_fingerprint"]
    return KeyEvent(
        kind=_KINDS[kind],
        format=kind,
        sequence=value["sequence"],
        previous_record_sha256=value["previous_record_sha256"],
        at=value["at"],
        key_fingerprint=key,
        party_id=value.get("party_id"),
        platform_id=value.get("platform_id"),
        reason=reason,
        new_key_fingerprint=new_key,
        raw=data,
    )
