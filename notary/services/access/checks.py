"""核验: a key holder checks whether the platform filed the contract it holds, in its name.

The answer speaks only of contracts naming the caller (the same set ``GET /me/contracts``
lists, :func:`~notary.services.access.key_holders.parties_of_key`): the document of somebody
else's contract must be answered exactly as a document nobody filed, with the same status,
body and timing, or the check would tell anyone holding a copy whom it names.

So the check is **one statement**, the same text and parameters whatever the answer: the
caller's contracts (found through the party indexes) whose document is this one, or, when
the caller says what the platform told it, whose terms are those. No index on the document's
hash exists or is used: a lookup by document would touch another person's contract before
the filter dropped it. Only when the statement returns a contract of the caller's own do
further reads run (its parties, signatures, evidence), so what follows depends on the
caller's contracts alone. ``tests/http/test_check.py`` records the statements of both
answers and compares them; ``make bench`` compares their timing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, String, and_, bindparam, case, or_, select, union
from sqlalchemy.orm import Session

from notary.errors import Unprocessable
from notary.services.ceremony.signatures import effective_status
from notary.services.clock import Clock, now_text
from notary.services.filing.service import AWAITING
from notary.services.filing.terms import amount_in_fen, validate_claimed
from notary.services.tlog.public import evidence_progress
from notary.storage.access_models import IdentityVerification
from notary.storage.db import Database
from notary.storage.models import Contract, Party, Platform, Signature
from notary.verify import payloads
from notary.verify.canonical import parse_json

MAX_CONTRACTS = 50
"""The most contracts one answer lists (a claim of a start date alone may match many)."""

_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_PLATFORM_ID = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)
_TERMS_SHOWN = (
    "amount",
    "currency",
    "annual_rate",
    "term_months",
    "start_date",
    "sign_by",
    "title",
    "external_ref",
)
CLAIM_FIELDS = ("amount", "start_date", "platform_id")
"""What a caller may say the platform told it; ``amount`` or ``start_date`` makes it a claim."""


class CheckResult(StrEnum):
    FILED = "filed"
    """A contract naming you holds exactly this document."""
    DOCUMENT_DIFFERS = "document_differs"
    """No contract naming you holds this document, but one has the terms you were told: the
    platform filed another copy (an altered one?)."""
    NOT_FILED = "not_filed"
    """Nothing in your name holds this document (or has the terms you were told)."""


@dataclass(frozen=True)
class Claim:
    """What the platform told the caller, checked: the amount (as sent and in fen), the start
    date, the platform."""

    amount: str | None = None
    start_date: str | None = None
    platform_id: str | None = None

    @property
    def names_terms(self) -> bool:
        return self.amount is not None or self.start_date is not None

    @classmethod
    def parse(cls, claimed: Mapping[str, Any] | None) -> Claim:
        """Raises ``validation_failed`` naming the field for anything outside the terms' grammar."""
        if claimed is None:
            return cls()
        if not isinstance(claimed, Mapping):
            raise Unprocessable("claimed must be a JSON object", details={"claimed": ["must be an object"]})
        unknown = sorted(set(claimed) - set(CLAIM_FIELDS))
        if unknown:
            raise Unprocessable(
                f"claimed takes {', '.join(CLAIM_FIELDS)} only",
                details={f"claimed.{name}": ["unknown field"] for name in unknown},
            )
        platform_id = claimed.get("platform_id")
        if platform_id is not None and (
            not isinstance(platform_id, str) or not _PLATFORM_ID.fullmatch(platform_id)
        ):
            raise Unprocessable(
                "claimed.platform_id is a platform id",
                details={"claimed.platform_id": ["1 to 40 ASCII letters, digits and _"]},
            )
        terms = validate_claimed({k: v for k, v in claimed.items() if k != "platform_id"})
        return cls(terms.get("amount"), terms.get("start_date"), platform_id)


