"""The order of the run: databases, the service and its scenarios, the proofs, the ceilings."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bench.instance import Instance, Service
from bench.load import Connection
from bench.postgres import Cluster
from bench.progress import EVIDENCE_PATH, SIGNATURE_BATCH_PATH, api_paths

SCENARIOS = (
    "sealed", "lifecycle", "evidence", "webhooks", "proofs", "ceilings", "witnesses", "transparency", "servers",
    "lingers",
)  # fmt: skip
OPT_IN = frozenset({"servers", "lingers"})
"""Scenarios run only when ``--only`` names them (the servers' comparison takes minutes)."""


@dataclass(frozen=True)
class Plan:
    quick: bool
    database: str
    database_url: str
    only: frozenset[str]
    contracts: int
    lifecycle_seconds: float
    proof_leaves: int
    ceiling_contracts: int
    proof_requests: int
    document_bytes: int
    signatures: str
    profile_dir: str
    profile_gil: bool = False
    webhook_contracts: int = 1000
    transparency_contracts: int = 10**6
    servers: frozenset[str] = frozenset()
    lingers: tuple[int, ...] = ()
    backup_contracts: int = 10**5

    def wants(self, scenario: str) -> bool:
        return scenario in self.only or (not self.only and scenario not in OPT_IN)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Databases:
    """Where each instance keeps its data: SQLite files, or databases on a PostgreSQL server."""

    def __init__(self, plan: Plan) -> None:
        self.cluster: Cluster | None = None
        self.server_url = plan.database_url
        self.created: list[str] = []
        if plan.database == "postgresql" and not self.server_url:
            say("starting a throwaway PostgreSQL cluster (durable: PostgreSQL's defaults)")
            self.cluster = Cluster(durable=True, settings={"shared_buffers": "256MB"}).start()
            self.server_url = self.cluster.url("postgres")

    @property
    def postgres(self) -> bool:
        return bool(self.server_url)

    def url_for(self, name: str) -> str:
        """A fresh database for one instance (empty string: SQLite in the instance folder)."""
        if not self.server_url:
            return ""
        from sqlalchemy.engine import make_url

        database = f"notary_bench_{os.getpid()}_{name}"
        self._execute(f"CREATE DATABASE {database}")
        self.created.append(database)
        return make_url(self.server_url).set(database=database).render_as_string(hide_password=False)

    def server_pids(self) -> list[int]:
        """The PostgreSQL server's processes when this run started it (its CPU is the service's)."""
        from bench import procs

        if self.cluster is None or (pid := self.cluster.postmaster_pid()) is None:
            return []
        return [pid, *(child.pid for child in procs.descendants(pid))]

    def _execute(self, sql: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.server_url)
        with (
            psycopg.connect(
                url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
            ) as conn,
        ):
            conn.execute(sql)

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            return
        for database in self.created:
            with contextlib.suppress(Exception):
                self._execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@contextlib.contextmanager
def _profiled(plan: Plan, service: Service, scenario: str) -> Iterator[None]:
    if not plan.profile_dir:
        yield
        return
    from bench.profiling import Profiler

    with Profiler(plan.profile_dir, service, gil=plan.profile_gil).scenario(scenario):
        yield


def _service_run(plan: Plan, databases: Databases, figures: dict[str, Any]) -> None:
    from bench.lifecycle import run_lifecycle
    from bench.population import Population
    from bench.sealed import run_sealed
    from notary.storage.db import Database

    # Webhooks go to a receiver on loopback over http (the webhooks scenario), as with --dev.
    instance = Instance.create("main", databases.url_for("main"), NOTARY_UNSAFE_WEBHOOK_LOOPBACK="1")
    service = Service(instance, database_pids=databases.server_pids).start()
    db = Database(instance.database_url or f"sqlite:///{instance.path / 'notary.db'}")
    try:
        conn = Connection(service.host, service.port)
        paths = api_paths(conn)
        batch = plan.signatures == "batch" or (plan.signatures == "auto" and SIGNATURE_BATCH_PATH in paths)
        evidence_route = EVIDENCE_PATH in paths
        figures["evidence_route"] = evidence_route
        figures["rss_mb_start"] = service.rss()["total"]
        tag = str(int(time.time()))
        if plan.wants("sealed"):
            platform_id, token = instance.add_platform("Bench Sealed")
            population = Population.enrol(conn, platform_id, token, instance.path.parent / "parties-sealed")
            say(f"sealed: {plan.contracts} contracts ({'batch' if batch else 'single'} signatures)")
            with _profiled(plan, service, "sealed"):
                figures.update(
                    run_sealed(
                        service,
                        population,
                        db,
                        contracts=plan.contracts,
                        tag=tag,
                        document_bytes=plan.document_bytes,
                        batch_signatures=batch,
                        evidence_route=evidence_route,
                    )
                )
            say(f"sealed: {figures['sealed_per_s']}/s")
            figures["rss_mb_after_sealed"] = service.rss()["total"]
        if plan.wants("lifecycle"):
            platform_id, token = instance.add_platform("Bench Lifecycle")
            population = Population.enrol(
                conn, platform_id, token, instance.path.parent / "parties-lifecycle"
            )
            say(f"lifecycle: {plan.lifecycle_seconds} s")
            with _profiled(plan, service, "lifecycle"):
                figures.update(
                    run_lifecycle(
                        service,
                        population,
                        seconds=plan.lifecycle_seconds,
                        tag=tag,
                        document_bytes=plan.document_bytes,
                        evidence_route=evidence_route,
                    )
                )
            say(f"lifecycle: {figures['lifecycle_per_s']}/s")
            figures["rss_mb_after_lifecycle"] = service.rss()["total"]
        if plan.wants("webhooks"):
            from bench.webhooks import run_webhooks

            figures.update(
                run_webhooks(
                    service,
                    instance,
                    db,
                    contracts=plan.webhook_contracts,
                    tag=tag,
                    document_bytes=plan.document_bytes,
                    batch_signatures=batch,
                    evidence_route=evidence_route,
                    say=say,
                )
            )
            say(
                f"webhooks: outbox cost {figures['webhook_outbox_cost']:.1%}, "
                f"{figures.get('webhook_events_per_s')} events/s delivered"
            )
        if plan.wants("evidence"):
            from bench.evidence import run_evidence

            platform_id, token = instance.add_platform("Bench Evidence")
            population = Population.enrol(conn, platform_id, token, instance.path.parent / "parties-evidence")
            say("evidence: certificates and offline verification")
            figures.update(
                run_evidence(conn, population, paths, tag=tag, count=3 if plan.quick else 7, db=db)
            )
        rss = service.rss()
        figures["rss_mb"] = rss["total"]
        figures["rss_mb_by_process"] = rss
        figures["rss_what"] = "sum over the gunicorn master, its web workers and the background worker"
        figures["log_leaves"] = _leaves(db)
    finally:
        db.dispose()
        service.stop()
        instance.remove()


def _leaves(db: Any) -> int:
    from sqlalchemy import func, select

    from notary.storage.models import LogLeaf

    with db.read() as session:
        return int(session.execute(select(func.count()).select_from(LogLeaf)).scalar_one())


def run(plan: Plan) -> dict[str, Any]:
    """Every scenario the plan asks for; returns the figures."""
    figures: dict[str, Any] = {}
    databases = Databases(plan)
    try:
        if any(plan.wants(name) for name in ("sealed", "lifecycle", "evidence", "webhooks")):
            _service_run(plan, databases, figures)
        if plan.wants("proofs"):
            from bench.proofs import run_proofs

            say(f"proofs: building a log of {plan.proof_leaves} leaves")
            figures.update(run_proofs(plan, databases.url_for("proofs"), say, databases.server_pids))
        if plan.wants("transparency"):
            from bench.transparency import run_transparency

            figures.update(run_transparency(plan, databases.url_for("transparency"), say))
        if plan.wants("servers"):
            from bench.servers import run_servers

            say("servers: each server's bare endpoint and lifecycle, twice")
            figures.update(run_servers(plan, databases, say))
        if plan.wants("lingers"):
            from bench.servers import run_lingers

            say("lingers: the lifecycle under each background-worker linger, twice")
            figures.update(run_lingers(plan, databases, say))
        if plan.wants("ceilings"):
            from bench.ceilings import run_ceilings

            say("ceilings")
            figures.update(run_ceilings(plan, databases.url_for("ceiling"), say))
        if plan.wants("backup"):
            from bench.backup import run_backup

            figures.update(
                run_backup(plan, databases.url_for("backup"), databases.url_for("backup_restored"), say)
            )
        if plan.wants("witnesses"):
            from bench.witnesses import run_witnesses

            say("witnesses: sealing with none and with two, twice each")
            figures.update(run_witnesses(plan, databases.url_for, say))
        if figures.get("sealed_per_s") and figures.get("ceiling_sealed_per_s"):
            figures["sealed_vs_ceiling"] = round(figures["sealed_per_s"] / figures["ceiling_sealed_per_s"], 3)
        if figures.get("lifecycle_per_s") and figures.get("empty_endpoint_per_s"):
            # Three requests per contract: the share of the bare HTTP stack's rate it reaches.
            figures["lifecycle_vs_empty"] = round(
                3 * figures["lifecycle_per_s"] / figures["empty_endpoint_per_s"], 3
            )
        if figures.get("lifecycle_per_s") and figures.get("ceiling_durable_commits_per_s"):
            # Three durable write transactions per contract: on SQLite, where writers take
            # turns, the share of the disk's serial commit rate the lifecycle reaches.
            figures["lifecycle_vs_commits"] = round(
                3 * figures["lifecycle_per_s"] / figures["ceiling_durable_commits_per_s"], 3
            )
    finally:
        databases.close()
    return figures
