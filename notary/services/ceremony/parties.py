"""Enrolling parties: a person on one platform, bound to one key by a proof of possession."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import Conflict, NotFound, Unprocessable
from notary.services.ceremony import identity
from notary.services.text import check_text
from notary.storage.db import insert_new
from notary.storage.ids import PARTY, new_id
from notary.storage.models import KeyIdentity, Party
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey


class BadProof(Unprocessable):
    """The enrolment proof does not verify with the key over the enrolment payload."""

    code = "bad_proof"


class PartyExists(Conflict):
    """This identity is already enrolled on this platform, with another key."""

    code = "party_exists"


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


@dataclass(frozen=True)
class EnrolmentResult:
    party: Party
    created: bool


def enrol(
    session: Session, cipher: identity.PiiCipher, *, platform_id: str, request: Enrolment, now: str
) -> EnrolmentResult:
    """Enrol (or find again) a party. Raises :class:`Unprocessable` subclasses (``validation_failed``,
    ``bad_id_number``, ``bad_proof``) or :class:`Conflict` subclasses (``party_exists``, ``key_in_use``).
    """
    name = check_text(request.name, field="name", printed=True).strip()
    if not name or len(name) > 200:
        raise Unprocessable("name must be 1 to 200 characters", details={"name": ["length"]})
    number = identity.check_id_number(request.id_type, request.id_number)
    phone = identity.check_phone(request.phone) if request.phone else None
    try:
        key = PublicKey.from_pem(request.public_key_pem)
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"public_key": [exc.message]}) from exc
    identity_sha256 = payloads.identity_sha256(request.id_type, number)
    enrol_payload = payloads.enrol_payload(
        platform_id=platform_id, key_fingerprint=key.fingerprint, identity_sha256=identity_sha256
    )
    try:
        proof = b64decode(request.proof, what="proof")
        key.verify(proof, enrol_payload)
    except (MalformedInput, InvalidSignature) as exc:
        raise BadProof("the proof does not verify over the enrolment payload with this key") from exc

    lookup = cipher.lookup(request.id_type, number)
    same_identity = session.execute(
        select(Party).where(Party.platform_id == platform_id, Party.id_lookup == lookup)
    ).scalar_one_or_none()
    if same_identity is not None:
        if same_identity.key_fingerprint == key.fingerprint:
            return EnrolmentResult(same_identity, created=False)
        raise PartyExists("this identity is already enrolled on this platform with another key")
    bind_key(session, key.fingerprint, lookup, now=now)

    party = Party(
        id=new_id(PARTY),
        platform_id=platform_id,
        name=name,
        id_type=request.id_type,
        id_lookup=lookup,
        identity_sha256=identity_sha256,
        id_number_enc=cipher.encrypt(number, context="party.id_number"),
        id_number_masked=identity.mask_id_number(request.id_type, number),
        phone_enc=cipher.encrypt(phone, context="party.phone") if phone else None,
        phone_masked=identity.mask_phone(phone) if phone else None,
        public_key_der=key.spki_der,
        key_fingerprint=key.fingerprint,
        algorithm=key.algorithm,
        enrol_proof=proof,
        created_at=now,
    )
    session.add(party)
    session.flush()
    return EnrolmentResult(party, created=True)


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
        "created_at": party.created_at,
    }
    if party.phone_masked:
        answer["phone_masked"] = party.phone_masked
    return answer
