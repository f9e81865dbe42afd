"""What ``/healthz`` reports: can the service answer, and how far behind is its background work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from notary.errors import NotaryError
from notary.runtime import Runtime
from notary.services.ceremony.signatures import SIGNED
from notary.services.tlog.timestamps import timestamp_backlog
from notary.storage.models import Contract


def health(rt: Runtime) -> tuple[dict[str, Any], bool]:
    """The report and whether the service is usable (database and keys)."""
    report: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "keys": "ok",
        "timestamp_backlog": None,
        "sequencer_lag": None,
    }
    try:
        rt.keys  # noqa: B018 - loading them is the check
    except NotaryError:
        report["keys"] = "unavailable"
    try:
        with rt.db.read() as session:
            report["sequencer_lag"] = session.execute(
                select(func.count()).select_from(Contract).where(Contract.status == SIGNED)
            ).scalar_one()
            report["timestamp_backlog"] = timestamp_backlog(session)
    except SQLAlchemyError:
        report["database"] = "unavailable"
    usable = report["database"] == "ok" and report["keys"] == "ok"
    if not usable:
        report["status"] = "unavailable"
    return report, usable
