"""The signing ceremony: each role signs (or declines) the exact payload with its enrolled key.

The signature is the credential: whoever holds the enrolled key may post it, no token needed.
Order does not matter; the second signature makes the contract ``signed`` and the sequencer
seals it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

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


@dataclass(frozen=True, slots=True)
class _Signer:
    """What a signature needs of an enrolled party: its key, and what its act row copies."""

    id: str
    public_key_der: bytes
    key_fingerprint: str
    id_lookup: str
    algorithm: str
    identity_commitment: str
    enrol_proof: bytes | None

    @classmethod
    def of(cls, row: Any, role: str) -> _Signer:
        return cls(*(getattr(row, f"{role}_party_{name}") for name in _SIGNER_FIELDS))


@dataclass(slots=True)
class _OpenContract:
    """A contract as the write transaction locked it: what the rules read, and what they change."""

    id: str
    platform_id: str
    investor_id: str
    borrower_id: str
    status: str
    deadline: str
    external_ref: str | None
    signed_at: str | None
    closed_at: str | None
    decline_role: str | None
    decline_reason: str | None


@dataclass(frozen=True, slots=True)
class _StoredAct:
    """An act already stored (or added by this transaction): what idempotency compares."""

    purpose: str
    submitted_sha256: str


@dataclass(frozen=True, slots=True)
class _KeyState:
    """A party's enrolled key as ``check_live`` judges it."""

    party_id: str
    key_fingerprint: str
    status: str
    retired_at: str | None


def _names(kind: type) -> tuple[str, ...]:
    return tuple(each.name for each in fields(kind))


# The statements of every signature, built once: building them anew (select, in_) cost about a
# fifth of loading a signature's rows.
_IDS = bindparam("ids", expanding=True)
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


# Before the write transaction: each contract's signed fields with both parties and whether an
# operator verified each, as plain rows (one statement; no ORM objects: nothing here is written).
_SIGNER_FIELDS = _names(_Signer)
_SIGNING = (
    select(
        Contract.id,
        Contract.platform_id,
        Contract.investor_id,
        Contract.borrower_id,
        Contract.document_sha256,
        Contract.terms_sha256,
        *[getattr(_INVESTOR, name).label(f"investor_party_{name}") for name in _SIGNER_FIELDS],
        _is_verified(_INVESTOR).label("investor_verified"),
        *[getattr(_BORROWER, name).label(f"borrower_party_{name}") for name in _SIGNER_FIELDS],
        _is_verified(_BORROWER).label("borrower_verified"),
    )
    .join(_INVESTOR, _INVESTOR.id == Contract.investor_id)
    .join(_BORROWER, _BORROWER.id == Contract.borrower_id)
    .where(Contract.id.in_(_IDS))
    .order_by(Contract.id)
)


def _enrolled_key(key: Any, party: Any, party_id: Any) -> Any:
    return and_(key.party_id == party_id, key.key_fingerprint == party.key_fingerprint)


# Inside it: the contracts locked in id order (two batches sharing contracts cannot deadlock);
# then, by a statement of its own, each contract with a row per stored act (at most two) and each
# party's current key as enrolled, as plain rows; the changes written as two statements (no unit
# of work to flush). The read must not be the locking statement: under PostgreSQL's READ
# COMMITTED a statement that waited for a row lock sees the other rows of its joins as they were
# when it started, so a signature blocked behind the other role's would miss its act
# (tests/http/test_signature_race.py). SQLite's write transaction holds the whole database.
_LOCK = select(Contract.id).where(Contract.id.in_(_IDS)).order_by(Contract.id).with_for_update()
_OPEN_FIELDS = _names(_OpenContract)
_KEY_FIELDS = _names(_KeyState)
_LOCKED = (
    select(
        *[getattr(Contract, name) for name in _OPEN_FIELDS],
        Signature.role.label("act_role"),
        Signature.purpose.label("act_purpose"),
        Signature.submitted_sha256.label("act_submitted_sha256"),
        *[getattr(_INVESTOR_KEY, name).label(f"investor_key_{name}") for name in _KEY_FIELDS],
        *[getattr(_BORROWER_KEY, name).label(f"borrower_key_{name}") for name in _KEY_FIELDS],
    )
    .join(_INVESTOR, _INVESTOR.id == Contract.investor_id)
    .join(_BORROWER, _BORROWER.id == Contract.borrower_id)
    .outerjoin(Signature, Signature.contract_id == Contract.id)
    .outerjoin(_INVESTOR_KEY, _enrolled_key(_INVESTOR_KEY, _INVESTOR, Contract.investor_id))
    .outerjoin(_BORROWER_KEY, _enrolled_key(_BORROWER_KEY, _BORROWER, Contract.borrower_id))
    .where(Contract.id.in_(_IDS))
    .order_by(Contract.id)
)


_INSERT_ACTS = insert(Signature.__table__)


