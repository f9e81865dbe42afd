"""``later/`` and the ``key_events`` check: a bundle says if, and when, a signing key was revoked,
rotated or unbound after it signed, with proof; every corruption of that proof is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from notary.verify.canonical import canonical_json
from notary.verify.evidence.bundle import build_bundle
from notary.verify.evidence.later_checks import NO_LATER_EVENTS
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.key_events import (
    identity_binding_leaf,
    identity_unbinding_leaf,
    key_revocation_leaf,
    key_rotation_leaf,
)
from notary.verify.payloads import format_time, sha256_hex
from notary.verify.trust import INTEGRITY_ONLY
from tests.support.evidence import SIGNED, VERIFIED_AT, SampleLog, SampleNotary, members, rezip

REVOKED_AT = SIGNED + dt.timedelta(days=1)
STAMPED_LATER = REVOKED_AT + dt.timedelta(seconds=3)


@pytest.fixture(scope="module")
def notary(tmp_path_factory: pytest.TempPathFactory) -> SampleNotary:
    return SampleNotary.create(tmp_path_factory.mktemp("later-notary"))


def _signature(log: SampleLog, role: str, index: int = 0) -> dict[str, str]:
    return json.loads(log.filed[index].record)["signatures"][role]


def revocation(log: SampleLog, role: str = "investor", *, at: dt.datetime = REVOKED_AT, **change: str):
    signer = _signature(log, role)
    fields = {
        "platform_id": "pl_0001",
        "party_id": signer["party_id"],
        "key_fingerprint": signer["key_fingerprint"],
        "reason": "compromised",
        "by": {"kind": "operator", "operator": "Clerk Sun", "audit_sequence": 7},
        **change,
    }
    return lambda sequence, previous: key_revocation_leaf(
        sequence=sequence, previous_record_sha256=previous, at=format_time(at), **fields
    )


def _bundle_with(
    log: SampleLog, events: list[int], *, index: int = 0, first: int = 2, **later: object
) -> bytes:
    parts = log.parts(index, first)
    later_evidence = log.later(first, log.size, events, stamped=later.pop("stamped", STAMPED_LATER), **later)
    return build_bundle(dataclasses.replace(parts, later=later_evidence))


def _check(report, name: str = "key_events"):
    return next(check for check in report.checks if check.name == name)


def test_a_bundle_without_later_events_says_absence_proves_nothing(notary):
    log = SampleLog(notary, 2)
    report = verify_bundle(log.bundle(0, 2), trust=notary.trust(), now=VERIFIED_AT)
    assert report.valid
    check = _check(report)
    assert check.status == "passed"
    assert check.reason == NO_LATER_EVENTS
    assert all(party.key_events == () for party in report.parties)


def test_a_revocation_after_signing_is_shown_beside_the_signature_which_stays_valid(notary):
    log = SampleLog(notary, 2)
    log.append(
        lambda s, p: canonical_json({"format": "notary-audit-head/1", "sequence": s})
    )  # another kind between
    revoked = log.append(revocation(log))
    report = verify_bundle(_bundle_with(log, [revoked]), trust=notary.trust(), now=VERIFIED_AT)
    assert report.valid, [c for c in report.checks if c.status != "passed"]
    investor = next(party for party in report.parties if party.role == "investor")
    borrower = next(party for party in report.parties if party.role == "borrower")
    assert investor.key_events == (
        {"kind": "revoked", "at": format_time(REVOKED_AT), "leaf_index": revoked, "reason": "compromised"},
    )
    assert borrower.key_events == ()
    details = _check(report).details
    assert details["later_checkpoint"]["tree_size"] == log.size
    assert details["later_checkpoint"]["stamped"] == format_time(STAMPED_LATER)
    assert report.to_dict()["parties"]["investor"]["key_events"][0]["kind"] == "revoked"


def test_a_rotation_and_an_unbinding_are_shown_for_the_roles_they_concern(notary):
    log = SampleLog(notary, 2)
    borrower = _signature(log, "borrower")
    at = format_time(REVOKED_AT)
    rotated = log.append(
        lambda sequence, previous: key_rotation_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            platform_id="pl_0001",
            party_id=borrower["party_id"],
            identity_commitment="c" * 64,
            old_key_fingerprint=borrower["key_fingerprint"],
            new_key_fingerprint="e" * 64,
            new_algorithm="ed25519",
            new_enrolment_proof="cHJvb2Y=",
            approval={"kind": "old_key", "signature": "c2lnbmF0dXJl"},
        )
    )
    unbound = log.append(
        lambda sequence, previous: identity_unbinding_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            key_fingerprint=_signature(log, "investor")["key_fingerprint"],
            operator="Clerk Sun",
            audit_sequence=9,
            reason="mistaken",
        )
    )
    report = verify_bundle(_bundle_with(log, [rotated, unbound]), trust=notary.trust(), now=VERIFIED_AT)
    assert report.valid
    events = {party.role: party.key_events for party in report.parties}
    assert events["borrower"] == (
        {"kind": "rotated", "at": at, "leaf_index": rotated, "new_key_fingerprint": "e" * 64},
    )
    assert events["investor"] == ({"kind": "unbound", "at": at, "leaf_index": unbound, "reason": "mistaken"},)


def test_integrity_only_checks_the_later_checkpoint_with_the_bundles_own_log_key(notary):
    log = SampleLog(notary, 2)
    revoked = log.append(revocation(log))
    report = verify_bundle(_bundle_with(log, [revoked]), trust=INTEGRITY_ONLY, now=VERIFIED_AT)
    assert _check(report).status == "passed"


def _refused(bundle: bytes, notary: SampleNotary) -> str | None:
    report = verify_bundle(bundle, trust=notary.trust(), now=VERIFIED_AT)
    assert not report.valid
    return _check(report).code


def test_an_event_about_another_key_or_party_is_refused(notary):
    log = SampleLog(notary, 2)
    other_key = log.append(revocation(log, key_fingerprint="f" * 64))
    assert _refused(_bundle_with(log, [other_key]), notary) == "key_event_mismatch"
    log = SampleLog(notary, 2)
    other_party = log.append(revocation(log, party_id="pa_SOMEONE"))
    assert _refused(_bundle_with(log, [other_party]), notary) == "key_event_mismatch"


def test_an_event_before_the_signature_is_not_a_later_event(notary):
    log = SampleLog(notary, 2)
    early = log.append(revocation(log, at=SIGNED - dt.timedelta(seconds=1)))
    assert _refused(_bundle_with(log, [early]), notary) == "key_event_mismatch"


def test_a_binding_is_not_a_later_event(notary):
    log = SampleLog(notary, 2)
    bound = log.append(
        lambda sequence, previous: identity_binding_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=format_time(REVOKED_AT),
            key_fingerprint=_signature(log, "investor")["key_fingerprint"],
            operator="Clerk Sun",
            audit_sequence=3,
        )
    )
    assert _refused(_bundle_with(log, [bound]), notary) == "key_event_mismatch"


def test_an_event_dated_after_its_checkpoint_was_stamped_is_refused(notary):
    log = SampleLog(notary, 2)
    revoked = log.append(revocation(log, at=STAMPED_LATER + dt.timedelta(hours=1)))
    assert _refused(_bundle_with(log, [revoked]), notary) == "key_event_time_mismatch"


def _tampered(notary: SampleNotary, change) -> str | None:
    log = SampleLog(notary, 2)
    revoked = log.append(revocation(log))
    entries = members(_bundle_with(log, [revoked]))
    change(entries, revoked, log)
    return _refused(rezip(entries, fix_manifest=True), notary)


def test_an_edited_event_no_longer_matches_its_inclusion_proof(notary):
    def soften(entries, index, _log):
        value = json.loads(entries[f"later/events/{index}.json"])
        value["reason"] = "superseded"
        entries[f"later/events/{index}.json"] = canonical_json(value)

    assert _tampered(notary, soften) == "root_mismatch"


def test_a_flipped_inclusion_hash_is_refused(notary):
    def flip(entries, index, _log):
        value = json.loads(entries[f"later/events/{index}-inclusion.json"])
        value["hashes"][0] = ("0" if value["hashes"][0][0] != "0" else "1") + value["hashes"][0][1:]
        entries[f"later/events/{index}-inclusion.json"] = canonical_json(value)

    assert _tampered(notary, flip) == "root_mismatch"


def test_a_later_checkpoint_that_does_not_extend_the_bundles_tree_is_refused(notary):
    def forge(entries, _index, log):
        value = json.loads(entries["later/consistency.json"])
        value["hashes"] = [sha256_hex(b"forged")] * len(value["hashes"])
        entries["later/consistency.json"] = canonical_json(value)

    assert _tampered(notary, forge) == "root_mismatch"


def test_a_consistency_proof_between_other_sizes_is_refused(notary):
    def shift(entries, _index, _log):
        value = json.loads(entries["later/consistency.json"])
        value["first"] = 1
        entries["later/consistency.json"] = canonical_json(value)

    assert _tampered(notary, shift) == "position_mismatch"


def test_a_later_checkpoint_signed_by_another_log_key_is_refused(notary, tmp_path):
    stranger = SampleNotary.create(tmp_path / "stranger")

    def resign(entries, _index, log):
        text = entries["later/checkpoint.txt"].decode()
        body = text.split("\n\n", 1)[0] + "\n"
        from notary.verify.note import parse_checkpoint

        entries["later/checkpoint.txt"] = stranger.signer.sign_checkpoint(parse_checkpoint(body)).encode()

    assert _tampered(notary, resign) == "note_unknown_key"


def test_a_later_checkpoint_without_its_timestamp_is_refused(notary):
    def drop(entries, _index, _log):
        del entries["later/checkpoint-1.tsr"]
        del entries["later/checkpoint-1-chain.pem"]

    assert _tampered(notary, drop) == "missing_member"


def test_a_token_over_another_checkpoint_is_refused(notary):
    def swap(entries, _index, _log):
        entries["later/checkpoint-1.tsr"] = entries["timestamp/checkpoint-1.tsr"]

    assert _tampered(notary, swap) == "imprint_mismatch"


def test_an_event_without_its_inclusion_proof_is_refused(notary):
    def drop(entries, index, _log):
        del entries[f"later/events/{index}-inclusion.json"]

    assert _tampered(notary, drop) == "missing_member"


def test_an_event_filed_under_another_index_is_refused(notary):
    def move(entries, index, _log):
        entries[f"later/events/{index + 1}.json"] = entries.pop(f"later/events/{index}.json")
        entries[f"later/events/{index + 1}-inclusion.json"] = entries.pop(
            f"later/events/{index}-inclusion.json"
        )

    assert _tampered(notary, move) == "position_mismatch"


def test_stripping_later_leaves_a_valid_bundle_that_says_it_knows_of_no_event(notary):
    """The honest limit: later/ is not signed as a whole. What stays true is that the report
    never claims more than it proves."""

    def strip(entries, _index, _log):
        for name in [name for name in entries if name.startswith("later/")]:
            del entries[name]

    log = SampleLog(notary, 2)
    revoked = log.append(revocation(log))
    entries = members(_bundle_with(log, [revoked]))
    strip(entries, revoked, log)
    report = verify_bundle(rezip(entries, fix_manifest=True), trust=notary.trust(), now=VERIFIED_AT)
    assert report.valid
    assert _check(report).reason == NO_LATER_EVENTS