@dataclass(frozen=True)
class CheckAnswer:
    """The answer. It does not echo the digest asked about: the answers about somebody else's
    document and about a document nobody filed are then the same bytes."""

    result: CheckResult
    contracts: tuple[dict[str, Any], ...]
    more: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": str(self.result),
            "contracts": list(self.contracts),
            "more": self.more,
        }


def check_digest(document_sha256: Any) -> str:
    """The digest if it is 64 lowercase hex digits; raises ``validation_failed``."""
    if not isinstance(document_sha256, str) or not _HEX64.fullmatch(document_sha256):
        raise Unprocessable(
            "document_sha256 is the document's SHA-256: 64 lowercase hex digits",
            details={"document_sha256": ["64 lowercase hex digits"]},
        )
    return document_sha256


# The one statement of every check (see the module). The caller's parties: those enrolled
# with its key, and, once an operator verified the key's identity, every party of that
# identity. Typed parameters, so PostgreSQL knows them when they are NULL.
_KEY = bindparam("key_fingerprint", type_=String)
_VERIFIED = select(IdentityVerification.id_lookup).where(IdentityVerification.key_fingerprint == _KEY)
# Both sets are unions of index lookups, not ORs: PostgreSQL cannot turn ``a = x OR b IN
# (subquery)`` into index lookups and read every party, then every contract (about 280 ms a
# check at 5x10^5 contracts, 6 ms as unions; tests/http/test_check.py reads the plan).
_MINE = union(
    select(Party.id).where(Party.key_fingerprint == _KEY),
    select(Party.id).where(Party.id_lookup.in_(_VERIFIED)),
)
_MY_CONTRACTS = union(
    select(Contract.id).where(Contract.investor_id.in_(_MINE)),
    select(Contract.id).where(Contract.borrower_id.in_(_MINE)),
)
_AMOUNT = bindparam("amount_fen", type_=BigInteger)
_START = bindparam("start_date", type_=String)
_PLATFORM = bindparam("claimed_platform_id", type_=String)
_DOCUMENT = bindparam("document_sha256", type_=String)
_CANDIDATES = (
    select(Contract, Platform)
    .join(Platform, Platform.id == Contract.platform_id)
    .where(
        Contract.id.in_(_MY_CONTRACTS),
        or_(
            Contract.document_sha256 == _DOCUMENT,
            and_(
                bindparam("by_terms", type_=Boolean),
                or_(_AMOUNT.is_(None), Contract.amount_fen == _AMOUNT),
                or_(_START.is_(None), Contract.start_date == _START),
                or_(_PLATFORM.is_(None), Contract.platform_id == _PLATFORM),
            ),
        ),
    )
    # This document's contracts first, so a long list of term matches never crowds them out.
    .order_by(case((Contract.document_sha256 == _DOCUMENT, 0), else_=1), Contract.id)
    .limit(bindparam("limit", type_=BigInteger))
)


