"""Checks of ``notary audit`` over 瞒报 reports: each stored report against its bytes, its
signature, its attachment and its leaf; and each report leaf against a stored report, so a
report deleted from the database is found by the leaf that logged it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.services.audit.auditor import Divergence, DivergenceFound, Findings, batches, count_rows
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import LogLeaf
from notary.storage.report_models import Report
from notary.verify.errors import NotaryError
from notary.verify.reports import REPORT_LEAF_FORMAT, ReportLeaf, parse_report_leaf, parse_stored_report


@dataclass
class ReportAuditor:
    """Each report: its bytes hash to ``report_sha256``, parse, carry a signature that verifies,
    and agree with their searchable columns; its attachment is stored and hashes right; its
    leaf (once logged) is a ``notary-report/1`` leaf naming exactly this report."""

    blobs: BlobStore
    name: str = "reports"
    label: str = "reports"

    def total(self, db: Database) -> int:
        return count_rows(db, Report.id)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (
            Report.id, Report.platform_id, Report.key_fingerprint, Report.document_sha256,
            Report.reported_at, Report.lodged_at, Report.report, Report.report_sha256,
            Report.document_attached, Report.leaf_sequence,
        )  # fmt: skip
        for rows in batches(db, Report.id, columns, size=200):
            logged = [row.leaf_sequence for row in rows if row.leaf_sequence is not None]
            with db.read() as session:
                leaves = dict(
                    session.execute(
                        select(LogLeaf.sequence, LogLeaf.record).where(LogLeaf.sequence.in_(logged))
                    ).all()
                )
                for row in rows:
                    with findings.item("report", row.id):
                        self._check(row, leaves)
                        if row.document_attached:
                            self._check_attachment(session, row)
            yield len(rows)

    def _diverged(
        self, row: Any, message: str, expected: object = None, found: object = None
    ) -> DivergenceFound:
        return DivergenceFound(
            Divergence(
                self.name, "report", row.id, message,
                None if expected is None else str(expected), None if found is None else str(found),
            )
        )  # fmt: skip

    def _check(self, row: Any, leaves: dict[int, bytes]) -> None:
        digest = hashlib.sha256(row.report).hexdigest()
        if digest != row.report_sha256:
            raise self._diverged(row, "its bytes do not hash to report_sha256", row.report_sha256, digest)
        try:
            stored = parse_stored_report(bytes(row.report))
            stored.verify()
        except NotaryError as exc:
            raise self._diverged(row, f"{exc.code}: {exc.message}") from exc
        payload = stored.payload
        columns = {
            "id": (row.id, stored.report_id),
            "platform_id": (row.platform_id, payload.platform_id),
            "key_fingerprint": (row.key_fingerprint, payload.key_fingerprint),
            "document_sha256": (row.document_sha256, payload.document_sha256),
            "reported_at": (row.reported_at, payload.reported_at),
            "lodged_at": (row.lodged_at, stored.lodged_at),
        }
        for column, (in_row, in_bytes) in columns.items():
            if in_row != in_bytes:
                raise self._diverged(
                    row, f"column {column} disagrees with the report's bytes", in_bytes, in_row
                )
        if row.leaf_sequence is None:
            return
        record = leaves.get(row.leaf_sequence)
        if record is None:
            raise self._diverged(row, f"its log leaf {row.leaf_sequence} is missing")
        try:
            leaf = parse_report_leaf(bytes(record))
        except NotaryError as exc:
            raise self._diverged(
                row, f"log leaf {row.leaf_sequence} is not a report leaf: {exc.message}"
            ) from exc
        if (leaf.report_id, leaf.report_sha256, leaf.platform_id, leaf.lodged_at) != (
            row.id,
            digest,
            row.platform_id,
            row.lodged_at,
        ):
            raise self._diverged(
                row, f"log leaf {row.leaf_sequence} names another report", row.id, leaf.report_id
            )

    def _check_attachment(self, session: Session, row: Any) -> None:
        try:
            data = self.blobs.get(session, row.document_sha256)
        except NotaryError as exc:
            raise self._diverged(row, "its attached document is missing from the blob store") from exc
        found = hashlib.sha256(data).hexdigest()
        if found != row.document_sha256:
            raise self._diverged(
                row, "its attached document does not hash to its address", row.document_sha256, found
            )


@dataclass
class ReportLeafAuditor:
    """Each ``notary-report/1`` leaf names a stored report with its SHA-256 and links to it: a
    report deleted or replaced after it was logged is found here."""

    name: str = "report_leaves"
    label: str = "reports in the log"

    def total(self, db: Database) -> int:
        return count_rows(db, LogLeaf.sequence, LogLeaf.format == REPORT_LEAF_FORMAT)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (LogLeaf.sequence, LogLeaf.record)
        for rows in batches(db, LogLeaf.sequence, columns, LogLeaf.format == REPORT_LEAF_FORMAT):
            leaves: dict[int, ReportLeaf] = {}
            for row in rows:
                with findings.item("log leaf", row.sequence):
                    try:
                        leaves[row.sequence] = parse_report_leaf(bytes(row.record))
                    except NotaryError as exc:
                        raise DivergenceFound(
                            Divergence(self.name, "log leaf", str(row.sequence), exc.message)
                        ) from exc
            with db.read() as session:
                stored = {
                    report.id: report
                    for report in session.execute(
                        select(Report.id, Report.report_sha256, Report.leaf_sequence).where(
                            Report.id.in_([leaf.report_id for leaf in leaves.values()])
                        )
                    )
                }
            for sequence, leaf in leaves.items():
                with findings.item("log leaf", sequence):
                    self._check(sequence, leaf, stored.get(leaf.report_id))
            yield len(rows)

    def _check(self, sequence: int, leaf: ReportLeaf, report: Any) -> None:
        where = str(sequence)
        if report is None:
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where, f"report {leaf.report_id} is missing from the database"
                )
            )
        if report.report_sha256 != leaf.report_sha256:
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where, f"report {leaf.report_id} is not the one the log holds",
                    leaf.report_sha256, report.report_sha256,
                )
            )  # fmt: skip
        if report.leaf_sequence != sequence:
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where, f"report {leaf.report_id} links to another leaf",
                    str(sequence), str(report.leaf_sequence),
                )
            )  # fmt: skip
