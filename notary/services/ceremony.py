"""The signing ceremony: each role signs (or declines) the exact payload with its enrolled key.

The signature is the credential: whoever holds the enrolled key may post it, no token needed.
Order does not matter; the second signature makes the contract ``signed`` and the sequencer
seals it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import Conflict, NotFound, Unprocessable
from notary.services.clock import Clock
from notary.services.filing import AWAITING, signing_payload
from notary.storage.access_models import IdentityVerification
from notary.storage.db import Database
from notary.storage.models import Contract, Party, Signature
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey

SIGNED, SEALED, EXPIRED, DECLINED = "signed", "sealed", "expired", "declined"


class AlreadySigned(Conflict):
    code = "already_signed"


class ContractNotOpen(Conflict):
    code = "contract_not_open"


class WrongRole(Unprocessable):
    code = "wrong_role"


class BadSignature(Unprocessable):
    code = "bad_signature"


@dataclass(frozen=True)
class Act:
    """A signature (``notary.sign.v1``) or a decline (``notary.decline.v1``) as posted."""

    role: str
    signature: str
    purpose: str = payloads.PURPOSE_SIGN
    reason: str | None = None


def effective_status(contract: Contract, now: str) -> str:
    """The status, counting a passed deadline as expiry even before the sweep has run."""
    if contract.status == AWAITING and contract.deadline <= now:
        return EXPIRED
    return contract.status


def identity_assurance(session: Session, party: Party) -> str:
    """``verified`` when an operator checked the person and bound this party's key to this
    party's identity (``notary identity verify``); otherwise ``platform`` (the platform's word).
    """
    verified = session.execute(
        select(IdentityVerification.key_fingerprint).where(
            IdentityVerification.key_fingerprint == party.key_fingerprint,
            IdentityVerification.id_lookup == party.id_lookup,
        )
    ).first()
    return "verified" if verified is not None else "platform"


class Ceremony:
    """Accepts signatures and declines. Dependencies are passed in."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def act(self, contract_id: str, act: Act) -> str:
        """Record a signature or decline; returns the contract's status afterwards.

        Raises ``not_found``, ``validation_failed``, ``bad_signature``, ``wrong_role``,
        ``already_signed`` or ``contract_not_open``; nothing is stored when it raises.
        """
        if act.role not in payloads.ROLES:
            raise Unprocessable(
                "role must be investor or borrower", details={"role": ["investor or borrower"]}
            )
        try:
            signature = b64decode(act.signature, what="signature")
        except MalformedInput as exc:
            raise Unprocessable(exc.message, details={"signature": [exc.message]}) from exc
        submitted_sha256 = hashlib.sha256(signature).hexdigest()
        now = payloads.format_time(self.clock())
        with self.db.write() as session:
            contract = _load_for_update(session, contract_id)
            existing = session.get(Signature, (contract.id, act.role))
            if existing is not None:
                if existing.submitted_sha256 == submitted_sha256 and existing.purpose == act.purpose:
                    return effective_status(contract, now)  # the same act again: idempotent
                if existing.purpose == payloads.PURPOSE_SIGN:
                    raise AlreadySigned(f"the {act.role} has already signed this contract")
            status = effective_status(contract, now)
            if status != AWAITING:
                raise ContractNotOpen(f"the contract is {status}", details={"status": status})
            party = session.get(
                Party, contract.investor_id if act.role == "investor" else contract.borrower_id
            )
            assert party is not None  # foreign key
            stored = self._verify(session, contract, party, act, signature)
            session.add(
                Signature(
                    contract_id=contract.id,
                    role=act.role,
                    purpose=act.purpose,
                    party_id=party.id,
                    algorithm=party.algorithm,
                    key_fingerprint=party.key_fingerprint,
                    identity_sha256=party.identity_sha256,
                    identity_assurance=identity_assurance(session, party),
                    signature=stored,
                    submitted_sha256=submitted_sha256,
                    signed_at=now,
                )
            )
            if act.purpose == payloads.PURPOSE_DECLINE:
                contract.status, contract.closed_at = DECLINED, now
                contract.decline_role, contract.decline_reason = act.role, act.reason
            else:
                session.flush()
                signed = session.execute(
                    select(Signature.role).where(
                        Signature.contract_id == contract.id, Signature.purpose == payloads.PURPOSE_SIGN
                    )
                ).scalars()
                if set(signed) == set(payloads.ROLES):
                    contract.status, contract.signed_at = SIGNED, now
            return contract.status

    def _verify(
        self, session: Session, contract: Contract, party: Party, act: Act, signature: bytes
    ) -> bytes:
        payload = signing_payload(contract, act.role, act.purpose)
        key = PublicKey.from_der(party.public_key_der)
        try:
            return key.verify(signature, payload)
        except InvalidSignature as exc:
            other_role = "borrower" if act.role == "investor" else "investor"
            other = session.get(
                Party, contract.investor_id if other_role == "investor" else contract.borrower_id
            )
            if other is not None:
                try:
                    PublicKey.from_der(other.public_key_der).verify(
                        signature, signing_payload(contract, other_role, act.purpose)
                    )
                except InvalidSignature:
                    pass
                else:
                    raise WrongRole(
                        f"this is the {other_role}'s signature, posted as the {act.role}'s"
                    ) from exc
            raise BadSignature(
                f"the signature does not verify with the {act.role}'s enrolled key over this contract's payload"
            ) from exc


def _load_for_update(session: Session, contract_id: str) -> Contract:
    contract = session.get(Contract, contract_id, with_for_update=True)
    if contract is None:
        raise NotFound("no such contract")
    return contract