class DocumentChecks:
    """The 核验 check of a document against the contracts in the caller's name."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def check(
        self, key_fingerprint: str, document_sha256: Any, claimed: Mapping[str, Any] | None = None
    ) -> CheckAnswer:
        """What was filed in the key holder's name with this document (or these terms).

        Raises ``validation_failed`` for a digest that is not 64 lowercase hex digits or a
        claim outside the terms' grammar; nothing else depends on anyone's contracts but the
        caller's.
        """
        digest = check_digest(document_sha256)
        claim = Claim.parse(claimed)
        now = now_text(self.clock)
        with self.db.read() as session:
            rows = session.execute(
                _CANDIDATES,
                {
                    "key_fingerprint": key_fingerprint,
                    "document_sha256": digest,
                    "by_terms": claim.names_terms,
                    "amount_fen": None if claim.amount is None else amount_in_fen(claim.amount),
                    "start_date": claim.start_date,
                    "claimed_platform_id": claim.platform_id,
                    "limit": MAX_CONTRACTS + 1,
                },
            ).all()
            filed = [row for row in rows if row.Contract.document_sha256 == digest]
            chosen = filed or rows
            result = (
                CheckResult.FILED
                if filed
                else CheckResult.DOCUMENT_DIFFERS
                if rows
                else CheckResult.NOT_FILED
            )
            more = len(chosen) > MAX_CONTRACTS
            chosen = chosen[:MAX_CONTRACTS]
            items = _describe(session, key_fingerprint, chosen, claim, now) if chosen else ()
        return CheckAnswer(result, tuple(items), more)


def _describe(
    session: Session, key_fingerprint: str, rows: Sequence[Any], claim: Claim, now: str
) -> list[dict[str, Any]]:
    """The caller's contracts found, each once per role the caller plays in it."""
    contracts = [row.Contract for row in rows]
    party_ids = {pid for c in contracts for pid in (c.investor_id, c.borrower_id)}
    parties = {p.id: p for p in session.execute(select(Party).where(Party.id.in_(party_ids))).scalars()}
    verified = session.execute(_VERIFIED, {"key_fingerprint": key_fingerprint}).scalar_one_or_none()
    signed: dict[str, set[str]] = {}
    for contract_id, role in session.execute(
        select(Signature.contract_id, Signature.role).where(
            Signature.contract_id.in_([c.id for c in contracts]), Signature.purpose == payloads.PURPOSE_SIGN
        )
    ):
        signed.setdefault(contract_id, set()).add(role)
    items = []
    for row in rows:
        contract, platform = row.Contract, row.Platform
        for role, party_id in (("investor", contract.investor_id), ("borrower", contract.borrower_id)):
            party = parties[party_id]
            own_key = party.key_fingerprint == key_fingerprint
            if not own_key and (verified is None or party.id_lookup != verified):
                continue
            items.append(
                _item(
                    session,
                    contract,
                    platform,
                    role,
                    party,
                    own_key,
                    signed.get(contract.id, set()),
                    claim,
                    now,
                )
            )
    return items


def _item(
    session: Session,
    contract: Contract,
    platform: Platform,
    role: str,
    party: Party,
    own_key: bool,
    signed: set[str],
    claim: Claim,
    now: str,
) -> dict[str, Any]:
    terms = parse_json(contract.terms_json, what="stored terms")
    status = effective_status(contract, now)
    item: dict[str, Any] = {
        "contract_id": contract.id,
        "platform": {"platform_id": platform.id, "name": platform.name, "status": platform.status},
        "role": role,
        "party_id": party.id,
        "status": status,
        # Filed under a key other than the caller's, for a party of the caller's verified
        # identity: the caller never enrolled that key. Flagged, so the caller can ask why.
        "under_another_key": not own_key,
        "received_at": contract.received_at,
        "document_sha256": contract.document_sha256,
        "terms": {name: terms[name] for name in _TERMS_SHOWN if name in terms},
    }
    if platform.defunct_at is not None:
        item["platform"]["defunct_at"] = platform.defunct_at
    if status == AWAITING:
        item["awaiting"] = [
            {"role": other, "you": other == role} for other in payloads.ROLES if other not in signed
        ]
    evidence = evidence_progress(session, contract)
    if evidence is not None:
        item["evidence"] = {
            **evidence,
            "bundle": f"/api/v1/contracts/{contract.id}/evidence",
            "certificate": f"/api/v1/contracts/{contract.id}/certificate",
        }
    differs = _claim_differs(contract, terms, claim)
    if differs:
        item["claim_differs"] = differs
    return item


def _claim_differs(contract: Contract, terms: Mapping[str, Any], claim: Claim) -> list[str]:
    """Which of the caller's claimed terms the filed contract does not have."""
    differs = []
    if claim.amount is not None and amount_in_fen(claim.amount) != contract.amount_fen:
        differs.append("amount")
    if claim.start_date is not None and claim.start_date != terms.get("start_date"):
        differs.append("start_date")
    if claim.platform_id is not None and claim.platform_id != contract.platform_id:
        differs.append("platform_id")
    return differs
