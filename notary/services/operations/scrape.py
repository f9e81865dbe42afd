"""What ``GET /metrics`` reads from the instance when scraped: contracts by status, the wait to
be sealed, the log and its newest checkpoint, the worker's lease, the certificates' days left,
the disk, and the doctor's verdict.

These are states, not events, so they are read fresh at each scrape from the database and the
key folder (a few indexed queries and four small files) instead of being counted in one
process: every web process answers the same, whichever one Prometheus reaches. Labels are
statuses, certificate names and check names, never an id or a person's data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from notary.services.clock import Clock, parse_time
from notary.services.operations.checkup import Check, Doctor, Severity
from notary.storage.db import Database
from notary.storage.models import Contract, SignedCheckpoint
from notary.storage.tree import tree_state
from notary.verify.vocabulary import ContractStatus


class InstanceCollector(Collector):
    """A prometheus-client collector over one instance's database and files."""

    def __init__(
        self, db: Database, doctor: Doctor, clock: Clock, wall: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.doctor = doctor
        self.clock = clock
        self.wall = wall

    def collect(self) -> Iterator[Metric]:
        checkup = self.doctor.checkup(deep=False)
        up = GaugeMetricFamily("notary_database_up", "1 when the database answered this scrape.")
        try:
            store = self._store()
        except SQLAlchemyError:
            up.add_metric([], 0)
            store = None
        else:
            up.add_metric([], 1)
        yield up
        if store is not None:
            yield from store
        yield from self._checkup(checkup)

    def _store(self) -> list[Metric]:
        now = self.clock()
        with self.db.read() as session:
            by_status: dict[str, int] = {
                str(status): int(count)
                for status, count in session.execute(
                    select(Contract.status, func.count()).group_by(Contract.status)
                ).all()
            }
            log_size, _ = tree_state(session)
            newest = session.execute(
                select(SignedCheckpoint.tree_size, SignedCheckpoint.signed_at)
                .order_by(SignedCheckpoint.tree_size.desc())
                .limit(1)
            ).first()
        contracts = GaugeMetricFamily(
            "notary_contracts", "Contracts by status (filed contracts not yet signed are awaiting_signatures).",
            labels=["status"],
        )  # fmt: skip
        for status in ContractStatus:
            contracts.add_metric([str(status)], by_status.get(str(status), 0))
        size = GaugeMetricFamily("notary_log_size_leaves", "Leaves in the transparency log (its tree size).")
        size.add_metric([], log_size)
        checkpoint_size = GaugeMetricFamily(
            "notary_checkpoint_tree_size", "The tree size of the newest signed checkpoint."
        )
        checkpoint_age = GaugeMetricFamily(
            "notary_checkpoint_age_seconds", "Seconds since the newest checkpoint was signed (service clock)."
        )
        if newest is not None:
            checkpoint_size.add_metric([], newest[0])
            checkpoint_age.add_metric([], max(0.0, (now - parse_time(newest[1])).total_seconds()))
        return [contracts, size, checkpoint_size, checkpoint_age]

    def _checkup(self, checkup: Any) -> Iterator[Metric]:
        verdict = GaugeMetricFamily(
            "notary_checkup_severity",
            "The doctor's verdict: 0 ok, 1 warning (act soon), 2 failure (act now).",
        )
        verdict.add_metric([], checkup.severity.rank)
        yield verdict
        checks = GaugeMetricFamily(
            "notary_check_severity",
            "Each check's worst finding: 0 ok, 1 warning, 2 failure.",
            labels=["check"],
        )
        for check in Check:
            worst = checkup.worst(check)
            if worst is not None:
                checks.add_metric([str(check)], worst.rank)
        yield checks
        days = GaugeMetricFamily(
            "notary_certificate_days_left",
            "Whole days left on each certificate the notary relies on (negative once expired).",
            labels=["certificate"],
        )
        expiry = GaugeMetricFamily(
            "notary_certificate_expiry_timestamp_seconds",
            "When each certificate the notary relies on expires (Unix time).",
            labels=["certificate"],
        )
        for finding in checkup.of(Check.CERTIFICATE):
            if "days_left" in finding.facts:
                days.add_metric([finding.subject], finding.facts["days_left"])
                expiry.add_metric([finding.subject], parse_time(finding.facts["not_after"]).timestamp())
        yield days
        yield expiry
        yield from self._facts(checkup)

    def _facts(self, checkup: Any) -> Iterator[Metric]:
        for check, name, key, text in (
            (Check.DISK, "notary_disk_free_bytes", "free_bytes", "Free bytes on the instance folder's disk."),
            (
                Check.SEALING,
                "notary_contracts_waiting_to_seal",
                "waiting",
                "Signed contracts waiting to be sealed into the log.",
            ),
            (
                Check.SEALING,
                "notary_seal_oldest_wait_seconds",
                "oldest_wait",
                "How long the oldest signed contract has waited to be sealed (0 when none waits).",
            ),
            (
                Check.SEALING,
                "notary_timestamp_backlog_leaves",
                "timestamp_backlog",
                "Sealed leaves waiting for their RFC 3161 timestamp.",
            ),
            (
                Check.WORKER,
                "notary_worker_heartbeat_age_seconds",
                "heartbeat_age",
                "Seconds since the leading worker renewed its lease (absent when none leads).",
            ),
        ):
            family = GaugeMetricFamily(name, text)
            found = checkup.of(check)
            value = found[0].facts.get(key) if found else None
            if value is not None:
                family.add_metric([], value)
            yield family
        leading = GaugeMetricFamily(
            "notary_worker_leading", "1 when a background worker holds a live lease (it seals and stamps)."
        )
        leading.add_metric([], 1 if checkup.worst(Check.WORKER) is Severity.OK else 0)
        yield leading
