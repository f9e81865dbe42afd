"""The lifecycle scenario: per contract one filing and two signature calls, from concurrent clients.

Each client thread files a contract (``POST /contracts``, JSON), signs both payloads as the
parties would, and posts the investor's and then the borrower's signature. The bodies are
the clients run for a fixed time. ``lifecycle_per_s`` counts contracts whose second
signature was accepted, over the wall time of the run.

Seal latency is measured here, under this steady load: for a sample of contracts, from the
moment the borrower's signature was accepted to the first poll (every 50 ms) at which the
evidence is ready.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from bench.load import Connection, Meter, percentile, run_threads
from bench.population import Population
from bench.progress import LatencySampler, ReadyCheck


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def run_lifecycle(
    service: Any,
    population: Population,
    *,
    seconds: float,
    tag: str,
    document_bytes: int,
    threads: int = 8,
    evidence_route: bool,
    sample_every: int = 10,
) -> dict[str, Any]:
    """Run the scenario; returns its figures (see docs/benchmark.md)."""
    order = itertools.count()
    completed: list[float] = []
    request_times: list[float] = []
    check = ReadyCheck(
        Connection(service.host, service.port), population.token, evidence_route=evidence_route
    )
    sampler = LatencySampler(check, interval=0.05, first=0.2, limit=3)

    def client(_: int) -> None:
        conn = Connection(service.host, service.port)
        while time.perf_counter() < stop_at:
            index = next(order)
            filing = population.filing_body(index, tag, document_bytes)
            started = time.perf_counter()
            filed = conn.json("POST", "/api/v1/contracts", raw=filing, token=population.token, expect=(201,))
            for role in ("investor", "borrower"):
                signature = {"role": role, "signature": population.sign(filed, role)}
                path = f"/api/v1/contracts/{filed['contract_id']}/signatures"
                conn.json("POST", path, signature, expect=(200,))
            finished = time.perf_counter()
            completed.append(finished)
            request_times.append((finished - started) / 3)
            if index % sample_every == 0:
                sampler.offer(filed["contract_id"], finished)
        conn.close()

    meter = Meter(service.pids)
    worker_meter = Meter(lambda: service.processes()["background_worker"])
    sampler.start()
    meter.start()
    worker_meter.start()
    started = time.perf_counter()
    stop_at = started + seconds
    run_threads(threads, client)
    usage = meter.stop()
    worker_usage = worker_meter.stop()
    sampler.finish(timeout=30)
    wall = max(completed) - started
    return {
        "lifecycle_contracts": len(completed),
        "lifecycle_per_s": round(len(completed) / wall, 1),
        "lifecycle_request_p50_ms": _ms(percentile(request_times, 0.5)),
        "lifecycle_service_cpu_ms_per_contract": round(usage.service_cpu / max(1, len(completed)) * 1000, 2),
        "lifecycle_worker_cpu_ms_per_contract": round(
            worker_usage.service_cpu / max(1, len(completed)) * 1000, 2
        ),
        "lifecycle_usage": usage.shares(),
        "seal_latency_p50_ms": _ms(percentile(sampler.latencies, 0.5)),
        "seal_latency_p99_ms": _ms(percentile(sampler.latencies, 0.99)),
        "seal_latency_samples": len(sampler.latencies),
        "seal_latency_polls": sampler.polls,
        "seal_latency_poll_errors": len(sampler.errors),
    }
