"""Revoking and rotating a party's key, and undoing an operator's identity binding.

Round 1 had no way back: a lost or stolen key could not be revoked or replaced (the same
identity with a new key was 409 ``party_exists``), and a mistaken ``notary identity verify``
gave a stranger's key read access to every contract naming that person, for good (issue 25).

- **Revocation** stops a key at once: it no longer logs in, signs or enrols, and its tokens
  are revoked. By the key holder (a ``notary.revoke.v1`` signature per party the key acts for:
  a key is revoked for all of them together) or by an operator (``notary party revoke-key``).
- **Rotation** gives a party a new key and keeps the party and its identity commitment: the
  old key's ``notary.rotate.v1`` signature approves it, or an operator who checked the person's
  ID document against the party's identity; the new key proves itself with its own
  ``notary.enrol.v2`` proof over the unchanged commitment.
- **Unbinding** undoes ``notary identity verify``.

Each is recorded in the audit trail and logged as a leaf in the transaction that makes it, and
contracts signed before keep verifying with the key that signed them (``party_keys``); their
bundles then carry the event (``later/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notary.errors import NotFound, Unprocessable
from notary.services import auth
from notary.services.audit import trail as audit
from notary.services.ceremony import identity
from notary.services.ceremony.parties import (
    BadProof,
    KeyInUse,
    KeyRevoked,
    WeakPublicKey,
    add_party_key,
    bind_key,
    party_key,
    revoked_anywhere,
)
from notary.services.clock import Clock
from notary.services.keys.events import log_binding, log_key_event
from notary.storage.access_models import IdentityVerification
from notary.storage.db import Database
from notary.storage.models import KeyIdentity, KeyStatus, Party, PartyKey, Platform
from notary.verify import key_events, payloads
from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey, WeakKey


class BadKeySignature(InvalidSignature):
    """A ``notary.revoke.v1`` or ``notary.rotate.v1`` signature that does not verify (422
    ``bad_signature``, as every signature that does not verify)."""


class RevocationIncomplete(Unprocessable):
    """A key holder's revocation that does not sign for every party the key acts for."""

    code = "revocation_incomplete"


class IdentityMismatch(Unprocessable):
    """The ID number an operator read from the document is not the party's."""

    code = "identity_mismatch"


class SameKey(KeyInUse):
    """The new key of a rotation is the party's current key, or one it had before."""


@dataclass(frozen=True)
class Revoked:
    """What a revocation did: the key, and per party the leaf that records it."""

    key_fingerprint: str
    revoked_at: str
    leaves: dict[str, int]
    unbound: bool

    def answer(self) -> dict[str, Any]:
        return {
            "key_fingerprint": self.key_fingerprint,
            "status": KeyStatus.REVOKED.value,
            "revoked_at": self.revoked_at,
            "parties": [
                {"party_id": party, "leaf_index": leaf} for party, leaf in sorted(self.leaves.items())
            ],
            "identity_unbound": self.unbound,
        }


@dataclass(frozen=True)
class Rotated:
    """What a rotation did."""

    party_id: str
    old_key_fingerprint: str
    key_fingerprint: str
    rotated_at: str
    leaf_index: int

    def answer(self) -> dict[str, Any]:
        return {
            "party_id": self.party_id,
            "old_key_fingerprint": self.old_key_fingerprint,
            "key_fingerprint": self.key_fingerprint,
            "rotated_at": self.rotated_at,
            "leaf_index": self.leaf_index,
        }


@dataclass(frozen=True)
class Unbound:
    """What undoing a binding did."""

    key_fingerprint: str
    unbound_at: str
    leaf_index: int

    def answer(self) -> dict[str, Any]:
        return {
            "key_fingerprint": self.key_fingerprint,
            "unbound_at": self.unbound_at,
            "leaf_index": self.leaf_index,
        }


