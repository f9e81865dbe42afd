"""Enrolling parties: a person on one platform, bound to one key by a proof of possession."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import Conflict, NotFound, Unprocessable
from notary.services.ceremony import identity
from notary.services.text import check_text
from notary.storage.db import insert_new
from notary.storage.ids import PARTY, new_id
from notary.storage.models import KeyIdentity, KeyStatus, Party, PartyKey
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey, WeakKey


class BadProof(Unprocessable):
    """The enrolment proof does not verify with the key over the enrolment payload."""

    code = "bad_proof"


class WeakPublicKey(Unprocessable, WeakKey):
    """A small-order or non-canonically encoded Ed25519 key (one that "verifies" any message),
    offered for enrolment: 422 ``weak_key``."""

    code = WeakKey.code


class PartyExists(Conflict):
    """This identity is already enrolled on this platform, with another key (a new key for the
    same person is a rotation: ``docs/api.md``, "Keys")."""

    code = "party_exists"


class KeyRevoked(Conflict):
    """This key was revoked: it signs, logs in and enrols for nobody any more."""

    code = "key_revoked"


class KeyRetired(Conflict):
    """This key was replaced by another (a rotation): it no longer signs for the party."""

    code = "key_retired"


class KeyInUse(Conflict):
    """This key is already bound to another identity (a key belongs to one identity only)."""

    code = "key_in_use"


@dataclass(frozen=True)
class Enrolment:
    """What a platform sends to enrol a party (``POST /parties``)."""

    name: str
    id_number: str
    public_key_pem: str
    proof: str
    id_type: str = "cn_resident"
    phone: str | None = None
    #: base64 of the 32 bytes the party's own tool drew; None from a client still sending a
    #: round-1 ``notary.enrol.v1`` proof (then the notary draws the salt: docs/formats.md).
    identity_salt: str | None = None


@dataclass(frozen=True)
class EnrolmentResult:
    party: Party
    created: bool


def enrol(
    session: Session,
    secrets: identity.IdentitySecrets,
    *,
    platform_id: str,
    request: Enrolment,
    now: str,
) -> EnrolmentResult:
    """Enrol (or find again) a party. Raises :class:`Unprocessable` subclasses (``validation_failed``,
    ``weak_key``, ``bad_id_number``, ``bad_proof``) or :class:`Conflict` subclasses
    (``party_exists``, ``key_in_use``).

    The party's own tool drew ``identity_salt``; the notary recomputes the identity commitment
    from it and the normalised number and checks the ``notary.enrol.v2`` proof over it. The
    commitment is stored in clear (it is what records carry), the salt encrypted. Enrolling the
    same identity and key again finds the party as it is (the first commitment stays).

    A round-1 client sends no salt and a ``notary.enrol.v1`` proof over the unsalted hash: it
    is still accepted, the notary draws the salt, and the v1 proof (which would confirm guesses
    of that hash) is kept only encrypted; the party's records then carry no enrolment proof
    (``commitment_by: "notary"`` in a verification report).
    """
    cipher = secrets.cipher
    name = check_text(request.name, field="name", printed=True).strip()
    if not name or len(name) > 200:
        raise Unprocessable("name must be 1 to 200 characters", details={"name": ["length"]})
    number = identity.check_id_number(request.id_type, request.id_number)
    phone = identity.check_phone(request.phone) if request.phone else None
    try:
        key = PublicKey.from_pem(request.public_key_pem)
    except WeakKey as exc:
        raise WeakPublicKey(exc.message, details={"public_key": [exc.message]}) from exc
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"public_key": [exc.message]}) from exc
    try:
        proof = b64decode(request.proof, what="proof")
    except MalformedInput as exc:
        raise BadProof("the proof is not base64") from exc
    if request.identity_salt is None:
        salt, enrol_proof, legacy_proof = _round_one_proof(key, proof, platform_id, request.id_type, number)
    else:
        salt, enrol_proof, legacy_proof = (
            _enrolment_proof(key, proof, platform_id, request, number),
            proof,
            None,
        )
    commitment = payloads.identity_commitment(
        payloads.identity_opening(id_type=request.id_type, id_number=number, salt=salt)
    )

    if revoked_anywhere(session, key.fingerprint):
        raise KeyRevoked("this key was revoked; enrol a new key")
    lookup = cipher.lookup(request.id_type, number)
    same_identity = session.execute(
        select(Party).where(Party.platform_id == platform_id, Party.id_lookup == lookup)
    ).scalar_one_or_none()
    if same_identity is not None:
        if same_identity.key_fingerprint == key.fingerprint:
            return EnrolmentResult(same_identity, created=False)
        raise PartyExists(
            "this identity is already enrolled on this platform with another key; "
            "a new key for the same person is a key rotation (POST /me/keys/rotate, or an operator's "
            "notary party rotate-key)"
        )
    bind_key(session, key.fingerprint, lookup, now=now)

    party = Party(
        id=new_id(PARTY),
        platform_id=platform_id,
        name=name,
        id_type=request.id_type,
        id_lookup=lookup,
        identity_commitment=commitment,
        identity_salt_enc=secrets.seal_salt(salt),
        id_number_enc=cipher.encrypt(number, context=secrets.ID_NUMBER_CONTEXT),
        id_number_masked=identity.mask_id_number(request.id_type, number),
        phone_enc=cipher.encrypt(phone, context="party.phone") if phone else None,
        phone_masked=identity.mask_phone(phone) if phone else None,
        public_key_der=key.spki_der,
        key_fingerprint=key.fingerprint,
        algorithm=key.algorithm,
        enrol_proof=enrol_proof,
        legacy_enrol_proof_enc=None if legacy_proof is None else secrets.seal_proof(legacy_proof),
        created_at=now,
    )
    session.add(party)
    session.flush()
    add_party_key(session, party.id, key, enrol_proof, at=now)
    session.flush()
    return EnrolmentResult(party, created=True)


def add_party_key(session: Session, party_id: str, key: PublicKey, proof: bytes | None, *, at: str) -> None:
    """Record ``key`` as the party's active key (``party_keys``), with its enrolment proof."""
    session.add(
        PartyKey(
            party_id=party_id,
            key_fingerprint=key.fingerprint,
            public_key_der=key.spki_der,
            algorithm=key.algorithm,
            enrol_proof=proof,
            added_at=at,
            status=KeyStatus.ACTIVE,
        )
    )


