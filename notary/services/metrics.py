"""The process's Prometheus instruments: what happens inside a request or a worker round.

Counted where it happens, in whichever process it happens in (a gunicorn worker, the background
worker). Under ``notary serve`` every process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and ``GET /metrics``
adds them up; without that variable each process keeps its own.

No label ever holds a person's data, a contract, party or platform id, or a token: labels are
route templates, methods, status codes, authority names (``embedded`` or the URL an operator
configured) and fixed words. The state of the instance (contracts by status, the log, the
certificates) is read from the database when scraped (:mod:`notary.services.operations.metrics`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Request latency buckets (seconds): a signature takes milliseconds, a case export minutes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)

REQUESTS = Counter(
    "notary_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "notary_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
TSA_REQUESTS = Counter(
    "notary_tsa_requests",
    "Requests to timestamp authorities, by authority and outcome (ok, failed).",
    ["authority", "outcome"],
)
TSA_SECONDS = Histogram(
    "notary_tsa_request_duration_seconds",
    "Time a timestamp authority took to give a token (or fail), by authority.",
    ["authority"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SEAL_LATENCY = Histogram(
    "notary_seal_latency_seconds",
    "From a contract's last signature to its record sealed into the log (its timestamp follows "
    "in the same worker round).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
WORKER_ROUNDS = Counter(
    "notary_worker_rounds",
    "Rounds of background work the leading worker ran, by outcome (ok, failed).",
    ["outcome"],
)
WORKER_ITEMS = Counter(
    "notary_worker_items", "Items of background work done (leaves sealed, tokens, checkpoints, chores)."
)
WORKER_LAST_ROUND = Gauge(
    "notary_worker_last_round_timestamp_seconds",
    "When the leading worker last finished a round (Unix time, the machine's clock).",
    multiprocess_mode="max",
)


def tsa_outcome(authority: str, seconds: float, failure: str | None) -> None:
    """Count one exchange with a timestamp authority (the TSA client's observer)."""
    TSA_REQUESTS.labels(authority=authority, outcome="failed" if failure else "ok").inc()
    TSA_SECONDS.labels(authority=authority).observe(seconds)