@dataclass(frozen=True)
class NewKey:
    """The key a rotation brings: its PEM and its ``notary.enrol.v2`` proof (base64)."""

    public_key_pem: str
    enrolment_proof: str


class KeyLifecycle:
    """Revocation, rotation and unbinding. Dependencies are passed in."""

    def __init__(self, db: Database, clock: Clock, cipher: identity.PiiCipher) -> None:
        self.db = db
        self.clock = clock
        self.cipher = cipher

    # --- reading ------------------------------------------------------------------------------

    def keys_of_holder(self, key_fingerprint: str) -> list[dict[str, Any]]:
        """``GET /me/keys``: every party this key acts for, each with every key it has had
        (newest first), flagged ``current`` and ``yours``, and the party's identity commitment (a
        salted hash, as every record carries it). Nothing personal but masked forms."""
        with self.db.read() as session:
            rows = session.execute(
                select(Party, Platform)
                .join(Platform, Platform.id == Party.platform_id)
                .join(PartyKey, PartyKey.party_id == Party.id)
                .where(PartyKey.key_fingerprint == key_fingerprint, PartyKey.status == KeyStatus.ACTIVE)
                .order_by(Party.created_at, Party.id)
            ).all()
            keys: dict[str, list[PartyKey]] = {party.id: [] for party, _ in rows}
            if keys:
                for row in session.execute(
                    select(PartyKey)
                    .where(PartyKey.party_id.in_(list(keys)))
                    .order_by(PartyKey.added_at.desc(), PartyKey.key_fingerprint)
                ).scalars():
                    keys[row.party_id].append(row)
            return [
                {
                    "party_id": party.id,
                    "platform": {
                        "platform_id": platform.id,
                        "name": platform.name,
                        "status": platform.status,
                    },
                    "name": party.name,
                    "id_type": party.id_type,
                    "id_number_masked": party.id_number_masked,
                    # What a new key's notary.enrol.v2 proof covers in a rotation (as in the record).
                    "identity_commitment": party.identity_commitment,
                    "keys": [_key_answer(row, party, key_fingerprint) for row in keys[party.id]],
                }
                for party, platform in rows
            ]

    def key_summary(self, key_fingerprint: str) -> dict[str, Any]:
        """What an operator is shown before revoking a key: each party it was ever a key of
        (platform, name, masked ID number, the key's status there) and its identity binding."""
        with self.db.read() as session:
            rows = session.execute(
                select(PartyKey, Party, Platform)
                .join(Party, Party.id == PartyKey.party_id)
                .join(Platform, Platform.id == Party.platform_id)
                .where(PartyKey.key_fingerprint == key_fingerprint)
                .order_by(Party.id)
            ).all()
            verification = session.get(IdentityVerification, key_fingerprint)
            return {
                "key_fingerprint": key_fingerprint,
                "parties": [
                    {
                        "party_id": party.id,
                        "platform": {"platform_id": platform.id, "name": platform.name},
                        "name": party.name,
                        "id_number_masked": party.id_number_masked,
                        "status": row.status,
                    }
                    for row, party, platform in rows
                ],
                "identity_binding": None
                if verification is None
                else {
                    "id_type": verification.id_type,
                    "id_number_masked": verification.id_number_masked,
                    "verified_by": verification.verified_by,
                    "verified_at": verification.verified_at,
                },
            }

    # --- revocation ---------------------------------------------------------------------------

    def revoke_by_holder(
        self, holder: str, *, key_fingerprint: str, reason: str, signatures: Mapping[str, str]
    ) -> Revoked:
        """Revoke ``key_fingerprint`` for every party it acts for, each approved by a
        ``notary.revoke.v1`` signature of ``holder`` (the key itself, or another active key of
        that party) given in ``signatures`` by party id.

        Raises ``validation_failed`` (reason), :class:`NotFound` (the key acts for no party the
        holder may revoke it for; also an unknown key), :class:`RevocationIncomplete` (a party
        left out, or one too many), :class:`BadKeySignature`; nothing is changed when it raises.
        """
        _check_reason(reason, key_events.REVOCATION_REASONS)
        now = payloads.format_time(self.clock())
        with self.db.write() as session:
            rows = _active_rows(session, key_fingerprint)
            holder_keys = {row.party_id: row for row in _active_rows(session, holder)}
            if not rows or any(row.party_id not in holder_keys for row in rows):
                raise NotFound("no such key among this key holder's parties")
            wanted = {row.party_id for row in rows}
            if set(signatures) != wanted:
                raise RevocationIncomplete(
                    "a key is revoked for every party it acts for at once: sign the revocation for each",
                    details={"party_ids": sorted(wanted)},
                )
            parties = {row.party_id: session.get(Party, row.party_id) for row in rows}
            for row in rows:
                party = parties[row.party_id]
                assert party is not None
                payload = key_events.revoke_payload(
                    platform_id=party.platform_id,
                    party_id=party.id,
                    key_fingerprint=key_fingerprint,
                    reason=reason,
                )
                _verify(holder_keys[row.party_id], signatures[row.party_id], payload, "notary.revoke.v1")
            audit.record(
                session,
                at=now,
                actor=audit.Actor(auth.PARTY, holder),
                action="key.revoke",
                object_kind="key",
                object_id=key_fingerprint,
                details={"reason": reason, "parties": sorted(wanted)},
            )
            leaves = {
                row.party_id: _revoke(
                    session,
                    row,
                    parties[row.party_id],
                    reason=reason,
                    by={"kind": "party", "key_fingerprint": holder, "signature": signatures[row.party_id]},
                    at=now,
                )
                for row in rows
            }
            unbound = _after_revocation(
                session, key_fingerprint, actor=audit.Actor(auth.PARTY, holder), at=now
            )
        return Revoked(key_fingerprint, now, leaves, unbound)

    def revoke_by_operator(
        self, key_fingerprint: str, *, reason: str, operator: str, party_id: str | None = None
    ) -> Revoked:
        """Revoke ``key_fingerprint`` for every party it was ever a key of (or only
        ``party_id``), active or replaced, as an operator; an identity binding of the key goes
        with it once no party is left to it. Raises ``validation_failed``, :class:`NotFound`
        (no such key, or not of that party) or :class:`KeyRevoked` (already revoked there)."""
        _check_reason(reason, key_events.REVOCATION_REASONS)
        now = payloads.format_time(self.clock())
        actor = audit.operator(operator)
        with self.db.write() as session:
            query = select(PartyKey).where(PartyKey.key_fingerprint == key_fingerprint)
            if party_id is not None:
                query = query.where(PartyKey.party_id == party_id)
            rows = list(session.execute(query.order_by(PartyKey.party_id)).scalars())
            verification = session.get(IdentityVerification, key_fingerprint)
            if not rows and verification is None:
                raise NotFound("no party has this key, and no identity is bound to it")
            live = [row for row in rows if row.status != KeyStatus.REVOKED]
            if rows and not live:
                raise KeyRevoked("this key is revoked already", details={"revoked_at": rows[0].retired_at})
            entry = audit.record(
                session,
                at=now,
                actor=actor,
                action="key.revoke",
                object_kind="key",
                object_id=key_fingerprint,
                details={"reason": reason, "parties": [row.party_id for row in live]},
            )
            by = {"kind": "operator", "operator": actor.id, "audit_sequence": entry.sequence}
            leaves = {}
            for row in live:
                party = session.get(Party, row.party_id)
                assert party is not None
                leaves[row.party_id] = _revoke(session, row, party, reason=reason, by=by, at=now)
            unbound = _after_revocation(session, key_fingerprint, actor=actor, at=now)
        return Revoked(key_fingerprint, now, leaves, unbound)

    # --- rotation -----------------------------------------------------------------------------

    def rotate_by_old_key(self, holder: str, *, party_id: str, new_key: NewKey, signature: str) -> Rotated:
        """Replace ``holder``, the active key of ``party_id``, by ``new_key``, approved by the
        old key's ``notary.rotate.v1`` signature.

        Raises :class:`NotFound` (not a party of this key), ``validation_failed`` / ``weak_key``
        (the new key), :class:`SameKey`, :class:`KeyRevoked`, ``key_in_use`` (the new key is
        another identity's, or another party's on this platform), ``bad_proof`` (the new key's
        enrolment proof) or :class:`BadKeySignature` (the old key's approval).
        """
        key = _public_key(new_key.public_key_pem)
        now = payloads.format_time(self.clock())
        with self.db.write() as session:
            old = party_key(session, party_id, holder)
            party = session.get(Party, party_id)
            if (
                old is None
                or old.status != KeyStatus.ACTIVE
                or party is None
                or party.key_fingerprint != holder
            ):
                raise NotFound("no such party among this key holder's")
            proof = self._check_new_key(session, party, key, new_key.enrolment_proof, now)
            payload = key_events.rotate_payload(
                platform_id=party.platform_id,
                party_id=party.id,
                old_key_fingerprint=holder,
                new_key_fingerprint=key.fingerprint,
                new_algorithm=key.algorithm,
            )
            _verify(old, signature, payload, "notary.rotate.v1")
            audit.record(
                session,
                at=now,
                actor=audit.Actor(auth.PARTY, holder),
                action="key.rotate",
                object_kind="party",
                object_id=party.id,
                details={"old_key_fingerprint": holder, "new_key_fingerprint": key.fingerprint},
            )
            leaf = _rotate(session, party, old, key, proof, {"kind": "old_key", "signature": signature}, now)
        return Rotated(party_id, holder, key.fingerprint, now, leaf)

    def rotate_by_operator(
        self, *, party_id: str, new_key: NewKey, id_type: str, id_number: str, operator: str
    ) -> Rotated:
        """Replace the key of ``party_id`` by ``new_key`` for a person an operator has checked:
        ``id_type`` and ``id_number`` as read from the document must be the party's. The old key
        (lost, perhaps stolen) is replaced, not revoked: revoke it too if someone may hold it.

        Raises :class:`NotFound`, ``bad_id_number``, :class:`IdentityMismatch`, and what
        :meth:`rotate_by_old_key` raises for the new key.
        """
        key = _public_key(new_key.public_key_pem)
        number = identity.check_id_number(id_type, id_number)
        now = payloads.format_time(self.clock())
        actor = audit.operator(operator)
        with self.db.write() as session:
            party = session.get(Party, party_id)
            if party is None:
                raise NotFound("no such party")
            if party.id_type != id_type or self.cipher.lookup(id_type, number) != party.id_lookup:
                raise IdentityMismatch("this is not the identity the party was enrolled with")
            old = party_key(session, party.id, party.key_fingerprint)
            assert old is not None
            proof = self._check_new_key(session, party, key, new_key.enrolment_proof, now)
            entry = audit.record(
                session,
                at=now,
                actor=actor,
                action="key.rotate",
                object_kind="party",
                object_id=party.id,
                details={
                    "old_key_fingerprint": old.key_fingerprint,
                    "new_key_fingerprint": key.fingerprint,
                    "id_number_masked": party.id_number_masked,
                },
            )
            approval = {"kind": "operator", "operator": actor.id, "audit_sequence": entry.sequence}
            old_fingerprint = old.key_fingerprint
            leaf = _rotate(session, party, old, key, proof, approval, now)
        return Rotated(party_id, old_fingerprint, key.fingerprint, now, leaf)

    def _check_new_key(
        self, session: Session, party: Party, key: PublicKey, proof_base64: str, now: str
    ) -> bytes:
        """The new key's enrolment proof, once everything about the new key checks."""
        if party_key(session, party.id, key.fingerprint) is not None:
            raise SameKey("the new key must be one this party never had")
        if revoked_anywhere(session, key.fingerprint):
            raise KeyRevoked("the new key was revoked; make another")
        taken = session.execute(
            select(Party.id).where(
                Party.platform_id == party.platform_id, Party.key_fingerprint == key.fingerprint
            )
        ).first()
        if taken is not None:
            raise KeyInUse("the new key is another party's key on this platform")
        bind_key(session, key.fingerprint, party.id_lookup, now=now)
        payload = payloads.enrol_payload_v2(
            platform_id=party.platform_id,
            key_fingerprint=key.fingerprint,
            identity_commitment=party.identity_commitment,
        )
        try:
            proof = b64decode(proof_base64, what="new_enrolment_proof")
            key.verify(proof, payload)
        except (MalformedInput, InvalidSignature) as exc:
            raise BadProof(
                "the new key's proof does not verify over its notary.enrol.v2 payload for the party's commitment"
            ) from exc
        return proof

    # --- identity bindings --------------------------------------------------------------------

    def unbind(self, key_fingerprint: str, *, reason: str, operator: str) -> Unbound:
        """Undo ``notary identity verify`` for this key: it no longer reads contracts naming
        that identity under other keys, and later signatures are ``platform`` assurance again.
        Raises ``validation_failed`` (reason) or :class:`NotFound` (no binding)."""
        _check_reason(reason, key_events.UNBINDING_REASONS)
        now = payloads.format_time(self.clock())
        actor = audit.operator(operator)
        with self.db.write() as session:
            if session.get(IdentityVerification, key_fingerprint) is None:
                raise NotFound("no identity is bound to this key by an operator")
            leaf = _unbind(session, key_fingerprint, reason=reason, actor=actor, at=now)
        return Unbound(key_fingerprint, now, leaf)


