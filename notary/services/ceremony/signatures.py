"""The signing ceremony: each role signs (or declines) the exact payload with its enrolled key.

The signature is the credential: whoever holds the enrolled key may post it, no token needed.
Order does not matter; the second signature makes the contract ``signed`` and the sequencer
seals it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

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
_INVESTOR, _BORROWER = aliased(Party), aliased(Party)
_INVESTOR_KEY, _BORROWER_KEY = aliased(PartyKey), aliased(PartyKey)


def _is_verified(party: Any) -> Any:
    return (
        exists()
        .where(
            IdentityVerification.key_fingerprint == party.key_fingerprint,
            IdentityVerification.id_lookup == party.id_lookup,
        )
        .correlate(party)
    )


# Before the write transaction: each contract with both parties and whether an operator
# verified each (one statement, not three).
_SIGNING = (
    select(Contract, _INVESTOR, _BORROWER, _is_verified(_INVESTOR), _is_verified(_BORROWER))
    .join(_INVESTOR, _INVESTOR.id == Contract.investor_id)
    .join(_BORROWER, _BORROWER.id == Contract.borrower_id)
    .where(Contract.id.in_(_IDS))
    .order_by(Contract.id)
)


def _enrolled_key(key: Any, party: Any, party_id: Any) -> Any:
    return and_(key.party_id == party_id, key.key_fingerprint == party.key_fingerprint)


# Inside it: the contracts locked in id order (two batches sharing contracts cannot deadlock),
# a row per stored act (at most two a contract), and each party's current key as enrolled.
_LOCKED = (
    select(Contract, Signature, _INVESTOR_KEY, _BORROWER_KEY)
    .join(_INVESTOR, _INVESTOR.id == Contract.investor_id)
    .join(_BORROWER, _BORROWER.id == Contract.borrower_id)
    .outerjoin(Signature, Signature.contract_id == Contract.id)
    .outerjoin(_INVESTOR_KEY, _enrolled_key(_INVESTOR_KEY, _INVESTOR, Contract.investor_id))
    .outerjoin(_BORROWER_KEY, _enrolled_key(_BORROWER_KEY, _BORROWER, Contract.borrower_id))
    .where(Contract.id.in_(_IDS))
    .order_by(Contract.id)
    .with_for_update(of=Contract)
)


@functools.cache
def _update_contracts(fields: tuple[str, ...]) -> Any:
    """UPDATE contracts SET each of ``fields`` (bound as ``new_<field>``) WHERE id = :contract_id."""
    table = Contract.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("contract_id"))
        .values({name: bindparam(f"new_{name}") for name in fields})
    )


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
            known = _Rows.signing(session, [contract_id])
            contract = known.contracts.get(contract_id)
            if contract is None:
                raise no_match(act)
            try:
                verified = self._verify(session, contract, known.party(contract, act), act, signature)
            except NotaryError as exc:
                verified = exc
        now = payloads.format_time(self.clock())
        with self.db.write() as session:
            rows = _Rows.locked(session, [contract_id], known)
            contract = rows.contracts[contract_id]
            status = self._apply(session, rows, contract, act, signature, submitted_sha256, now, verified)
            rows.store(session, now=now)
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
            known = rows = _Rows.signing(session, ids)
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
            rows = _Rows.locked(session, ids, known)
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
            rows.store(session, now=now)
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
        acts[(contract.id, act.role)] = rows.add_act(
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
        if act.purpose == payloads.PURPOSE_DECLINE:
            rows.change(
                contract, status=DECLINED, closed_at=now, decline_role=act.role, decline_reason=act.reason
            )
            rows.events.append(
                outbox.contract_declined(contract, role=act.role, party_id=party.id, declined_at=now)
            )
            return contract.status
        if all(
            (other := acts.get((contract.id, role))) is not None and other.purpose == payloads.PURPOSE_SIGN
            for role in payloads.ROLES
        ):
            rows.change(contract, status=SIGNED, signed_at=now)
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
    new_acts: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_act(self, **values: Any) -> Signature:
        """A new act, inserted by :meth:`store`; returns it as later acts of the batch see it."""
        self.new_acts.append(values)
        return Signature(**values)

    def change(self, contract: Contract, **values: Any) -> None:
        """Change a loaded contract, written by :meth:`store`: set as if loaded that way, so the
        session has nothing to flush (one UPDATE statement per kind of change, not a unit of work
        per request)."""
        for name, value in values.items():
            set_committed_value(contract, name, value)
        self.changed.setdefault(contract.id, {}).update(values)

    def store(self, session: Session, *, now: str) -> None:
        """Write the acts added and the contracts changed, then the events."""
        if self.new_acts:
            session.execute(insert(Signature), self.new_acts)
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for contract_id, values in self.changed.items():
            params = {"contract_id": contract_id, **{f"new_{name}": v for name, v in values.items()}}
            by_fields.setdefault(tuple(sorted(values)), []).append(params)
        for fields, params in by_fields.items():
            session.execute(_update_contracts(fields), params)
        outbox.emit(session, self.events, now=now)

    @classmethod
    def signing(cls, session: Session, ids: Sequence[str]) -> _Rows:
        """The contracts with their parties and which of those an operator verified, in one
        statement (what a verification needs; none of it changes once filed)."""
        contracts: dict[str, Contract] = {}
        parties: dict[str, Party] = {}
        verified: set[tuple[str, str]] = set()
        for contract, investor, borrower, investor_verified, borrower_verified in session.execute(
            _SIGNING, {"ids": list(ids)}
        ):
            contracts[contract.id] = contract
            for party, is_verified in ((investor, investor_verified), (borrower, borrower_verified)):
                parties[party.id] = party
                if is_verified:
                    verified.add((party.key_fingerprint, party.id_lookup))
        return cls(contracts, parties, {}, verified, {})

    @classmethod
    def locked(cls, session: Session, ids: Sequence[str], known: _Rows) -> _Rows:
        """The contracts again, locked, with every act stored for them and the state of each
        party's enrolled key, in one statement; the parties as ``known`` loaded them."""
        contracts: dict[str, Contract] = {}
        acts: dict[tuple[str, str], Signature] = {}
        keys: dict[tuple[str, str], PartyKey] = {}
        for contract, act, investor_key, borrower_key in session.execute(_LOCKED, {"ids": list(ids)}):
            contracts[contract.id] = contract
            if act is not None:
                acts[(act.contract_id, act.role)] = act
            for key in (investor_key, borrower_key):
                if key is not None:
                    keys[(key.party_id, key.key_fingerprint)] = key
        return cls(contracts, known.parties, acts, known.verified, keys)

    def party(self, contract: Contract, act: Act) -> Party:
        return self.parties[contract.investor_id if act.role == "investor" else contract.borrower_id]
