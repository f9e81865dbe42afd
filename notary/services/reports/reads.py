"""Who reads reports, and what: the reporter its own; an operator any (``notary report list``);
an investigator those of the platform an approved case of theirs is scoped to, each read in
the audit trail. The public sees counts per platform only (:mod:`notary.services.transparency`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from notary.errors import Forbidden, NotFound
from notary.services import auth
from notary.services.access import cases
from notary.services.audit import trail as audit
from notary.services.clock import Clock, now_text
from notary.services.reports.lodging import report_view
from notary.storage.access_models import Case
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import Platform
from notary.storage.report_models import Report


class ReportReads:
    """Reading reports. Receives what it uses."""

    def __init__(self, db: Database, blobs: BlobStore, clock: Clock) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock

    def mine(self, key_fingerprint: str) -> list[dict[str, Any]]:
        """``GET /me/reports``: the reports lodged with this key, newest first."""
        with self.db.read() as session:
            rows = session.execute(
                select(Report)
                .where(Report.key_fingerprint == key_fingerprint)
                .order_by(Report.lodged_at.desc(), Report.id)
            ).scalars()
            return [report_view(row) for row in rows]

    def for_operator(self, platform_id: str | None = None) -> list[dict[str, Any]]:
        """``notary report list``: every report (of one platform), oldest first, with the platform's name."""
        query = select(Report, Platform.name).join(Platform, Platform.id == Report.platform_id)
        if platform_id is not None:
            query = query.where(Report.platform_id == platform_id)
        with self.db.read() as session:
            if platform_id is not None and session.get(Platform, platform_id) is None:
                raise NotFound(f"no platform {platform_id}")
            rows = session.execute(query.order_by(Report.lodged_at, Report.id)).all()
            return [{**report_view(report), "platform_name": name} for report, name in rows]

    def for_case(self, investigator_id: str, case_id: str) -> list[dict[str, Any]]:
        """``GET /cases/{id}/reports``: the reports of the case's platform, oldest first; audited
        (``case.reports.read``). Raises ``not_found`` (not the investigator's case),
        ``forbidden`` (not approved, or not scoped to a platform)."""
        now = now_text(self.clock)
        with self.db.read() as session:
            case = self._case(session, investigator_id, case_id)
            rows = session.execute(
                select(Report)
                .where(Report.platform_id == case.scope_platform_id)
                .order_by(Report.lodged_at, Report.id)
            ).scalars()
            views = [report_view(row) for row in rows]
        with self.db.write() as session:
            audit.record(
                session,
                at=now,
                actor=audit.Actor(auth.INVESTIGATOR, investigator_id),
                action="case.reports.read",
                object_kind="case",
                object_id=case_id,
                case_id=case_id,
                details={"reports": len(views)},
            )
        return views

    def case_document(self, investigator_id: str, case_id: str, report_id: str) -> tuple[Report, bytes]:
        """The document a reporter attached, through a case of its platform; audited
        (``report.document.read``). Raises like :meth:`for_case`, and ``not_found`` for a
        report of another platform or without an attachment."""
        now = now_text(self.clock)
        with self.db.read() as session:
            case = self._case(session, investigator_id, case_id)
            report = session.get(Report, report_id)
            if report is None or report.platform_id != case.scope_platform_id or not report.document_attached:
                raise NotFound("no such report document in this case")
            data = self.blobs.get(session, report.document_sha256)
            session.expunge(report)
        with self.db.write() as session:
            audit.record(
                session,
                at=now,
                actor=audit.Actor(auth.INVESTIGATOR, investigator_id),
                action="report.document.read",
                object_kind="report",
                object_id=report_id,
                case_id=case_id,
            )
        return report, data

    @staticmethod
    def _case(session: Any, investigator_id: str, case_id: str) -> Case:
        case = cases.own_case(session, case_id, investigator_id=investigator_id)
        if case.status != cases.APPROVED:
            raise cases.CasePending("this case has not been approved yet")
        if case.scope_kind != cases.PLATFORM_SCOPE:
            raise Forbidden("reports are read through a case scoped to their platform")
        return case
