"""The signing ceremony: each role signs (or declines) the exact payload with its enrolled key.

The signature is the credential: whoever holds the enrolled key may post it, no token needed.
Order does not matter; the second signature makes the contract ``signed`` and the sequencer
seals it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from notary.errors import Conflict, NotaryError, Unprocessable
from notary.services import outbox
from notary.services.ceremony.parties import check_live
from notary.services.clock import Clock
from notary.services.filing.service import AWAITING, signing_payload
from notary.services.text import check_text
from notary.storage.access_models import IdentityVerification
from notary.storage.db import Database
from notary.storage.models import Contract, Party, PartyKey, Signature
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.keys import PublicKey
from notary.verify.vocabulary import ContractStatus

SIGNED, SEALED, EXPIRED, DECLINED = (
    ContractStatus.SIGNED,
    ContractStatus.SEALED,
    ContractStatus.EXPIRED,
    ContractStatus.DECLINED,
)


class AlreadySigned(Conflict):
    code = "already_signed"


class ContractNotOpen(Conflict):
    code = "contract_not_open"


class WrongRole(Unprocessable):
    code = "wrong_role"


class BadSignature(InvalidSignature):
    """A posted signature that does not verify with the enrolled key (422, like every failed
    verification)."""


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
    return assurance_of(party, verified_identities(session, [party]))


def verified_identities(session: Session, parties: Iterable[Party]) -> set[tuple[str, str]]:
    """Of these parties, the (key fingerprint, identity lookup) pairs an operator verified."""
    fingerprints = {party.key_fingerprint for party in parties}
    if not fingerprints:
        return set()
    rows = session.execute(_VERIFIED, {"fingerprints": list(fingerprints)})
    return {(fingerprint, lookup) for fingerprint, lookup in rows}


# The statements of every signature, built once: building them anew (select, in_) cost about a
# fifth of loading a signature's rows.
_IDS = bindparam("ids", expanding=True)
_VERIFIED = select(IdentityVerification.key_fingerprint, IdentityVerification.id_lookup).where(
    IdentityVerification.key_fingerprint.in_(bindparam("fingerprints", expanding=True))
)
_CONTRACTS = select(Contract).where(Contract.id.in_(_IDS)).order_by(Contract.id)
_CONTRACTS_FOR_UPDATE = _CONTRACTS.with_for_update()
_PARTIES = select(Party).where(Party.id.in_(_IDS))
_SIGNATURES = select(Signature).where(Signature.contract_id.in_(_IDS))
_KEYS = select(PartyKey).where(PartyKey.party_id.in_(_IDS))


def assurance_of(party: Party, verified: set[tuple[str, str]]) -> str:
    """:func:`identity_assurance` given :func:`verified_identities` of (at least) this party."""
    return "verified" if (party.key_fingerprint, party.id_lookup) in verified else "platform"


class Ceremony:
    """Accepts signatures and declines. Dependencies are passed in."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def act(self, contract_id: str, act: Act) -> str:
        """Record a signature or decline; returns the contract's status afterwards.

        Raises ``validation_failed``, ``bad_signature`` (also for an unknown contract: the
        signature is verified before anything about the contract is revealed, round2-notes),
        ``wrong_role``, ``already_signed`` or ``contract_not_open``; nothing is stored when it
        raises.
        """
        signature, submitted_sha256 = _decode(act)
        # As in act_many: the parties and the verification first, outside the write
        # transaction (none of it changes once filed), so that writers queue only for the
        # contract's state and the insert.
        verified: bytes | NotaryError
        with self.db.read() as session:
            known = _Rows.load(session, [contract_id], with_acts=False)
            contract = known.contracts.get(contract_id)
            if contract is None:
                raise no_match(act)
            try:
                verified = self._verify(session, contract, known.party(contract, act), act, signature)
            except NotaryError as exc:
                verified = exc
        now = payloads.format_time(self.clock())
        with self.db.write() as session:
            rows = _Rows.load(session, [contract_id], for_update=True, known=known)
            contract = rows.contracts[contract_id]
            status = self._apply(session, rows, contract, act, signature, submitted_sha256, now, verified)
            outbox.emit(session, rows.events, now=now)
            return status

    def act_many(self, items: Sequence[tuple[str, Act]]) -> list[str | NotaryError]:
        """Record many signatures or declines in one transaction; one outcome per item, in order.

        Each outcome is what :meth:`act` would have answered (the status) or raised (the
        error) had the items been posted one by one in this order; an item that fails stores
        nothing and spoils no other. Signatures are verified before the write transaction
        starts, so that writers do not queue behind the verifications: what they check (a
        contract's payload and its parties' keys) never changes once filed.
        """
        outcomes: list[str | NotaryError | None] = [None] * len(items)
        decoded: dict[int, tuple[bytes, str]] = {}
        for index, (_, act) in enumerate(items):
            try:
                decoded[index] = _decode(act)
            except NotaryError as exc:
                outcomes[index] = exc
        ids = sorted({items[index][0] for index in decoded})
        verified: dict[int, bytes | NotaryError] = {}
        with self.db.read() as session:
            known = rows = _Rows.load(session, ids, with_acts=False)
            for index, (signature, _) in decoded.items():
                contract_id, act = items[index]
                contract = rows.contracts.get(contract_id)
                if contract is None:
                    continue
                try:
                    verified[index] = self._verify(
                        session, contract, rows.party(contract, act), act, signature
                    )
                except NotaryError as exc:
                    verified[index] = exc
        now = payloads.format_time(self.clock())
        # No autoflush: the rows are added together at commit, not one INSERT per later query.
        with self.db.write() as session, session.no_autoflush:
            rows = _Rows.load(session, ids, for_update=True, known=known)
            for index, (signature, submitted_sha256) in decoded.items():
                contract_id, act = items[index]
                try:
                    contract = rows.contracts.get(contract_id)
                    if contract is None:
                        raise no_match(act)
                    outcomes[index] = self._apply(
                        session, rows, contract, act, signature, submitted_sha256, now, verified.get(index)
                    )
                except NotaryError as exc:
                    outcomes[index] = exc
            outbox.emit(session, rows.events, now=now)
        return [outcome for outcome in outcomes if outcome is not None]

    def _apply(
        self,
        session: Session,
        rows: _Rows,
        contract: Contract,
        act: Act,
        signature: bytes,
        submitted_sha256: str,
        now: str,
        verified: bytes | NotaryError | None,
    ) -> str:
        """The rules of one act on a locked contract, given what ``rows`` holds of it (its
        acts are updated here). ``verified`` is the outcome of an earlier verification (None:
        verify now).
        """
        # Verification first: a signature that does not verify learns nothing of the
        # contract's state (signed, expired...), exactly as for a contract that does not exist.
        if isinstance(verified, NotaryError):
            raise verified
        party = rows.party(contract, act)
        stored = verified if verified is not None else self._verify(session, contract, party, act, signature)
        # Read in this transaction: a key revoked or replaced since it was verified signs nothing.
        check_live(rows.keys.get((party.id, party.key_fingerprint)))
        acts = rows.acts
        existing = acts.get((contract.id, act.role))
        if existing is not None:
            if existing.submitted_sha256 == submitted_sha256 and existing.purpose == act.purpose:
                return effective_status(contract, now)  # the same act again: idempotent
            if existing.purpose == payloads.PURPOSE_SIGN:
                raise AlreadySigned(f"the {act.role} has already signed this contract")
        status = effective_status(contract, now)
        if status != AWAITING:
            raise ContractNotOpen(f"the contract is {status}", details={"status": status})
        row = Signature(
            contract_id=contract.id,
            role=act.role,
            purpose=act.purpose,
            party_id=party.id,
            algorithm=party.algorithm,
            key_fingerprint=party.key_fingerprint,
            identity_commitment=party.identity_commitment,
            enrolment_proof=party.enrol_proof,
            identity_assurance=assurance_of(party, rows.verified),
            signature=stored,
            submitted_sha256=submitted_sha256,
            signed_at=now,
        )
        session.add(row)
        acts[(contract.id, act.role)] = row
        if act.purpose == payloads.PURPOSE_DECLINE:
            contract.status, contract.closed_at = DECLINED, now
            contract.decline_role, contract.decline_reason = act.role, act.reason
            rows.events.append(
                outbox.contract_declined(contract, role=act.role, party_id=party.id, declined_at=now)
            )
            return contract.status
        if all(
            (other := acts.get((contract.id, role))) is not None and other.purpose == payloads.PURPOSE_SIGN
            for role in payloads.ROLES
        ):
            contract.status, contract.signed_at = SIGNED, now
        rows.events.append(outbox.contract_signed(contract, role=act.role, party_id=party.id, signed_at=now))
        return contract.status

    def _verify(
        self, session: Session, contract: Contract, party: Party, act: Act, signature: bytes
    ) -> bytes:
        payload = signing_payload(contract, act.role, act.purpose)
        try:
            # A key stored before keys were checked strictly (a small-order Ed25519 key) loads
            # no more, and verifies nothing: the same answer as a wrong signature.
            return PublicKey.from_der(party.public_key_der).verify(signature, payload)
        except (InvalidSignature, MalformedInput) as exc:
            other_role = "borrower" if act.role == "investor" else "investor"
            other = session.get(
                Party, contract.investor_id if other_role == "investor" else contract.borrower_id
            )
            if other is not None:
                try:
                    PublicKey.from_der(other.public_key_der).verify(
                        signature, signing_payload(contract, other_role, act.purpose)
                    )
                except (InvalidSignature, MalformedInput):
                    pass
                else:
                    raise WrongRole(
                        f"this is the {other_role}'s signature, posted as the {act.role}'s"
                    ) from exc
            raise no_match(act) from exc


