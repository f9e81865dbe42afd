"""Lodging a report (``POST /reports``, ``notary report lodge``), and the reads of reports.

A report is refused, each refusal with its own code, when: its payload is not a
``notary.report.v1`` payload (``malformed_report``); it names another key than the caller's,
claims terms outside the terms' grammar or was signed too long ago (``validation_failed``);
its signature does not verify (``bad_report_signature``); it names a platform that does not
exist (``unknown_platform``); the same key reported this document on this platform before
(``report_replayed``); or the platform has filed this document in the reporter's name already
(``document_filed``: run ``notary check``). Nothing is stored for a refused report.

The report matches only contracts naming the reporter (round2-notes, "Privacy of the log"):
whether the document was filed is asked of the reporter's own contracts, through
:func:`reporters_contracts`, the same rule as the 核验 check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notary.config import Settings
from notary.errors import Conflict, TooLarge, Unauthenticated, Unprocessable
from notary.services import auth
from notary.services.access.login import login_key
from notary.services.audit import trail as audit
from notary.services.clock import Clock
from notary.services.filing.terms import amount_in_fen, validate_claimed
from notary.storage.access_models import IdentityVerification
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.ids import REPORT, new_id
from notary.storage.models import Contract, Party, Platform
from notary.storage.report_models import Report
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import InvalidSignature, MalformedInput
from notary.verify.reports import (
    BadReportSignature,
    MalformedReport,
    parse_report_payload,
    parse_stored_report,
    stored_report,
)
from notary.verify.times import parse_rfc3339

REPORT_MAX_AGE = dt.timedelta(days=1)
"""A report is lodged within a day of being signed (``reported_at``): sign it again otherwise."""
CLOCK_SKEW = dt.timedelta(minutes=5)


class UnknownPlatform(Unprocessable):
    """The report names a platform that does not exist."""

    code = "unknown_platform"


class ReportReplayed(Conflict):
    """This key has reported this document on this platform before: one report each."""

    code = "report_replayed"


class DocumentFiled(Conflict):
    """The platform has filed this document in the reporter's name: there is nothing to report."""

    code = "document_filed"


class ReportEvents(Protocol):
    """Told of a report's life inside the transaction that changes it. Webhooks (issue 22)
    enqueue ``report.lodged`` / ``report.filed_late`` here, in the same transaction."""

    def lodged(self, session: Session, report: Report) -> None: ...

    def filed_late(self, session: Session, report: Report) -> None: ...


class NoEvents:
    def lodged(self, session: Session, report: Report) -> None:
        pass

    def filed_late(self, session: Session, report: Report) -> None:
        pass


@dataclass(frozen=True)
class Lodged:
    report: dict[str, Any]


def verified_lookups(key_fingerprint: Any) -> Any:
    """The identity an operator verified for the key (a column or a bound value), as a subquery."""
    return select(IdentityVerification.id_lookup).where(
        IdentityVerification.key_fingerprint == key_fingerprint
    )


def reporters_parties(key_fingerprint: Any, platform_id: Any) -> Any:
    """The parties of a platform that are the reporter: enrolled with its key, or (once an
    operator verified the key's identity) of that identity. Correlates with column arguments."""
    return select(Party.id).where(
        Party.platform_id == platform_id,
        or_(Party.key_fingerprint == key_fingerprint, Party.id_lookup.in_(verified_lookups(key_fingerprint))),
    )


def reporters_contracts(key_fingerprint: Any, platform_id: Any, document_sha256: Any) -> ColumnElement[bool]:
    """Contracts of the platform with this document naming the reporter."""
    mine = reporters_parties(key_fingerprint, platform_id)
    return (
        (Contract.platform_id == platform_id)
        & (Contract.document_sha256 == document_sha256)
        & or_(Contract.investor_id.in_(mine), Contract.borrower_id.in_(mine))
    )


