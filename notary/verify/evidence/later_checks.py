"""The ``key_events`` check: what happened to the signing keys after they signed (issue 25).

A bundle made after a signing key was revoked or rotated, or its identity binding undone,
carries ``later/``: a later signed checkpoint with its timestamps, a consistency proof from
the bundle's checkpoint to it, and each such event leaf with its inclusion proof. The check
proves each event is in the same log, after the signature it concerns, and says so beside the
signature; a revocation after signing leaves the signature valid (it was made while the key
was good), the fact is shown.

Absence proves nothing: ``later/`` is unsigned as a whole, so a bundle made before the event
and a bundle stripped of it look alike. The report says so; news comes from the notary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from notary.verify.errors import NotaryError
from notary.verify.evidence.bundle import (
    LATER_CHECKPOINT,
    LATER_CONSISTENCY,
    ConsistencyProof,
    EvidenceBundle,
    InclusionProof,
    event_inclusion_name,
    event_name,
    later_chain_name,
    later_token_name,
)
from notary.verify.evidence.checks import CLOCK_SKEW, Anchors, Passed, member, verify_token
from notary.verify.evidence.errors import (
    KeyEventMismatch,
    KeyEventTimeMismatch,
    MissingMember,
    PositionMismatch,
)
from notary.verify.evidence.log_checks import SignedCheckpoint, trusted_checkpoint
from notary.verify.evidence.record import EvidenceRecord, RecordSignature, parse_time
from notary.verify.key_events import KeyEvent, parse_key_event
from notary.verify.merkle import proofs as merkle
from notary.verify.note import NoteVerifierKey, OriginMismatch
from notary.verify.payloads import ROLES, format_time

__all__ = ["NO_LATER_EVENTS", "check_key_events"]

NO_LATER_EVENTS = (
    "the bundle names no later key event; that proves nothing (a bundle made before an event, "
    "or one stripped of later/, looks the same): ask the notary for a fresh bundle"
)
#: The kinds a bundle carries: what changes what an earlier signature can be relied on for.
_LATER_KINDS = frozenset({"revoked", "rotated", "unbound"})


def check_key_events(
    bundle: EvidenceBundle,
    record: EvidenceRecord,
    signed: SignedCheckpoint,
    anchors: Anchors,
    bundle_key: NoteVerifierKey | None,
    now: dt.datetime,
) -> Passed[dict[str, tuple[dict[str, Any], ...]]]:
    """Verify ``later/`` and return, per role, the key events it proves (value: ``{role:
    tuple of report entries}``, oldest first). Without ``later/`` it passes with no events
    and says that absence proves nothing.

    Raises, in this order: :class:`MissingMember`; the note errors and
    :class:`~notary.verify.note.OriginMismatch` for the later checkpoint (trusted as
    ``checkpoint_signature`` is); :class:`PositionMismatch` and the Merkle errors for the
    consistency proof; the timestamp errors for its tokens; per event,
    :class:`~notary.verify.key_events.MalformedKeyEvent`, :class:`PositionMismatch`, the
    Merkle errors, :class:`KeyEventMismatch` (about another key or party, or before the
    signature) and :class:`KeyEventTimeMismatch` (dated after the checkpoint's timestamp).
    """
    if not bundle.has_later:
        return Passed(NO_LATER_EVENTS, {"events": []}, dict.fromkeys(ROLES, ()))
    later = trusted_checkpoint(member(bundle, LATER_CHECKPOINT), anchors, bundle_key)
    _check_consistency(bundle, signed, later)
    stamped = _first_stamp(bundle, later, anchors, now)
    by_role: dict[str, list[dict[str, Any]]] = {role: [] for role in ROLES}
    listed = []
    indices = bundle.later_event_indices
    if not indices:
        raise MissingMember(f"later/ holds no event: {event_name(0)}… is missing")
    for leaf_index in indices:
        event = _included_event(bundle, leaf_index, later)
        roles = [role for role, signature in record.signatures.items() if _concerns(event, record, signature)]
        if not roles:
            raise KeyEventMismatch(
                f"{event_name(leaf_index)} ({event.format}) is not about a key of this record after it signed",
                details={"leaf_index": leaf_index, "format": event.format},
            )
        if parse_time(event.at, what="the event's at") > stamped + CLOCK_SKEW:
            raise KeyEventTimeMismatch(
                f"{event_name(leaf_index)} claims {event.at}, after the later checkpoint was stamped",
                details={"leaf_index": leaf_index, "at": event.at, "stamped": format_time(stamped)},
            )
        for role in roles:
            by_role[role].append(event.report())
            listed.append({"role": role, **event.report()})
    checkpoint = later.checkpoint
    return Passed(
        f"{len(indices)} later key event(s), included in the checkpoint of size {checkpoint.size} "
        f"stamped {format_time(stamped)}: "
        + "; ".join(f"{item['role']} key {item['kind']} at {item['at']}" for item in listed),
        {
            "events": listed,
            "later_checkpoint": {
                "origin": checkpoint.origin,
                "tree_size": checkpoint.size,
                "root_hash": checkpoint.root_hash.hex(),
                "stamped": format_time(stamped),
            },
        },
        {role: tuple(entries) for role, entries in by_role.items()},
    )


def _check_consistency(bundle: EvidenceBundle, signed: SignedCheckpoint, later: SignedCheckpoint) -> None:
    old, new = signed.checkpoint, later.checkpoint
    if new.origin != old.origin and new.size <= old.size:
        # Another origin is only the same log after a rotation, which makes the tree larger.
        raise OriginMismatch(
            f"the later checkpoint is of {new.origin!r}, the bundle's of {old.origin!r}",
            details={"origin": new.origin, "expected": old.origin},
        )
    proof = ConsistencyProof.from_json(member(bundle, LATER_CONSISTENCY))
    if (proof.first, proof.second) != (old.size, new.size):
        raise PositionMismatch(
            f"{LATER_CONSISTENCY} is from size {proof.first} to {proof.second}, "
            f"not from {old.size} to {new.size}",
            details={"first": proof.first, "second": proof.second},
        )
    merkle.verify_consistency(
        size1=old.size, size2=new.size, proof=proof.hashes, root1=old.root_hash, root2=new.root_hash
    )


def _first_stamp(
    bundle: EvidenceBundle, later: SignedCheckpoint, anchors: Anchors, now: dt.datetime
) -> dt.datetime:
    """Verify every later token; the earliest genTime bounds when the events existed."""
    indices = bundle.later_token_indices
    if not indices:
        raise MissingMember(f"{later_token_name(1)} is missing from the bundle")
    times = []
    for k in range(1, max(indices) + 1):
        name = later_token_name(k)
        try:
            times.append(verify_token(bundle, name, later_chain_name(k), later.body, anchors, now).gen_time)
        except NotaryError as exc:
            raise type(exc)(
                f"{name}: {exc.message}", details={**(exc.details or {}), "member": name}
            ) from exc
    return min(times)


def _included_event(bundle: EvidenceBundle, leaf_index: int, later: SignedCheckpoint) -> KeyEvent:
    leaf = member(bundle, event_name(leaf_index))
    proof = InclusionProof.from_json(member(bundle, event_inclusion_name(leaf_index)))
    event = parse_key_event(leaf)
    if not event.sequence == proof.leaf_index == leaf_index or proof.tree_size != later.checkpoint.size:
        raise PositionMismatch(
            f"{event_name(leaf_index)}: leaf {event.sequence}, proof for leaf {proof.leaf_index} "
            f"of a tree of size {proof.tree_size}, later checkpoint of size {later.checkpoint.size}",
            details={
                "leaf_index": leaf_index,
                "sequence": event.sequence,
                "proof_leaf_index": proof.leaf_index,
            },
        )
    merkle.verify_inclusion(
        leaf_hash=merkle.leaf_hash(leaf),
        leaf_index=leaf_index,
        tree_size=proof.tree_size,
        proof=proof.hashes,
        root=later.checkpoint.root_hash,
    )
    return event


def _concerns(event: KeyEvent, record: EvidenceRecord, signature: RecordSignature) -> bool:
    """Whether ``event`` changes what ``signature`` can be relied on for: its key, for its
    party (revocation and rotation are per party; an unbinding is per key), at or after it signed."""
    if event.kind not in _LATER_KINDS or event.key_fingerprint != signature.key_fingerprint:
        return False
    if event.kind != "unbound" and (event.party_id, event.platform_id) != (
        signature.party_id,
        record.platform_id,
    ):
        return False
    return parse_time(event.at, what="the event's at") >= parse_time(signature.signed_at, what="signed_at")
