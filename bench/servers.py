"""WSGI servers side by side: the same app, the same clients, a different HTTP stack.

``sync`` and ``gthread`` are gunicorn as ``notary serve`` runs it (``NOTARY_WEB_THREADS`` 1 or
more); ``waitress`` (pure Python, threads, one process) and ``granian`` (a Rust HTTP stack
calling the WSGI app on a pool of threads per worker process) are run by this module the way
``notary serve`` runs gunicorn: ``python -m bench.servers SERVER --host H --port P`` does the
service's preflight, starts that server on ``notary.app:serve_app()`` and the background worker
beside it, and stops both together.

The servers scenario (:func:`run_servers`) measures each one's bare endpoint
(:mod:`bench.empty_app`) and then the lifecycle on a fresh instance under it, one server
after the other and then again in reverse order, so that a machine that got busier or
quieter during the run moves every server alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

SERVERS = ("sync", "gthread", "waitress", "granian")
THREADS = 2  # notary serve's default (NOTARY_WEB_THREADS)
"""Threads per web worker process for the threaded servers (two processes, eight clients)."""


def web_command(
    server: str, app: str, *, host: str, port: int, workers: int = 2, factory: bool = False
) -> list[str]:
    """The command that serves ``app`` (``module:name``; ``factory``: a function that builds it)."""
    from notary.cli.instance import gunicorn_command

    if server in ("sync", "gthread"):
        target = f"{app}()" if factory else app
        return gunicorn_command(
            target, host=host, port=port, workers=workers, threads=1 if server == "sync" else THREADS
        )
    if server == "waitress":
        # One process by design (its threads share one interpreter): 2 × THREADS threads.
        call = ["--call"] if factory else []
        return [sys.executable, "-m", "waitress", "--host", host, "--port", str(port),
                "--threads", str(workers * THREADS), *call, app]  # fmt: skip
    if server == "granian":
        call = ["--factory"] if factory else []
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host, "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(THREADS), "--no-access-log",
                "--log-level", "warning", *call, app]  # fmt: skip
    raise ValueError(f"unknown server {server!r} (one of {', '.join(SERVERS)})")


def serve(server: str, host: str, port: int, workers: int) -> int:
    """``notary serve``'s steps with another server in gunicorn's place."""
    from notary.cli.instance import _supervise, preflight, shared_metrics_folder
    from notary.config import Settings

    settings = Settings.load()
    preflight(settings)
    shared_metrics_folder(settings)
    web = web_command(server, "notary.app:serve_app", host=host, port=port, workers=workers, factory=True)
    return _supervise(web, [sys.executable, "-m", "notary.cli", "worker"])


def lifecycle_on_fresh_instance(
    plan: Any, databases: Any, name: str, *, server: str = "", **extra_env: str
) -> dict[str, Any]:
    """The lifecycle scenario on a fresh instance served by ``server`` (default: as ``notary
    serve``), with ``extra_env`` (``NOTARY_*`` settings) for its processes."""
    from bench.instance import Instance, Service
    from bench.lifecycle import run_lifecycle
    from bench.load import Connection
    from bench.population import Population
    from bench.progress import EVIDENCE_PATH, api_paths

    instance = Instance.create(name, databases.url_for(name), **extra_env)
    service = Service(instance, server=server, database_pids=databases.server_pids).start()
    try:
        conn = Connection(service.host, service.port)
        evidence_route = EVIDENCE_PATH in api_paths(conn)
        platform_id, token = instance.add_platform(f"Bench {name}")
        population = Population.enrol(conn, platform_id, token, instance.path.parent / "parties")
        conn.close()
        return run_lifecycle(
            service,
            population,
            seconds=plan.lifecycle_seconds,
            tag=name,
            document_bytes=plan.document_bytes,
            evidence_route=evidence_route,
        )
    finally:
        service.stop()
        instance.remove()


KEYS = ("empty_endpoint_per_s", "empty_endpoint_service_cpu_us", "lifecycle_per_s", "lifecycle_vs_empty",
        "lifecycle_service_cpu_ms_per_contract", "lifecycle_worker_cpu_ms_per_contract", "lifecycle_request_p50_ms", "seal_latency_p50_ms",
        "seal_latency_p99_ms")  # fmt: skip


def medians(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per variant: the median of each figure over its runs, and the runs themselves."""
    summary: dict[str, Any] = {}
    for name, results in runs.items():
        summary[name] = {
            key: round(statistics.median(r[key] for r in results if r.get(key) is not None), 2)
            for key in KEYS
            if any(r.get(key) is not None for r in results)
        }
        summary[name]["runs"] = [{key: r[key] for key in KEYS if key in r} for r in results]
    return summary


def run_servers(plan: Any, databases: Any, say: Callable[[str], None], rounds: int = 2) -> dict[str, Any]:
    """Each server's bare endpoint and lifecycle, ``rounds`` times (alternating order); medians."""
    from bench.ceilings import empty_endpoint

    servers = [name for name in SERVERS if not plan.servers or name in plan.servers]
    empty_seconds = 2.0 if plan.quick else 5.0
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for round_index in range(rounds):
        for name in servers if round_index % 2 == 0 else list(reversed(servers)):
            figures = empty_endpoint(empty_seconds, threads=8, server=name)
            figures.update(
                lifecycle_on_fresh_instance(plan, databases, f"servers_{name}_{round_index}", server=name)
            )
            figures["lifecycle_vs_empty"] = round(
                3 * figures["lifecycle_per_s"] / figures["empty_endpoint_per_s"], 3
            )
            say(
                f"servers: {name} empty {figures['empty_endpoint_per_s']}/s, lifecycle "
                f"{figures['lifecycle_per_s']}/s ({figures['lifecycle_service_cpu_ms_per_contract']} ms CPU), "
                f"seal p50/p99 {figures['seal_latency_p50_ms']}/{figures['seal_latency_p99_ms']} ms"
            )
            runs[name].append(figures)
    return {"servers": medians(runs), "servers_rounds": rounds}


def run_lingers(plan: Any, databases: Any, say: Callable[[str], None], rounds: int = 2) -> dict[str, Any]:
    """The lifecycle under each background-worker linger (``NOTARY_WORKER_LINGER``, ms), on the
    default server, ``rounds`` times in alternating order; medians (the group commit's curve)."""
    lingers = plan.lingers or (0, 5, 20, 50, 100)
    runs: dict[str, list[dict[str, Any]]] = {str(ms): [] for ms in lingers}
    for round_index in range(rounds):
        for ms in lingers if round_index % 2 == 0 else list(reversed(lingers)):
            figures = lifecycle_on_fresh_instance(
                plan, databases, f"linger_{ms}_{round_index}", NOTARY_WORKER_LINGER=f"{ms / 1000}s"
            )
            say(
                f"linger {ms} ms: lifecycle {figures['lifecycle_per_s']}/s "
                f"({figures['lifecycle_service_cpu_ms_per_contract']} ms CPU, "
                f"worker {figures['lifecycle_worker_cpu_ms_per_contract']}), seal p50/p99 {figures['seal_latency_p50_ms']}/{figures['seal_latency_p99_ms']} ms"
            )
            runs[str(ms)].append(figures)
    return {"lingers_ms": medians(runs), "lingers_rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=serve.__doc__)
    parser.add_argument("server", choices=[name for name in SERVERS if name not in ("sync", "gthread")])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return serve(args.server, args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
