"""Soak (issue 20, item 11): a live service under a steady lifecycle load (file, sign, sign) for a
while: no error at all, memory flat, filing latency percentiles per window, and nothing lost.

``make test`` soaks for 20 s at 4 lifecycles a second; ``make soak`` for 30 minutes at
``SOAK_RATE`` (default 25 a second: half the 49/s the benchmark measured on SQLite,
docs/benchmark.md) and prints the timeline docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any

import pytest

from notary.config import Settings
from notary.runtime import Runtime
from tests.support.chaos import SERVICE_ENV, Load, check_nothing_lost, resident_mb, wait_sealed
from tests.support.server import Service

pytestmark = [pytest.mark.wallclock, pytest.mark.slow]  # real processes on the machine's clock

SECONDS = float(os.environ.get("NOTARY_SOAK_SECONDS", "20"))
RATE = float(os.environ.get("NOTARY_SOAK_RATE", "4"))
WINDOWS = 10
#: Memory may grow this much from the first window to the last (caches filling, fonts loaded).
MEMORY_SLACK = 1.25


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if len(values) < 2:
        return {"p50": values[0] if values else None, "p95": None, "p99": None}
    cuts = statistics.quantiles(values, n=100)
    return {"p50": round(statistics.median(values), 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


def test_a_steady_load_gives_no_error_flat_memory_and_loses_nothing(
    settings: Settings, runtime: Runtime
) -> None:
    if settings.database_url:
        pytest.skip("the soak runs on SQLite only (a PostgreSQL soak is not built)")
    env = {**SERVICE_ENV, "NOTARY_CHECKPOINT_INTERVAL": "1s", "NOTARY_LEASE_DURATION": "5s"}
    timeline: list[dict[str, Any]] = []
    with Service(settings.instance_path, extra_env=env, workers=2) as service:
        with Load(service, threads=4, rate=RATE) as load:
            started = time.monotonic()
            window = SECONDS / WINDOWS
            filed_before = 0
            for number in range(1, WINDOWS + 1):
                time.sleep(max(0.0, started + number * window - time.monotonic()))
                now = time.monotonic()
                with load.acknowledged.lock:
                    recent = [ms for at, ms in load.acknowledged.latencies_ms if now - window <= at < now]
                    errors = sum(load.acknowledged.refused.values())
                    filed = len(load.acknowledged.filings)
                timeline.append(
                    {"at_s": round(now - started), "filed": filed - filed_before, "errors": errors,
                     "rss_mb": resident_mb(service), **_percentiles(recent)}
                )  # fmt: skip
                filed_before = filed
        signed = {
            cid
            for cid in load.acknowledged.filings
            if {(cid, "investor"), (cid, "borrower")} <= load.acknowledged.signatures
        }
        wait_sealed(runtime, signed)
        figures = check_nothing_lost(runtime, load.acknowledged)
    print(f"\nSOAK {json.dumps({'seconds': SECONDS, 'rate': RATE, **figures, 'timeline': timeline})}")
    assert load.acknowledged.refused == {}, load.acknowledged.refused
    achieved = figures["filings_acknowledged"] / SECONDS
    assert achieved >= RATE * 0.5, f"only {achieved:.1f} lifecycles a second of {RATE}"
    first, last = timeline[1]["rss_mb"], timeline[-1]["rss_mb"]  # after the first window's warm-up
    assert last <= first * MEMORY_SLACK, f"memory grew from {first} to {last} MiB: {timeline}"
