"""The background work of reports: each lodged report written into the log as a
``notary-report/1`` leaf (by the leader, like every leaf), and reports marked filed late once
the platform files the reported document in the reporter's name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select, union_all, update

from notary.services.clock import Clock, now_text
from notary.services.reports.lodging import NoEvents, ReportEvents, verified_lookups
from notary.services.tlog.sequencer import append_leaves
from notary.storage.db import Database
from notary.storage.models import Contract, Party
from notary.storage.report_models import Report
from notary.storage.tree import LeafSink
from notary.verify.reports import REPORT_LEAF_FORMAT, report_leaf

BATCH = 500


def report_leaf_builder(report: Report) -> Callable[[int, str], bytes]:
    """Builds ``report``'s leaf at a sequence after a previous leaf's SHA-256 (the writer's, and
    ``notary audit``'s to rebuild a stored one)."""

    def build(sequence: int, previous_sha256: str) -> bytes:
        return report_leaf(
            sequence=sequence,
            previous_record_sha256=previous_sha256,
            report_id=report.id,
            report_sha256=report.report_sha256,
            platform_id=report.platform_id,
            lodged_at=report.lodged_at,
        )

    return build


def _filed_since(role_column: Any) -> Any:
    # From each open report to its reporter's parties on that platform (the parties' indexes),
    # to their contracts in one role (that role's index), kept when the document is the
    # reported one: never a search of the platform's contracts by document.
    reporter = or_(
        Party.key_fingerprint == Report.key_fingerprint,
        Party.id_lookup.in_(verified_lookups(Report.key_fingerprint)),
    )
    return (
        select(Report.id, Contract.id.label("contract_id"), Contract.received_at)
        .select_from(Report)
        .join(Party, and_(Party.platform_id == Report.platform_id, reporter))
        .join(Contract, role_column == Party.id)
        .where(
            Report.filed_contract_id.is_(None),
            Contract.document_sha256 == Report.document_sha256,
            Contract.received_at >= Report.lodged_at,
        )
    )


_FILED = union_all(_filed_since(Contract.investor_id), _filed_since(Contract.borrower_id)).subquery()
_FILED_SINCE = select(_FILED.c.id, _FILED.c.contract_id, _FILED.c.received_at).order_by(
    _FILED.c.id, _FILED.c.received_at, _FILED.c.contract_id
)


class ReportLedger:
    """Writes lodged reports into the log and marks those the platform later filed."""

    def __init__(
        self, db: Database, clock: Clock, sinks: Sequence[LeafSink], events: ReportEvents | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.sinks = list(sinks)
        self.events: ReportEvents = events or NoEvents()

    def log_pending(self) -> int:
        """Append a leaf for each report not yet in the log, in the order lodged; a worker step
        of the leader. Returns how many."""
        with self.db.read() as session:
            if (
                session.execute(select(Report.id).where(Report.leaf_sequence.is_(None)).limit(1)).first()
                is None
            ):
                return 0
        with self.db.write() as session:
            reports = (
                session.execute(
                    select(Report)
                    .where(Report.leaf_sequence.is_(None))
                    .order_by(Report.lodged_at, Report.id)
                    .limit(BATCH)
                )
                .scalars()
                .all()
            )
            if not reports:
                return 0
            now = now_text(self.clock)
            leaves = append_leaves(
                session,
                [(REPORT_LEAF_FORMAT, None, report_leaf_builder(report)) for report in reports],
                created_at=now,
                sinks=self.sinks,
            )
            for report, leaf in zip(reports, leaves, strict=True):
                report.leaf_sequence = leaf.sequence
            return len(leaves)

    def mark_filed_late(self) -> int:
        """Mark open reports whose document the platform has since filed in the reporter's name
        (the earliest such contract filed after the report). Returns how many were marked."""
        with self.db.read() as session:
            if (
                session.execute(select(Report.id).where(Report.filed_contract_id.is_(None)).limit(1)).first()
                is None
            ):
                return 0
        with self.db.read() as session:
            first: dict[str, tuple[str, str]] = {}
            for report_id, contract_id, received_at in session.execute(_FILED_SINCE):
                first.setdefault(report_id, (contract_id, received_at))
        if not first:
            return 0
        marked = 0
        with self.db.write() as session:
            for report_id, (contract_id, received_at) in first.items():
                result = session.execute(
                    update(Report)
                    .where(Report.id == report_id, Report.filed_contract_id.is_(None))
                    .values(filed_contract_id=contract_id, filed_at=received_at)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    marked += 1
                    report = session.get(Report, report_id)
                    if report is not None:
                        self.events.filed_late(session, report)
        return marked