def _key_answer(row: PartyKey, party: Party, holder: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "key_fingerprint": row.key_fingerprint,
        "algorithm": row.algorithm,
        "status": row.status,
        "added_at": row.added_at,
        "current": row.key_fingerprint == party.key_fingerprint,
        "yours": row.key_fingerprint == holder,
    }
    if row.retired_at is not None:
        answer["retired_at"] = row.retired_at
    if row.reason is not None:
        answer["reason"] = row.reason
    return answer


def _check_reason(reason: str, allowed: tuple[str, ...]) -> None:
    if reason not in allowed:
        raise Unprocessable(
            f"reason must be one of {', '.join(allowed)}",
            details={"reason": [f"one of {', '.join(allowed)}"]},
        )


def _public_key(pem: str) -> PublicKey:
    try:
        return PublicKey.from_pem(pem)
    except WeakKey as exc:
        raise WeakPublicKey(exc.message, details={"new_public_key": [exc.message]}) from exc
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"new_public_key": [exc.message]}) from exc


def _verify(signer: PartyKey, signature_base64: str, payload: bytes, purpose: str) -> None:
    try:
        PublicKey.from_der(signer.public_key_der).verify(
            b64decode(signature_base64, what="signature"), payload
        )
    except (MalformedInput, InvalidSignature) as exc:
        raise BadKeySignature(
            f"the signature does not verify over the {purpose} payload with this key"
        ) from exc


