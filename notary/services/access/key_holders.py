"""Key holders: the identity an operator verified for a key, and the contracts a key holder sees.

A key holder sees every contract of every party enrolled with its key, on every platform,
defunct ones included. Contracts that name the same person under another key (possibly one a
platform made up) are added only once an operator has checked the person's identity document
and bound this key to that identity (``notary identity verify``), so no platform can open
another platform's records by enrolling someone's ID number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from notary.errors import NotFound, Unprocessable
from notary.services import auth
from notary.services.audit import trail as audit
from notary.services.ceremony import identity
from notary.services.ceremony.parties import (
    KeyInUse,
    KeyRevoked,
    bind_key,
    live_parties_of_key,
    revoked_anywhere,
)
from notary.services.ceremony.signatures import effective_status
from notary.services.keys.events import log_binding
from notary.storage.access_models import IdentityVerification
from notary.storage.models import Contract, Party, Platform
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput
from notary.verify.keys import PublicKey

MAX_PAGE = 500
DEFAULT_PAGE = 100
_TERMS_SHOWN = ("amount", "currency", "annual_rate", "term_months", "start_date", "sign_by", "title")


@dataclass(frozen=True)
class Verified:
    verification: IdentityVerification
    created: bool


def verify_identity(
    session: Session,
    cipher: identity.PiiCipher,
    *,
    id_type: str,
    id_number: str,
    public_key_pem: str | bytes,
    operator: str,
    now: str,
) -> Verified:
    """Bind a key to the identity an operator has checked in person (idempotent for the same pair).

    Raises ``bad_id_number``, ``validation_failed`` (not a usable public key), ``key_revoked`` or ``key_in_use``
    (the key is already bound to another identity, by a verification or an enrolment). The act
    is recorded in the audit trail with the masked ID number only.
    """
    number = identity.check_id_number(id_type, id_number)
    try:
        key = PublicKey.from_pem(public_key_pem)
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"key": [exc.message]}) from exc
    if revoked_anywhere(session, key.fingerprint):
        raise KeyRevoked("this key was revoked; bind the person's new key")
    lookup = cipher.lookup(id_type, number)
    existing = session.get(IdentityVerification, key.fingerprint, with_for_update=True)
    if existing is not None:
        if existing.id_lookup != lookup:
            raise KeyInUse("this key is already verified for another identity")
        return Verified(existing, created=False)
    bind_key(session, key.fingerprint, lookup, now=now)
    verification = IdentityVerification(
        key_fingerprint=key.fingerprint,
        public_key_der=key.spki_der,
        algorithm=key.algorithm,
        id_type=id_type,
        id_lookup=lookup,
        id_number_masked=identity.mask_id_number(id_type, number),
        verified_by=operator,
        verified_at=now,
    )
    session.add(verification)
    session.flush()
    actor = audit.operator(operator)
    entry = audit.record(
        session,
        at=now,
        actor=actor,
        action="identity.verify",
        object_kind="key",
        object_id=key.fingerprint,
        details={"id_type": id_type, "id_number_masked": verification.id_number_masked},
    )
    log_binding(
        session, key_fingerprint=key.fingerprint, operator=actor.id, audit_sequence=entry.sequence, at=now
    )
    return Verified(verification, created=True)


def verification_answer(verification: IdentityVerification) -> dict[str, Any]:
    return {
        "key_fingerprint": verification.key_fingerprint,
        "id_type": verification.id_type,
        "id_number_masked": verification.id_number_masked,
        "verified_by": verification.verified_by,
        "verified_at": verification.verified_at,
    }


def verified_lookup(session: Session, key_fingerprint: str) -> str | None:
    """The identity lookup hash an operator verified for this key, if any."""
    return session.execute(
        select(IdentityVerification.id_lookup).where(IdentityVerification.key_fingerprint == key_fingerprint)
    ).scalar_one_or_none()


def parties_of_key(key_fingerprint: str, verified: str | None) -> Any:
    """A subquery of the ids of every party this key holder answers for (see the module doc);
    ``verified`` is the key's :func:`verified_lookup`.
    """
    condition = Party.id.in_(live_parties_of_key(key_fingerprint))
    if verified is not None:
        condition = or_(condition, Party.id_lookup == verified)
    return select(Party.id).where(condition)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def contracts_of_key(
    session: Session, key_fingerprint: str, *, now: str, cursor: str | None = None, limit: int = DEFAULT_PAGE
) -> Page:
    """``GET /me/contracts``: one page of contracts, ordered by id (creation time).

    Each item is one role the key holder plays in a contract. ``cursor`` is the ``next_cursor``
    of the previous page (opaque to clients).
    """
    limit = max(1, min(limit, MAX_PAGE))
    lookup = verified_lookup(session, key_fingerprint)
    mine = parties_of_key(key_fingerprint, lookup)
    query = (
        select(Contract, Platform)
        .join(Platform, Platform.id == Contract.platform_id)
        .where(or_(Contract.investor_id.in_(mine), Contract.borrower_id.in_(mine)))
        .order_by(Contract.id)
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(Contract.id > cursor)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    party_ids = {pid for contract, _ in rows for pid in (contract.investor_id, contract.borrower_id)}
    parties = {}
    if party_ids:
        found = session.execute(select(Party).where(Party.id.in_(party_ids))).scalars()
        parties = {party.id: party for party in found}
    items = [
        item
        for contract, platform in rows
        for item in _items(contract, platform, parties, key_fingerprint, lookup, now)
    ]
    return Page(items, rows[-1][0].id if more and rows else None)


def _items(
    contract: Contract,
    platform: Platform,
    parties: dict[str, Party],
    key_fingerprint: str,
    lookup: str | None,
    now: str,
) -> Iterator[dict[str, Any]]:
    terms = parse_json(contract.terms_json, what="stored terms")
    for role, party_id in (("investor", contract.investor_id), ("borrower", contract.borrower_id)):
        party = parties[party_id]
        own_key = party.key_fingerprint == key_fingerprint
        if not own_key and (lookup is None or party.id_lookup != lookup):
            continue
        item: dict[str, Any] = {
            "contract_id": contract.id,
            "platform": {"platform_id": platform.id, "name": platform.name, "status": platform.status},
            "role": role,
            "party_id": party.id,
            "status": effective_status(contract, now),
            "signed_with_your_key": own_key,
            "received_at": contract.received_at,
            "document_sha256": contract.document_sha256,
        }
        item.update({name: terms[name] for name in _TERMS_SHOWN if name in terms})
        yield item


def identity_opening(
    session: Session, secrets: identity.IdentitySecrets, *, key_fingerprint: str, party_id: str, now: str
) -> bytes:
    """``GET /me/parties/{party_id}/opening``: the opening of a party this key holder answers
    for, byte for byte the file ``notary verify --opening`` reads (docs/formats.md section 1).

    Raises :class:`NotFound` for any other party, exactly as for one that does not exist. The
    read is recorded in the audit trail (``identity.opening.read``; nothing personal in it).
    """
    mine = parties_of_key(key_fingerprint, verified_lookup(session, key_fingerprint))
    party = session.execute(
        select(Party).where(Party.id == party_id, Party.id.in_(mine))
    ).scalar_one_or_none()
    if party is None:
        raise NotFound("no such party")
    opening = secrets.opening(
        id_type=party.id_type, id_number_enc=party.id_number_enc, salt_enc=party.identity_salt_enc
    )
    audit.record(
        session,
        at=now,
        actor=audit.Actor(auth.PARTY, key_fingerprint),
        action="identity.opening.read",
        object_kind="party",
        object_id=party.id,
    )
    return opening
