"""Inclusion proofs from a big log: how long one takes over HTTP and how many reads it costs.

The log is built straight into a fresh instance's database with the service's own storage
code: :func:`notary.services.tlog.sequencer.append_leaves` with the tree sink (leaves, tree nodes
and the log state in one transaction per chunk), then one signed checkpoint by the
instance's checkpointer. Leaves are small hash-chained filler records (``bench-filler/1``):
a proof reads tree nodes only, never records, so their size does not matter here.

The instance is then served as in production (gunicorn, 2 workers; no background worker,
which would start stamping a million leaves) and one client asks for proofs of random
leaves in the full tree: ``proof_p50_ms`` / ``proof_p99_ms``. Four clients then measure
``proof_per_s``. ``proof_reads`` counts the SQL statements one proof request runs, with a
SQLAlchemy ``before_cursor_execute`` hook in this process on the same database.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.instance import Instance, Service
from bench.load import Connection, Meter, percentile, run_threads


def _filler(sequence: int, previous_sha256: str) -> bytes:
    from notary.verify.canonical import canonical_json

    return canonical_json(
        {"format": "bench-filler/1", "sequence": sequence, "previous_record_sha256": previous_sha256}
    )


def build_log(rt: Any, leaves: int, *, chunk: int = 25000) -> None:
    """Append ``leaves`` filler leaves to ``rt``'s log and sign a checkpoint over them."""
    from notary.services.tlog.sequencer import append_leaves
    from notary.storage.tree import TreeSink
    from notary.verify.payloads import format_time

    sink = TreeSink()
    now = format_time(rt.clock())
    for start in range(0, leaves, chunk):
        builders = [("bench-filler/1", None, _filler)] * min(chunk, leaves - start)
        with rt.db.write() as session:
            append_leaves(session, builders, created_at=now, sinks=[sink])
    if not rt.checkpointer.run_once():
        raise RuntimeError("the checkpoint over the built log was not signed")


def count_reads(rt: Any, leaves: int, samples: int = 50) -> dict[str, Any]:
    """SQL statements per proof request, counted in this process (Flask test client, same database)."""
    from sqlalchemy import event

    from notary.app import create_app
    from notary.verify.merkle.plan import inclusion_proof_plan

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    client = create_app(runtime=rt).test_client()
    rng = random.Random(2)
    per_request, selects, nodes = [], [], []
    event.listen(rt.db.engine, "before_cursor_execute", count)
    try:
        for _ in range(samples):
            leaf = rng.randrange(leaves)
            statements.clear()
            answer = client.get(f"/api/v1/log/proof/inclusion?leaf_index={leaf}&tree_size={leaves}")
            assert answer.status_code == 200, answer.get_json()
            per_request.append(len(statements))
            selects.append(statements.count("SELECT"))
            nodes.append(len(inclusion_proof_plan(leaf, leaves).nodes))
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", count)
    return {
        "proof_reads": round(statistics.median(selects)),
        "proof_statements": round(statistics.median(per_request)),
        "proof_nodes": round(statistics.median(nodes)),
    }


def _time_proofs(service: Service, leaves: int, requests: int) -> dict[str, Any]:
    conn = Connection(service.host, service.port)
    rng = random.Random(1)

    def ask(leaf: int, client: Connection) -> None:
        answer = client.request("GET", f"/api/v1/log/proof/inclusion?leaf_index={leaf}&tree_size={leaves}")
        if answer.status != 200:
            raise RuntimeError(f"proof of {leaf}: {answer.status} {answer.body[:200]!r}")

    for _ in range(20):
        ask(rng.randrange(leaves), conn)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        ask(rng.randrange(leaves), conn)
        latencies.append(time.perf_counter() - started)
    budget = itertools.count()
    meter = Meter(service.pids).start()

    def client(index: int) -> None:
        own = Connection(service.host, service.port)
        local = random.Random(100 + index)
        while next(budget) < requests * 2:
            ask(local.randrange(leaves), own)

    run_threads(4, client)
    usage = meter.stop()
    return {
        "proof_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),  # type: ignore[operator]
        "proof_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),  # type: ignore[operator]
        "proof_per_s": round(requests * 2 / usage.wall, 1),
        "proof_service_cpu_us": round(usage.service_cpu / (requests * 2) * 1e6, 1),
        "proof_usage": usage.shares(),
    }


def run_proofs(
    plan: Any, database_url: str, say: Callable[[str], None], database_pids: Callable[[], list[int]]
) -> dict[str, Any]:
    """Build the log, then measure proofs over HTTP and reads in process; returns the figures."""
    from notary.config import Settings
    from notary.runtime import Runtime

    instance = Instance.create("proofs", database_url)
    rt = Runtime(Settings.load({}, instance_path=instance.path, database_url=database_url), web=True)
    try:
        started = time.perf_counter()
        build_log(rt, plan.proof_leaves)
        figures: dict[str, Any] = {
            "proof_leaves": plan.proof_leaves,
            "proof_log_build_s": round(time.perf_counter() - started, 1),
        }
        say(f"proofs: log built in {figures['proof_log_build_s']} s; serving it")
        figures.update(count_reads(rt, plan.proof_leaves))
        service = Service(instance, background=False, database_pids=database_pids).start()
        try:
            rss_before = service.rss()["total"]
            figures.update(_time_proofs(service, plan.proof_leaves, plan.proof_requests))
            figures["proof_rss_mb_start"] = rss_before
            figures["proof_rss_mb"] = service.rss()["total"]
        finally:
            service.stop()
        say(f"proofs: p50 {figures['proof_p50_ms']} ms, {figures['proof_reads']} reads")
        return figures
    finally:
        rt.close()
        instance.remove()