def _active_rows(session: Session, key_fingerprint: str) -> list[PartyKey]:
    return list(
        session.execute(
            select(PartyKey)
            .where(PartyKey.key_fingerprint == key_fingerprint, PartyKey.status == KeyStatus.ACTIVE)
            .order_by(PartyKey.party_id)
            .with_for_update()
        ).scalars()
    )


def _revoke(
    session: Session, row: PartyKey, party: Party, *, reason: str, by: dict[str, Any], at: str
) -> int:
    """Mark the row revoked and log its ``notary-key-revocation/1`` leaf; returns its index."""
    sequence = log_key_event(
        session,
        key_events.KEY_REVOCATION,
        lambda sequence, previous: key_events.key_revocation_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            platform_id=party.platform_id,
            party_id=party.id,
            key_fingerprint=row.key_fingerprint,
            reason=reason,
            by=by,
        ),
        key_fingerprint=row.key_fingerprint,
        party_id=party.id,
        at=at,
    )
    row.status, row.retired_at, row.reason, row.event_sequence = KeyStatus.REVOKED, at, reason, sequence
    return sequence


def _after_revocation(session: Session, key_fingerprint: str, *, actor: audit.Actor, at: str) -> bool:
    """Once a key acts for no party: its tokens go, and so does an operator's binding of it
    (reason ``revoked``). Returns whether a binding was undone."""
    session.flush()
    if _active_rows(session, key_fingerprint):
        return False
    auth.revoke_tokens(session, kind=auth.PARTY, subject_id=key_fingerprint, now=at)
    if session.get(IdentityVerification, key_fingerprint) is None:
        return False
    _unbind(session, key_fingerprint, reason="revoked", actor=actor, at=at)
    return True


