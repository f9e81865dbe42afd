"""Key event payloads and leaves: exact bytes, strict parsing, each corruption its refusal."""

from __future__ import annotations

import json

import pytest

from notary.verify.canonical import canonical_json
from notary.verify.key_events import (
    KEY_EVENT_FORMATS,
    MalformedKeyEvent,
    identity_binding_leaf,
    identity_unbinding_leaf,
    key_revocation_leaf,
    key_rotation_leaf,
    parse_key_event,
    revoke_payload,
    rotate_payload,
)

OLD, NEW, COMMITMENT, PREVIOUS = "a" * 64, "b" * 64, "c" * 64, "d" * 64
AT = "2026-12-05T10:00:00.000Z"


def test_the_signed_payloads_are_these_exact_bytes():
    """The worked examples of docs/payloads.md ("Key events")."""
    assert rotate_payload(
        platform_id="pl_0001",
        party_id="pa_0001",
        old_key_fingerprint=OLD,
        new_key_fingerprint=NEW,
        new_algorithm="ed25519",
    ) == (
        b'{"new_algorithm":"ed25519","new_key_fingerprint":"' + NEW.encode() + b'",'
        b'"old_key_fingerprint":"' + OLD.encode() + b'","party_id":"pa_0001","platform_id":"pl_0001",'
        b'"purpose":"notary.rotate.v1"}'
    )
    assert revoke_payload(platform_id="pl_0001", party_id="pa_0001", key_fingerprint=OLD, reason="lost") == (
        b'{"key_fingerprint":"' + OLD.encode() + b'","party_id":"pa_0001","platform_id":"pl_0001",'
        b'"purpose":"notary.revoke.v1","reason":"lost"}'
    )
    with pytest.raises(ValueError):
        revoke_payload(platform_id="pl_0001", party_id="pa_0001", key_fingerprint=OLD, reason="bored")


def leaves():
    common = {"sequence": 7, "previous_record_sha256": PREVIOUS, "at": AT}
    return {
        "revoked by the party": key_revocation_leaf(
            **common,
            platform_id="pl_0001",
            party_id="pa_0001",
            key_fingerprint=OLD,
            reason="compromised",
            by={"kind": "party", "key_fingerprint": OLD, "signature": "c2lnbmF0dXJl"},
        ),
        "revoked by an operator": key_revocation_leaf(
            **common,
            platform_id="pl_0001",
            party_id="pa_0001",
            key_fingerprint=OLD,
            reason="lost",
            by={"kind": "operator", "operator": "Clerk Sun", "audit_sequence": 41},
        ),
        "rotated by the old key": key_rotation_leaf(
            **common,
            platform_id="pl_0001",
            party_id="pa_0001",
            identity_commitment=COMMITMENT,
            old_key_fingerprint=OLD,
            new_key_fingerprint=NEW,
            new_algorithm="ecdsa-p256-sha256",
            new_enrolment_proof="cHJvb2Y=",
            approval={"kind": "old_key", "signature": "c2lnbmF0dXJl"},
        ),
        "rotated by an operator": key_rotation_leaf(
            **common,
            platform_id="pl_0001",
            party_id="pa_0001",
            identity_commitment=COMMITMENT,
            old_key_fingerprint=OLD,
            new_key_fingerprint=NEW,
            new_algorithm="ed25519",
            new_enrolment_proof="cHJvb2Y=",
            approval={"kind": "operator", "operator": "Clerk Sun", "audit_sequence": 42},
        ),
        "bound": identity_binding_leaf(**common, key_fingerprint=OLD, operator="Clerk Sun", audit_sequence=3),
        "unbound": identity_unbinding_leaf(
            **common, key_fingerprint=OLD, operator="Clerk Sun", audit_sequence=4, reason="mistaken"
        ),
    }


@pytest.mark.parametrize("name", list(leaves()))
def test_every_leaf_parses_back(name):
    data = leaves()[name]
    event = parse_key_event(data)
    assert event.raw == data
    assert event.format in KEY_EVENT_FORMATS
    assert (event.sequence, event.at, event.previous_record_sha256) == (7, AT, PREVIOUS)
    assert event.key_fingerprint == OLD
    assert (
        event.kind
        == {"revoked": "revoked", "rotated": "rotated", "bound": "bound", "unbound": "unbound"}[
            name.split()[0]
        ]
    )
    if event.kind == "rotated":
        assert event.new_key_fingerprint == NEW
        assert event.report() == {"kind": "rotated", "at": AT, "leaf_index": 7, "new_key_fingerprint": NEW}
    assert json.loads(data)["format"] == event.format


def _changed(data: bytes, **changes) -> bytes:
    value = json.loads(data)
    for key, new in changes.items():
        if new is None:
            value.pop(key)
        else:
            value[key] = new
    return canonical_json(value)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("revoked by the party", {"reason": "bored"}),
        ("revoked by the party", {"extra": 1}),
        ("revoked by the party", {"by": None}),
        ("revoked by the party", {"by": {"kind": "party", "signature": "c2lnbmF0dXJl"}}),
        ("revoked by the party", {"by": {"kind": "old_key", "signature": "c2lnbmF0dXJl"}}),
        ("revoked by an operator", {"by": {"kind": "operator", "operator": "x", "audit_sequence": -1}}),
        ("revoked by an operator", {"by": {"kind": "operator", "operator": "\x1b[2K", "audit_sequence": 1}}),
        ("revoked by the party", {"key_fingerprint": OLD.upper()}),
        ("revoked by the party", {"at": "2026-12-05T10:00:00Z"}),
        ("revoked by the party", {"sequence": True}),
        ("revoked by the party", {"party_id": "pa_0001\n"}),
        ("rotated by the old key", {"new_key_fingerprint": OLD}),
        ("rotated by the old key", {"new_algorithm": "rsa"}),
        (
            "rotated by the old key",
            {"approval": {"kind": "party", "key_fingerprint": OLD, "signature": "AAAA"}},
        ),
        ("rotated by the old key", {"identity_commitment": "0" * 63}),
        ("rotated by the old key", {"new_enrolment_proof": "not base64!"}),
        ("bound", {"reason": "mistaken"}),
        ("unbound", {"reason": "lost"}),
        ("unbound", {"format": "notary-identity-unbinding/2"}),
        ("bound", {"format": "notary-record/1"}),
    ],
)
def test_each_corruption_is_refused(name, change):
    with pytest.raises(MalformedKeyEvent):
        parse_key_event(_changed(leaves()[name], **change))


def test_a_leaf_that_is_not_canonical_is_refused():
    data = leaves()["bound"]
    with pytest.raises(MalformedKeyEvent):
        parse_key_event(json.dumps(json.loads(data), indent=1).encode())
