"""The sealed scenario: batch filing, both signatures per contract, until every evidence is ready.

Three phases. (1) Filing, timed: ``POST /contracts/batch`` with 1000 contracts a call from
a few client threads. (2) The parties sign, not timed: in life they sign on their own
devices, and signing here would take the server's cores. (3) Signatures, timed: posted one
by one (``POST /contracts/{id}/signatures``) or in batches where the service has
``POST /contracts/signatures/batch``; then the clock runs until the last contract's
evidence is ready over HTTP. ``sealed_per_s`` is the number of contracts over the two
timed phases.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from bench.load import Connection, Meter, RequestFailed, Usage, percentile, run_threads
from bench.population import Population
from bench.progress import SIGNATURE_BATCH_PATH, LatencySampler, ReadyCheck, unready


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _file_all(
    connect: Any, population: Population, bodies: list[bytes], threads: int
) -> list[dict[str, Any]]:
    answers: list[list[dict[str, Any]]] = [[] for _ in bodies]
    order = itertools.count()

    def client(_: int) -> None:
        conn = connect()
        while (index := next(order)) < len(bodies):
            results = conn.json(
                "POST", "/api/v1/contracts/batch", raw=bodies[index], token=population.token, expect=(200,)
            )["results"]
            bad = [r for r in results if r["status"] != 201]
            if bad:
                raise RequestFailed(f"batch filing: {len(bad)} items refused, e.g. {bad[0]}")
            answers[index] = [r["body"] for r in results]
        conn.close()

    run_threads(threads, client)
    return [answer for batch in answers for answer in batch]


def _post_batches(connect: Any, chunks: list[list[dict[str, str]]], threads: int, on_accepted: Any) -> None:
    order = itertools.count()

    def client(_: int) -> None:
        conn = connect()
        while (index := next(order)) < len(chunks):
            results = conn.json("POST", SIGNATURE_BATCH_PATH, {"signatures": chunks[index]}, expect=(200,))[
                "results"
            ]
            accepted_at = time.perf_counter()
            bad = [r for r in results if r["status"] != 200]
            if bad:
                raise RequestFailed(f"batch signatures: {len(bad)} refused, e.g. {bad[0]}")
            on_accepted({item["contract_id"] for item in chunks[index]}, accepted_at)
        conn.close()

    run_threads(threads, client)


def _post_singles(connect: Any, signatures: list[dict[str, str]], threads: int, on_accepted: Any) -> None:
    # Both roles of a contract go from the same client, investor first.
    order = itertools.count()
    pairs = len(signatures) // 2

    def client(_: int) -> None:
        conn = connect()
        while (index := next(order)) < pairs:
            for item in signatures[2 * index : 2 * index + 2]:
                path = f"/api/v1/contracts/{item['contract_id']}/signatures"
                conn.json("POST", path, {"role": item["role"], "signature": item["signature"]}, expect=(200,))
            on_accepted({signatures[2 * index]["contract_id"]}, time.perf_counter())
        conn.close()

    run_threads(threads, client)


def _wait_all_sealed(db: Any, platform_id: str, count: int, timeout: float) -> str:
    """Poll the database until all ``count`` contracts are sealed; returns the last one's id."""
    from sqlalchemy import func, select

    from notary.storage.models import Contract

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read() as session:
            sealed = session.execute(
                select(func.count())
                .select_from(Contract)
                .where(Contract.platform_id == platform_id, Contract.status == "sealed")
            ).scalar_one()
            if sealed >= count:
                return str(
                    session.execute(
                        select(Contract.id)
                        .where(Contract.platform_id == platform_id)
                        .order_by(Contract.record_sequence.desc())
                        .limit(1)
                    ).scalar_one()
                )
        time.sleep(0.02)
    raise TimeoutError(f"not all {count} contracts were sealed within {timeout} s")


def run_sealed(
    service: Any,
    population: Population,
    db: Any,
    *,
    contracts: int,
    tag: str,
    document_bytes: int,
    threads: int = 4,
    batch_signatures: bool,
    evidence_route: bool,
    samples: int = 24,
) -> dict[str, Any]:
    """Run the scenario; returns its figures (see docs/benchmark.md)."""

    def connect() -> Connection:
        return Connection(service.host, service.port)

    bodies = [
        population.batch_body(start, min(1000, contracts - start), tag, document_bytes)
        for start in range(0, contracts, 1000)
    ]
    meter = Meter(service.pids)

    meter.start()
    filed = _file_all(connect, population, bodies, threads)
    filing: Usage = meter.stop()

    signatures = [
        {"contract_id": answer["contract_id"], "role": role, "signature": population.sign(answer, role)}
        for answer in filed
        for role in ("investor", "borrower")
    ]
    ids = [answer["contract_id"] for answer in filed]
    sampled = set(ids[:: max(1, len(ids) // samples)])
    check = ReadyCheck(connect(), population.token, evidence_route=evidence_route)
    sampler = LatencySampler(
        ReadyCheck(connect(), population.token, evidence_route=evidence_route),
        interval=0.1,
        first=0.5,
        limit=len(sampled),
    )
    lock = threading.Lock()

    def on_accepted(contract_ids: set[str], accepted_at: float) -> None:
        with lock:
            for contract_id in contract_ids & sampled:
                sampler.offer(contract_id, accepted_at)

    meter.start()
    signing_started = time.perf_counter()
    sampler.start()
    if batch_signatures:
        # 500 contracts (1000 signatures) a call, both roles of a contract in the same call.
        chunks = [signatures[start : start + 1000] for start in range(0, len(signatures), 1000)]
        _post_batches(connect, chunks, threads, on_accepted)
    else:
        _post_singles(connect, signatures, threads * 2, on_accepted)
    signed_wall = time.perf_counter()
    last = _wait_all_sealed(db, population.platform_id, len(ids), timeout=300 + contracts / 50)
    while not check.ready(last):
        time.sleep(0.02)
    ready_wall = time.perf_counter()
    sealing: Usage = meter.stop()
    sampler.finish(timeout=30)

    late = unready(db, ids)
    while late:  # not expected: evidence becomes ready in log order
        time.sleep(0.05)
        late = [contract_id for contract_id in late if not check.ready(contract_id)]
        ready_wall = time.perf_counter()
    total = filing.wall + (ready_wall - signing_started)
    return {
        "sealed_contracts": len(ids),
        "sealed_per_s": round(len(ids) / total, 1),
        "sealed_filing_per_s": round(len(ids) / filing.wall, 1),
        "sealed_signatures_per_s": round(len(signatures) / (signed_wall - signing_started), 1),
        "sealed_drain_s": round(ready_wall - signed_wall, 2),
        "sealed_latency_p50_ms": _ms(percentile(sampler.latencies, 0.5)),
        "sealed_latency_p99_ms": _ms(percentile(sampler.latencies, 0.99)),
        "sealed_latency_samples": len(sampler.latencies),
        "sealed_latency_polls": sampler.polls,
        "sealed_service_cpu_ms_per_contract": round(
            (filing.service_cpu + sealing.service_cpu) / len(ids) * 1000, 2
        ),
        "sealed_filing_usage": filing.shares(),
        "sealed_signing_usage": sealing.shares(),
        "signature_mode": "batch" if batch_signatures else "single",
    }