def _rotate(
    session: Session,
    party: Party,
    old: PartyKey,
    key: PublicKey,
    proof: bytes,
    approval: dict[str, Any],
    at: str,
) -> int:
    sequence = log_key_event(
        session,
        key_events.KEY_ROTATION,
        lambda sequence, previous: key_events.key_rotation_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            platform_id=party.platform_id,
            party_id=party.id,
            identity_commitment=party.identity_commitment,
            old_key_fingerprint=old.key_fingerprint,
            new_key_fingerprint=key.fingerprint,
            new_algorithm=key.algorithm,
            new_enrolment_proof=b64encode(proof),
            approval=approval,
        ),
        key_fingerprint=old.key_fingerprint,
        party_id=party.id,
        at=at,
    )
    if old.status == KeyStatus.ACTIVE:  # a revoked key stays revoked: the stronger word
        old.status, old.retired_at, old.event_sequence = KeyStatus.ROTATED, at, sequence
    add_party_key(session, party.id, key, proof, at=at)
    party.public_key_der, party.key_fingerprint, party.algorithm = (
        key.spki_der,
        key.fingerprint,
        key.algorithm,
    )
    party.enrol_proof = proof
    session.flush()
    if not _active_rows(session, old.key_fingerprint):
        auth.revoke_tokens(session, kind=auth.PARTY, subject_id=old.key_fingerprint, now=at)
    return sequence