def revoked_anywhere(session: Session, key_fingerprint: str) -> bool:
    """Whether this key was revoked for any party (it is then enrolled for nobody again)."""
    return (
        session.execute(
            select(PartyKey.party_id)
            .where(PartyKey.key_fingerprint == key_fingerprint, PartyKey.status == KeyStatus.REVOKED)
            .limit(1)
        ).first()
        is not None
    )


def party_key(session: Session, party_id: str, key_fingerprint: str) -> PartyKey | None:
    """The row of one of the party's keys (current or past), if it ever had it."""
    return session.get(PartyKey, (party_id, key_fingerprint))


class KeyState(Protocol):
    """What :func:`check_live` reads of a key: a :class:`PartyKey` row, or a plain row of it."""

    @property
    def status(self) -> str: ...

    @property
    def retired_at(self) -> str | None: ...


def check_live(row: KeyState | None) -> None:
    """Raise :class:`KeyRevoked` or :class:`KeyRetired` unless ``row`` is an active key."""
    if row is None or row.status == KeyStatus.REVOKED:
        raise KeyRevoked(
            "this key was revoked; it no longer signs for this party",
            details={"revoked_at": row.retired_at} if row is not None else None,
        )
    if row.status != KeyStatus.ACTIVE:
        raise KeyRetired(
            "this key was replaced by a newer key of the same party; sign with that one",
            details={"retired_at": row.retired_at},
        )


def live_parties_of_key(key_fingerprint: str) -> Any:
    """A subquery of the ids of every party this key is an active key of."""
    return select(PartyKey.party_id).where(
        PartyKey.key_fingerprint == key_fingerprint, PartyKey.status == KeyStatus.ACTIVE
    )


def bind_key(session: Session, key_fingerprint: str, lookup: str, *, now: str) -> None:
    """Bind the key to the identity ``lookup`` for good (``key_identities``), or find it
    already bound to it. Raises ``key_in_use`` when it is bound to another identity.

    The insert does nothing when the key has a row; on PostgreSQL it first waits for a
    transaction that is inserting the same key, so of two simultaneous bindings of one key
    to two identities exactly one commits, and the other reads the winner and refuses.
    """
    insert_new(
        session,
        KeyIdentity,
        [{"key_fingerprint": key_fingerprint, "id_lookup": lookup, "bound_at": now}],
        ["key_fingerprint"],
    )
    bound = session.execute(
        select(KeyIdentity.id_lookup).where(KeyIdentity.key_fingerprint == key_fingerprint)
    ).scalar_one()
    if bound != lookup:
        raise KeyInUse("this key is already bound to another identity (a key belongs to one identity only)")


def _enrolment_proof(
    key: PublicKey, proof: bytes, platform_id: str, request: Enrolment, number: str
) -> bytes:
    """The salt, once the ``notary.enrol.v2`` proof over its commitment verifies."""
    try:
        salt = b64decode(request.identity_salt or "", what="identity_salt")
        if len(salt) != payloads.SALT_BYTES:
            raise MalformedInput(f"identity_salt must be {payloads.SALT_BYTES} random bytes")
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"identity_salt": [exc.message]}) from exc
    commitment = payloads.identity_commitment(
        payloads.identity_opening(id_type=request.id_type, id_number=number, salt=salt)
    )
    payload = payloads.enrol_payload_v2(
        platform_id=platform_id, key_fingerprint=key.fingerprint, identity_commitment=commitment
    )
    try:
        key.verify(proof, payload)
    except InvalidSignature as exc:
        raise BadProof("the proof does not verify over the enrolment payload with this key") from exc
    return salt


def _round_one_proof(
    key: PublicKey, proof: bytes, platform_id: str, id_type: str, number: str
) -> tuple[bytes, None, bytes]:
    """A fresh salt the notary draws, once a round-1 ``notary.enrol.v1`` proof verifies."""
    payload = payloads.enrol_payload(
        platform_id=platform_id,
        key_fingerprint=key.fingerprint,
        identity_sha256=payloads.identity_sha256(id_type, number),
    )
    try:
        key.verify(proof, payload)
    except InvalidSignature as exc:
        raise BadProof("the proof does not verify over the enrolment payload with this key") from exc
    return os.urandom(payloads.SALT_BYTES), None, proof


def get_party(session: Session, party_id: str, *, platform_id: str) -> Party:
    """A party of this platform; another platform's party is :class:`NotFound`, like a missing one."""
    party = session.get(Party, party_id)
    if party is None or party.platform_id != platform_id:
        raise NotFound("no such party")
    return party


def party_answer(party: Party) -> dict[str, object]:
    """The public view of a party: masked personal data only."""
    answer: dict[str, object] = {
        "party_id": party.id,
        "platform_id": party.platform_id,
        "name": party.name,
        "id_type": party.id_type,
        "id_number_masked": party.id_number_masked,
        "key_fingerprint": party.key_fingerprint,
        "algorithm": party.algorithm,
        "identity_commitment": party.identity_commitment,
        "created_at": party.created_at,
    }
    if party.phone_masked:
        answer["phone_masked"] = party.phone_masked
    return answer
