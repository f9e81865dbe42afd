"""What ``/healthz`` reports: can the service answer, how far behind is its background work, and
the doctor's checkup in short (:mod:`notary.services.operations.checkup`).

The keys are loaded when the process starts (an unreadable key stops it there), so a process
that answers has them; ``keys`` stays in the report for the clients that read it. ``status``
says whether this process can serve (a load balancer's question); ``checkup`` whether anything
needs an operator (``ok``, ``warning``, ``failure``), which does not make the process unusable.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from notary.services.ceremony.signatures import SIGNED
from notary.services.operations.checkup import Doctor, short_facts
from notary.services.tlog.timestamps import timestamp_backlog
from notary.storage.db import Database
from notary.storage.models import Contract


class Health:
    """The service's health, read from the database."""

    def __init__(self, db: Database, doctor: Doctor) -> None:
        self.db = db
        self.doctor = doctor

    def report(self) -> tuple[dict[str, Any], bool]:
        """The report and whether the service is usable (its database answers)."""
        report: dict[str, Any] = {
            "status": "ok",
            "database": "ok",
            "keys": "ok",
            "timestamp_backlog": None,
            "sequencer_lag": None,
        }
        try:
            with self.db.read() as session:
                report["sequencer_lag"] = session.execute(
                    select(func.count()).select_from(Contract).where(Contract.status == SIGNED)
                ).scalar_one()
                report["timestamp_backlog"] = timestamp_backlog(session)
        except SQLAlchemyError:
            report["database"] = "unavailable"
        usable = report["database"] == "ok"
        if usable:
            report.update(short_facts(self.doctor.checkup(deep=False)))
        if not usable:
            report["status"] = "unavailable"
        return report, usable