#: Who undid a binding, in its leaf, when the key holder's own revocation undid it.
KEY_HOLDER = "key holder"


def _unbind(session: Session, key_fingerprint: str, *, reason: str, actor: audit.Actor, at: str) -> int:
    """Delete the binding (and the key's identity row when only the binding made it), audited
    and logged; returns the leaf index."""
    verification = session.get(IdentityVerification, key_fingerprint)
    assert verification is not None
    entry = audit.record(
        session,
        at=at,
        actor=actor,
        action="identity.unbind",
        object_kind="key",
        object_id=key_fingerprint,
        details={
            "reason": reason,
            "id_type": verification.id_type,
            "id_number_masked": verification.id_number_masked,
        },
    )
    enrolled = session.execute(
        select(Party.id)
        .join(PartyKey, PartyKey.party_id == Party.id)
        .where(PartyKey.key_fingerprint == key_fingerprint, Party.id_lookup == verification.id_lookup)
        .limit(1)
    ).first()
    if enrolled is None:
        session.execute(delete(KeyIdentity).where(KeyIdentity.key_fingerprint == key_fingerprint))
    session.delete(verification)
    return log_binding(
        session,
        key_fingerprint=key_fingerprint,
        operator=actor.id if actor.kind == audit.OPERATOR else KEY_HOLDER,
        audit_sequence=entry.sequence,
        at=at,
        unbinding_reason=reason,
    )