def no_match(act: Act) -> BadSignature:
    """The one answer to a signature that does not verify, and to a contract that does not
    exist: the same status, code and message, so neither tells the other apart."""
    return BadSignature(
        f"the signature does not verify with the {act.role}'s enrolled key over this contract's payload"
    )


def _decode(act: Act) -> tuple[bytes, str]:
    """The signature's bytes and the SHA-256 of what was submitted; raises ``validation_failed``."""
    if act.role not in payloads.ROLES:
        raise Unprocessable("role must be investor or borrower", details={"role": ["investor or borrower"]})
    if act.reason is not None:
        check_text(act.reason, field="reason")
    try:
        signature = b64decode(act.signature, what="signature")
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"signature": [exc.message]}) from exc
    return signature, hashlib.sha256(signature).hexdigest()


@dataclass
class _Rows:
    """What one transaction loaded for the acts it applies: the contracts (by id), their
    parties (by id) and every act stored for them (by contract and role)."""

    contracts: dict[str, Contract]
    parties: dict[str, Party]
    acts: dict[tuple[str, str], Signature]
    verified: set[tuple[str, str]]
    keys: dict[tuple[str, str], PartyKey]
    events: list[outbox.Event] = field(default_factory=list)
    """What the acts applied so far tell the platforms (written with them, see :mod:`outbox`)."""

    @classmethod
    def load(
        cls,
        session: Session,
        ids: Sequence[str],
        *,
        for_update: bool = False,
        with_acts: bool = True,
        known: _Rows | None = None,
    ) -> _Rows:
        """Load the contracts, then what ``known`` (an earlier load of the same ids) does not
        hold: their parties and verified identities, and (``with_acts``) their acts."""
        # Rows are locked in id order, so that two batches sharing contracts cannot deadlock.
        query = _CONTRACTS_FOR_UPDATE if for_update else _CONTRACTS
        contracts = {
            contract.id: contract for contract in session.execute(query, {"ids": list(ids)}).scalars()
        }
        if known is not None:
            parties, verified = known.parties, known.verified
        else:
            wanted = {party_id for c in contracts.values() for party_id in (c.investor_id, c.borrower_id)}
            parties = {
                party.id: party for party in session.execute(_PARTIES, {"ids": list(wanted)}).scalars()
            }
            verified = verified_identities(session, parties.values())
        acts = {}
        keys = {}
        if with_acts:
            stored = session.execute(_SIGNATURES, {"ids": list(ids)}).scalars()
            acts = {(row.contract_id, row.role): row for row in stored}
            if parties:
                found = session.execute(_KEYS, {"ids": list(parties)}).scalars()
                keys = {(row.party_id, row.key_fingerprint): row for row in found}
        return cls(contracts, parties, acts, verified, keys)

    def party(self, contract: Contract, act: Act) -> Party:
        return self.parties[contract.investor_id if act.role == "investor" else contract.borrower_id]
