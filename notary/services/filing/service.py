"""Filing contracts, one or a thousand at a time, idempotently.

A single filing is a batch of one, so a batch item answers exactly what the single call
would. A batch is one transaction: every valid item is stored together, bad items are
answered with their error and store nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from notary.config import Settings
from notary.errors import Conflict, NotaryError, TooLarge, Unprocessable
from notary.services.clock import Clock
from notary.services.filing.terms import accept_terms, amount_in_fen, validate_terms
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.ids import CONTRACT, new_id
from notary.storage.models import Contract, Party
from notary.verify import payloads
from notary.verify.canonical import canonical_json, parse_json
from notary.verify.encoding import b64encode
from notary.verify.vocabulary import ContractStatus

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}", re.ASCII)
#: What a contract document may be: PDF, OFD (GB/T 33190), images and plain text. Types a
#: browser runs or renders as a page (text/html, image/svg+xml, XML, scripts) are refused, so
#: the notary never serves a platform's active content under its own origin.
FILED_TYPES = frozenset(
    {
        "application/pdf",
        "application/ofd",
        "image/png",
        "image/jpeg",
        "image/tiff",
        "image/webp",
        "text/plain",
    }
)
AWAITING = ContractStatus.AWAITING_SIGNATURES


class EmptyDocument(Unprocessable):
    code = "empty_document"


class UnsupportedDocumentType(Unprocessable):
    code = "unsupported_document_type"


def served_type(media_type: str) -> str:
    """The Content-Type a stored document is served with: exactly the type it was filed with,
    or ``application/octet-stream`` for a type filed before the allow-list existed."""
    return media_type if media_type in FILED_TYPES else "application/octet-stream"


class UnknownParty(Unprocessable):
    code = "unknown_party"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


@dataclass(frozen=True)
class Filing:
    """One contract as a platform sends it; ``terms`` exactly as sent."""

    document: bytes
    media_type: str
    terms: Any
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Filed:
    """The answer to one filing, and whether it replays an earlier one (nothing new stored)."""

    body: dict[str, Any]
    replayed: bool


@dataclass
class _Checked:
    index: int
    filing: Filing
    terms: dict[str, Any]
    document_sha256: str
    request_sha256: str
    external_ref: str | None


class FilingService:
    """Files contracts for a platform. Dependencies are passed in, never looked up."""

    def __init__(self, db: Database, blobs: BlobStore, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.settings = settings

    def file_one(self, platform_id: str, filing: Filing) -> Filed:
        """File one contract; raises the item's :class:`NotaryError`."""
        (outcome,) = self.file_batch(platform_id, [filing])
        if isinstance(outcome, NotaryError):
            raise outcome
        return outcome

    def file_batch(
        self, platform_id: str, filings: Sequence[Filing | NotaryError]
    ) -> list[Filed | NotaryError]:
        """File many contracts in one transaction; one outcome per item, in order.

        Items that are already errors (e.g. unparseable upstream) are passed through.
        """
        outcomes: list[Filed | NotaryError | None] = [None] * len(filings)
        checked: list[_Checked] = []
        for index, filing in enumerate(filings):
            if isinstance(filing, NotaryError):
                outcomes[index] = filing
                continue
            try:
                checked.append(self._check(index, filing))
            except NotaryError as exc:
                outcomes[index] = exc
        if checked:
            try:
                self._store(platform_id, checked, outcomes)
            except IntegrityError:
                # A concurrent request took one of our idempotency keys first: run again, and
                # those items now find it and replay (or conflict) like any retry.
                for item in checked:
                    outcomes[item.index] = None
                self._store(platform_id, checked, outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    def _check(self, index: int, filing: Filing) -> _Checked:
        if not filing.document:
            raise EmptyDocument("the document is empty")
        if len(filing.document) > self.settings.max_document_bytes:
            limit = self.settings.max_document_bytes
            raise TooLarge(
                f"the document is larger than the document limit: at most {limit} bytes",
                details={"limit_bytes": limit},
            )
        media_type = filing.media_type.strip().lower() if isinstance(filing.media_type, str) else ""
        if not _MEDIA_TYPE.fullmatch(media_type):
            raise Unprocessable(
                "media_type must be a MIME type", details={"media_type": ["e.g. application/pdf"]}
            )
        if media_type not in FILED_TYPES:
            allowed = ", ".join(sorted(FILED_TYPES))
            raise UnsupportedDocumentType(
                f"a contract document is one of {allowed}; {media_type} is not accepted",
                details={"media_type": [f"one of {allowed}"]},
            )
        terms = validate_terms(filing.terms)
        document_sha256 = hashlib.sha256(filing.document).hexdigest()
        # Idempotency compares content as sent, before defaults are filled in.
        request_sha256 = hashlib.sha256(
            canonical_json({"document_sha256": document_sha256, "media_type": media_type, "terms": terms})
        ).hexdigest()
        return _Checked(
            index,
            Filing(filing.document, media_type, terms, filing.idempotency_key),
            terms,
            document_sha256,
            request_sha256,
            terms.get("external_ref"),
        )

    def _store(
        self, platform_id: str, checked: list[_Checked], outcomes: list[Filed | NotaryError | None]
    ) -> None:
        now = self.clock()
        received_at = payloads.format_time(now)
        # Everything but the inserts happens before the write transaction, so that writers
        # queue only for those: parties never change once enrolled, and a contract another
        # request files meanwhile under the same key fails the inserts on the unique
        # constraint, and file_batch runs this again to replay it.
        with self.db.read_rows() as connection:
            known = _existing_by_key(connection, platform_id, checked)
            parties = _parties(connection, platform_id, checked)
        rows: list[dict[str, Any]] = []
        documents: dict[str, bytes] = {}
        for item in checked:
            try:
                replay = _replay_of(item, known)
                if replay is not None:
                    outcomes[item.index] = Filed(creation_answer(replay), replayed=True)
                    continue
                row = self._new_contract(item, platform_id, parties, now, received_at)
            except NotaryError as exc:
                outcomes[item.index] = exc
                continue
            contract = SimpleNamespace(**row)
            for key in _keys_of(item):
                known[key] = contract
            rows.append(row)
            documents[item.document_sha256] = item.filing.document
            outcomes[item.index] = Filed(creation_answer(contract), replayed=False)
        if rows:
            self.blobs.stage(documents.items())
            with self.db.write_rows() as connection:
                self.blobs.put_many(connection, documents.items())
                connection.execute(_INSERT_CONTRACTS, rows)

    def _new_contract(
        self,
        item: _Checked,
        platform_id: str,
        parties: dict[str, Any],
        now: Any,
        received_at: str,
    ) -> dict[str, Any]:
        investor, borrower = parties.get(item.terms["investor"]), parties.get(item.terms["borrower"])
        missing = [role for role, party in (("investor", investor), ("borrower", borrower)) if party is None]
        if missing or investor is None or borrower is None:
            raise UnknownParty(
                "no such party on this platform: " + ", ".join(missing),
                details={f"terms.{role}": ["unknown party"] for role in missing},
            )
        if investor.id_lookup == borrower.id_lookup:
            raise Unprocessable(
                "investor and borrower are the same person",
                details={"terms.borrower": ["same person as investor"]},
            )
        accepted, deadline = accept_terms(item.terms, now=now, signing_window=self.settings.signing_window)
        terms_json = canonical_json(accepted)
        return {
            "id": new_id(CONTRACT),
            "platform_id": platform_id,
            "investor_id": investor.id,
            "borrower_id": borrower.id,
            "status": AWAITING,
            "document_sha256": item.document_sha256,
            "document_size": len(item.filing.document),
            "media_type": item.filing.media_type,
            "terms_json": terms_json,
            "terms_sha256": hashlib.sha256(terms_json).hexdigest(),
            "amount_fen": amount_in_fen(accepted["amount"]),
            "start_date": accepted["start_date"],
            "currency": accepted["currency"],
            "request_sha256": item.request_sha256,
            "external_ref": item.external_ref,
            "idempotency_key": item.filing.idempotency_key,
            "received_at": received_at,
            "deadline": deadline,
        }


def _keys_of(item: _Checked) -> list[tuple[str, str]]:
    keys = []
    if item.external_ref is not None:
        keys.append(("external_ref", item.external_ref))
    if item.filing.idempotency_key is not None:
        keys.append(("idempotency_key", item.filing.idempotency_key))
    return keys


def _existing_by_key(
    connection: Connection, platform_id: str, checked: list[_Checked]
) -> dict[tuple[str, str], Any]:
    refs = {item.external_ref for item in checked if item.external_ref is not None}
    idem = {item.filing.idempotency_key for item in checked if item.filing.idempotency_key is not None}
    if not refs and not idem:
        return {}
    query = _BY_KEY[(bool(refs), bool(idem))]
    parameters = {"platform_id": platform_id, "refs": list(refs), "keys": list(idem)}
    found: dict[tuple[str, str], Any] = {}
    for contract in connection.execute(query, parameters):
        if contract.external_ref is not None:
            found[("external_ref", contract.external_ref)] = contract
        if contract.idempotency_key is not None:
            found[("idempotency_key", contract.idempotency_key)] = contract
    return found


def _replay_of(item: _Checked, known: dict[tuple[str, str], Any]) -> Any:
    for key in _keys_of(item):
        contract = known.get(key)
        if contract is None:
            continue
        if contract.request_sha256 != item.request_sha256:
            raise IdempotencyConflict(
                f"{key[0]} {key[1]!r} was already used for other content",
                details={"contract_id": contract.id},
            )
        return contract
    return None


def _parties(connection: Connection, platform_id: str, checked: list[_Checked]) -> dict[str, Any]:
    wanted = {item.terms[role] for item in checked for role in payloads.ROLES}
    rows = connection.execute(_PARTIES, {"platform_id": platform_id, "ids": list(wanted)})
    return {party.id: party for party in rows}


# The statements of every filing, built once (building them anew cost as much as running them):
# contracts already filed under an external_ref and/or an Idempotency-Key, and the parties.
_REFS = Contract.external_ref.in_(bindparam("refs", expanding=True))
_KEYS = Contract.idempotency_key.in_(bindparam("keys", expanding=True))
# Plain rows of what a replay answers with (creation_answer) and compares (request_sha256).
_ANSWERED = (
    Contract.id, Contract.platform_id, Contract.investor_id, Contract.borrower_id, Contract.document_sha256,
    Contract.terms_json, Contract.terms_sha256, Contract.request_sha256, Contract.external_ref,
    Contract.idempotency_key,
)  # fmt: skip
_BY_KEY = {
    (with_refs, with_keys): select(*_ANSWERED).where(
        Contract.platform_id == bindparam("platform_id"),
        or_(*[condition for condition, wanted in ((_REFS, with_refs), (_KEYS, with_keys)) if wanted]),
    )
    for with_refs, with_keys in ((True, False), (False, True), (True, True))
}
_PARTIES = select(Party.id, Party.id_lookup).where(
    Party.platform_id == bindparam("platform_id"), Party.id.in_(bindparam("ids", expanding=True))
)


_INSERT_CONTRACTS = insert(Contract.__table__)


def signing_payload(contract: Contract, role: str, purpose: str = payloads.PURPOSE_SIGN) -> bytes:
    """The exact bytes ``role`` signs (or signs to decline) for ``contract``."""
    return payloads.contract_payload(
        purpose=purpose,
        contract_id=contract.id,
        platform_id=contract.platform_id,
        role=role,
        party_id=contract.investor_id if role == "investor" else contract.borrower_id,
        document_sha256=contract.document_sha256,
        terms_sha256=contract.terms_sha256,
    )


def payload_answer(payload: bytes) -> dict[str, str]:
    return {"payload_base64": b64encode(payload), "payload_sha256": hashlib.sha256(payload).hexdigest()}


def creation_answer(contract: Contract) -> dict[str, Any]:
    """The answer of ``POST /contracts``, the same on every replay (status as first answered)."""
    return {
        "contract_id": contract.id,
        "status": AWAITING,
        "document_sha256": contract.document_sha256,
        "terms": _terms(contract),
        "terms_sha256": contract.terms_sha256,
        "signing_payloads": {
            role: payload_answer(signing_payload(contract, role)) for role in payloads.ROLES
        },
    }


def _terms(contract: Contract) -> dict[str, Any]:
    terms: dict[str, Any] = parse_json(contract.terms_json, what="stored terms")
    return terms