@functools.cache
def _update_contracts(names: tuple[str, ...]) -> Any:
    """UPDATE contracts SET each of ``names`` (bound as ``new_<name>``) WHERE id = :contract_id."""
    table = Contract.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("contract_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )


def assurance_of(party: _Signer, verified: set[tuple[str, str]]) -> str:
    """``verified`` when an operator checked the person and bound this party's key to this
    party's identity (``notary identity verify``: ``verified`` holds its (key fingerprint,
    identity lookup) pair); otherwise ``platform`` (the platform's word)."""
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
        with self.db.read_rows() as connection:
            known = _Rows.signing(connection, [contract_id])
        contract = known.contracts.get(contract_id)
        if contract is None:
            raise no_match(act)
        try:
            verified = self._verify(known, contract, known.party(contract, act), act, signature)
        except NotaryError as exc:
            verified = exc
        now = payloads.format_time(self.clock())
        with self.db.write_rows() as connection:
            rows = _Rows.locked(connection, [contract_id], known)
            contract = rows.contracts[contract_id]
            status = self._apply(rows, contract, act, signature, submitted_sha256, now, verified)
            rows.store(connection, now=now)
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
        with self.db.read_rows() as connection:
            known = _Rows.signing(connection, ids)
        for index, (signature, _) in decoded.items():
            contract_id, act = items[index]
            contract = known.contracts.get(contract_id)
            if contract is None:
                continue
            try:
                verified[index] = self._verify(known, contract, known.party(contract, act), act, signature)
            except NotaryError as exc:
                verified[index] = exc
        now = payloads.format_time(self.clock())
        with self.db.write_rows() as connection:
            rows = _Rows.locked(connection, ids, known)
            for index, (signature, submitted_sha256) in decoded.items():
                contract_id, act = items[index]
                try:
                    contract = rows.contracts.get(contract_id)
                    if contract is None:
                        raise no_match(act)
                    outcomes[index] = self._apply(
                        rows, contract, act, signature, submitted_sha256, now, verified.get(index)
                    )
                except NotaryError as exc:
                    outcomes[index] = exc
            rows.store(connection, now=now)
        return [outcome for outcome in outcomes if outcome is not None]

    def _apply(
        self,
        rows: _Rows,
        contract: _OpenContract,
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
        stored = verified if verified is not None else self._verify(rows, contract, party, act, signature)
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

    def _verify(self, rows: _Rows, contract: Any, party: _Signer, act: Act, signature: bytes) -> bytes:
        payload = signing_payload(contract, act.role, act.purpose)
        try:
            # A key stored before keys were checked strictly (a small-order Ed25519 key) loads
            # no more, and verifies nothing: the same answer as a wrong signature.
            return PublicKey.from_der(party.public_key_der).verify(signature, payload)
        except (InvalidSignature, MalformedInput) as exc:
            other_role = "borrower" if act.role == "investor" else "investor"
            other = rows.parties.get(
                contract.investor_id if other_role == "investor" else contract.borrower_id
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

    contracts: dict[str, Any]
    """Before the write transaction, rows of the signed fields; inside it, the locked contracts."""
    parties: dict[str, _Signer]
    acts: dict[tuple[str, str], _StoredAct]
    verified: set[tuple[str, str]]
    keys: dict[tuple[str, str], _KeyState]
    events: list[outbox.Event] = field(default_factory=list)
    """What the acts applied so far tell the platforms (written with them, see :mod:`outbox`)."""
    new_acts: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_act(self, **values: Any) -> _StoredAct:
        """A new act, inserted by :meth:`store`; returns it as later acts of the batch see it."""
        self.new_acts.append(values)
        return _StoredAct(values["purpose"], values["submitted_sha256"])

    def change(self, contract: _OpenContract, **values: Any) -> None:
        """Change a locked contract; :meth:`store` writes the changes (one UPDATE statement per
        kind of change)."""
        for name, value in values.items():
            setattr(contract, name, value)
        self.changed.setdefault(contract.id, {}).update(values)

    def store(self, connection: Connection, *, now: str) -> None:
        """Write the acts added and the contracts changed, then the events."""
        if self.new_acts:
            connection.execute(_INSERT_ACTS, self.new_acts)
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for contract_id, values in self.changed.items():
            params = {"contract_id": contract_id, **{f"new_{name}": v for name, v in values.items()}}
            by_fields.setdefault(tuple(sorted(values)), []).append(params)
        for names, params in by_fields.items():
            connection.execute(_update_contracts(names), params)
        outbox.emit(connection, self.events, now=now)

    @classmethod
    def signing(cls, connection: Connection, ids: Sequence[str]) -> _Rows:
        """The contracts' signed fields with their parties and which of those an operator
        verified, in one statement (what a verification needs; none of it changes once filed)."""
        contracts: dict[str, Any] = {}
        parties: dict[str, Any] = {}
        verified: set[tuple[str, str]] = set()
        for row in connection.execute(_SIGNING, {"ids": list(ids)}):
            contracts[row.id] = row
            for role in payloads.ROLES:
                party = _Signer.of(row, role)
                parties[party.id] = party
                if getattr(row, f"{role}_verified"):
                    verified.add((party.key_fingerprint, party.id_lookup))
        return cls(contracts, parties, {}, verified, {})

    @classmethod
    def locked(cls, connection: Connection, ids: Sequence[str], known: _Rows) -> _Rows:
        """The contracts again, locked, with every act stored for them and the state of each
        party's enrolled key (one statement after the lock); the parties as ``known`` loaded them."""
        contracts: dict[str, Any] = {}
        acts: dict[tuple[str, str], _StoredAct] = {}
        keys: dict[tuple[str, str], _KeyState] = {}
        if connection.dialect.name != "sqlite":
            connection.execute(_LOCK, {"ids": list(ids)})
        for row in connection.execute(_LOCKED, {"ids": list(ids)}):
            if row.id not in contracts:
                contracts[row.id] = _OpenContract(*(getattr(row, name) for name in _OPEN_FIELDS))
            if row.act_role is not None:
                acts[(row.id, row.act_role)] = _StoredAct(row.act_purpose, row.act_submitted_sha256)
            for role in payloads.ROLES:
                if getattr(row, f"{role}_key_party_id") is not None:
                    key = _KeyState(*(getattr(row, f"{role}_key_{name}") for name in _KEY_FIELDS))
                    keys[(key.party_id, key.key_fingerprint)] = key
        return cls(contracts, known.parties, acts, known.verified, keys)

    def party(self, contract: Any, act: Act) -> _Signer:
        return self.parties[contract.investor_id if act.role == "investor" else contract.borrower_id]