class ReportDesk:
    """Takes reports in. Receives what it uses; ``events`` is the webhook hook (no-op by default)."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        clock: Clock,
        settings: Settings,
        events: ReportEvents | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.settings = settings
        self.events: ReportEvents = events or NoEvents()

    def lodge(
        self, key_fingerprint: str, payload_base64: str, signature_base64: str, document: bytes | None = None
    ) -> Lodged:
        """Store a report signed by the caller's key; raises as the module says."""
        now = self.clock()
        lodged_at = payloads.format_time(now)
        try:
            payload_bytes = b64decode(payload_base64, what="payload_base64")
            signature = b64decode(signature_base64, what="signature")
        except MalformedInput as exc:
            raise MalformedReport(exc.message) from exc
        payload = parse_report_payload(payload_bytes)
        if payload.key_fingerprint != key_fingerprint:
            raise Unprocessable(
                "the report names another key than the one you logged in with",
                details={"key_fingerprint": ["must be your key's fingerprint"]},
            )
        claimed = validate_claimed(dict(payload.claimed))
        self._check_time(payload.reported_at, now)
        if document is not None:
            if len(document) > self.settings.max_document_bytes:
                raise TooLarge(f"the document is larger than {self.settings.max_document_bytes} bytes")
            if hashlib.sha256(document).hexdigest() != payload.document_sha256:
                raise Unprocessable(
                    "the attached document does not hash to the report's document_sha256",
                    details={"document": ["its SHA-256 is not document_sha256"]},
                )
        with self.db.read() as session:
            key = login_key(session, key_fingerprint)
            if key is None:
                raise Unauthenticated("the key is not known here")
            try:
                signature = key.verify(signature, payload_bytes)
            except InvalidSignature as exc:
                raise BadReportSignature("the report's signature does not verify with your key") from exc
            if session.get(Platform, payload.platform_id) is None:
                raise UnknownPlatform(
                    f"no platform {payload.platform_id}", details={"platform_id": ["no such platform"]}
                )
            self._refuse_replay(
                session, payload.key_fingerprint, payload.platform_id, payload.document_sha256
            )
            filed = session.execute(
                select(Contract.id)
                .where(reporters_contracts(key_fingerprint, payload.platform_id, payload.document_sha256))
                .limit(1)
            ).first()
            if filed is not None:
                raise DocumentFiled(
                    "this platform has filed this document in your name: run notary check to see it",
                    details={"contract_id": filed.id},
                )
        report_id = new_id(REPORT)
        report_bytes = stored_report(
            report_id=report_id,
            lodged_at=lodged_at,
            payload=payload_bytes,
            public_key=key,
            signature=signature,
        )
        row = Report(
            id=report_id,
            platform_id=payload.platform_id,
            key_fingerprint=key_fingerprint,
            document_sha256=payload.document_sha256,
            reported_at=payload.reported_at,
            lodged_at=lodged_at,
            report=report_bytes,
            report_sha256=hashlib.sha256(report_bytes).hexdigest(),
            claimed_amount_fen=amount_in_fen(claimed["amount"]) if "amount" in claimed else None,
            claimed_start_date=claimed.get("start_date"),
            document_attached=document is not None,
        )
        attachments = [(payload.document_sha256, document)] if document is not None else []
        self.blobs.stage(attachments)
        try:
            with self.db.write() as session:
                self.blobs.put_many(session, attachments)
                session.add(row)
                session.flush()
                audit.record(
                    session,
                    at=lodged_at,
                    actor=audit.Actor(auth.PARTY, key_fingerprint),
                    action="report.lodge",
                    object_kind="report",
                    object_id=report_id,
                    details={"platform_id": payload.platform_id, "report_sha256": row.report_sha256},
                )
                self.events.lodged(session, row)
                view = report_view(row)
        except IntegrityError:
            # Another request lodged the same report first.
            with self.db.read() as session:
                self._refuse_replay(
                    session, payload.key_fingerprint, payload.platform_id, payload.document_sha256
                )
            raise
        return Lodged(view)

    @staticmethod
    def _check_time(reported_at: str, now: dt.datetime) -> None:
        when = parse_rfc3339(reported_at, what="reported_at")
        if not reported_at.endswith("Z") or when > now + CLOCK_SKEW or when < now - REPORT_MAX_AGE:
            raise Unprocessable(
                "reported_at is the time you signed, in UTC (…Z), within the last day: sign the report again",
                details={"reported_at": ["UTC, not in the future, at most a day old"]},
            )

    @staticmethod
    def _refuse_replay(
        session: Session, key_fingerprint: str, platform_id: str, document_sha256: str
    ) -> None:
        earlier = session.execute(
            select(Report.id).where(
                Report.key_fingerprint == key_fingerprint,
                Report.platform_id == platform_id,
                Report.document_sha256 == document_sha256,
            )
        ).first()
        if earlier is not None:
            raise ReportReplayed(
                "you have reported this document on this platform already", details={"report_id": earlier.id}
            )


def report_view(row: Report) -> dict[str, Any]:
    """A report as its reporter, an operator or an investigator reads it."""
    stored = parse_stored_report(row.report)
    view: dict[str, Any] = {
        "report_id": row.id,
        "platform_id": row.platform_id,
        "key_fingerprint": row.key_fingerprint,
        "document_sha256": row.document_sha256,
        "claimed": dict(stored.payload.claimed),
        "reported_at": row.reported_at,
        "lodged_at": row.lodged_at,
        "report_sha256": row.report_sha256,
        "document_attached": row.document_attached,
        "leaf_index": row.leaf_sequence,
        "status": "open" if row.filed_contract_id is None else "filed_late",
    }
    if row.filed_contract_id is not None and row.filed_at is not None:
        view["filed_late"] = {
            "contract_id": row.filed_contract_id,
            "filed_at": row.filed_at,
            "delay_seconds": delay_seconds(row.lodged_at, row.filed_at),
        }
    return view


def delay_seconds(since: str, until: str) -> int:
    """Whole seconds between two of the service's times."""
    return int((parse_rfc3339(until) - parse_rfc3339(since)).total_seconds())
