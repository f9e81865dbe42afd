"""The webhooks scenario: what the outbox costs sealing, and how fast events reach a receiver.

The sealed scenario (batch filing, both signatures, until every evidence is ready) runs four
times on the same service, each for a new platform:

1. ``baseline``: no webhook endpoint (the platform hears nothing; nothing is written);
2. ``outbox``: an endpoint subscribed to every event but paused, so every event and its
   delivery are written in the transactions that cause them and none is sent: the outbox's
   own cost;
3. ``delivering``: the endpoint active, its receiver a separate process on loopback that checks
   every signature: events are written and sent while sealing runs;
4. ``baseline_again``: as 1, to see how far the machine drifted over the run.

The ratios compare each run with the mean of the two baselines, from the same run of the
service on the same machine. Four events per contract: ``contract.signed`` twice,
``contract.sealed``, ``evidence.ready``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procs
from bench.instance import Instance, Service, free_port
from bench.load import Connection, Meter
from bench.population import Population
from bench.sealed import run_sealed

EVENTS_PER_CONTRACT = 4


class ReceiverProcess:
    """``python -m bench.receiver`` on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="notary-bench-receiver-"))
        self.secret_file = self.folder / "secret"
        self.secret_file.write_text("none yet")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", str(self.port), str(self.secret_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.conn = Connection("127.0.0.1", self.port)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notary"

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        answer = self.conn.request("GET", "/reset" if reset else "/stats")
        return dict(answer.json())

    def cpu_seconds(self) -> float:
        return procs.cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.conn.close()


def _subscribe(conn: Connection, population: Population, receiver: ReceiverProcess, *, paused: bool) -> str:
    created = conn.json(
        "POST", "/api/v1/webhooks", {"url": receiver.url}, token=population.token, expect=(201,)
    )
    receiver.secret_file.write_text(created["secret"]["secret"])
    if paused:
        conn.json(
            "PATCH",
            f"/api/v1/webhooks/{created['webhook_id']}",
            {"status": "paused"},
            token=population.token,
            expect=(200,),
        )
    return str(created["webhook_id"])


def run_webhooks(
    service: Service,
    instance: Instance,
    db: Any,
    *,
    contracts: int,
    tag: str,
    document_bytes: int,
    batch_signatures: bool,
    evidence_route: bool,
    say: Any,
) -> dict[str, Any]:
    """Run the four sealed runs; returns the webhooks figures (see docs/benchmark.md)."""
    conn = Connection(service.host, service.port)
    receiver = ReceiverProcess()
    runs: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"webhook_contracts": contracts}
    try:
        for label, endpoint in (
            ("baseline", None),
            ("outbox", "paused"),
            ("delivering", "active"),
            ("baseline_again", None),
        ):
            platform_id, token = instance.add_platform(f"Bench Webhooks {label}")
            population = Population.enrol(
                conn, platform_id, token, instance.path.parent / f"parties-webhooks-{label}"
            )
            if endpoint is not None:
                _subscribe(conn, population, receiver, paused=endpoint == "paused")
            receiver.stats(reset=True)
            receiver_cpu = receiver.cpu_seconds()
            meter = Meter(service.pids).start()
            started = time.time()
            say(f"webhooks: sealed run '{label}' ({contracts} contracts)")
            run = run_sealed(
                service,
                population,
                db,
                contracts=contracts,
                tag=f"{tag}-{label}",
                document_bytes=document_bytes,
                batch_signatures=batch_signatures,
                evidence_route=evidence_route,
            )
            ended = time.time()
            runs[label] = run
            if endpoint == "active":
                during = receiver.stats()
                expected = contracts * EVENTS_PER_CONTRACT
                deadline = time.monotonic() + 600
                stats = during
                while stats["events"] < expected and time.monotonic() < deadline:
                    time.sleep(0.1)
                    stats = receiver.stats()
                whole = meter.stop()
                figures.update(
                    {
                        "webhook_delivering_service_cpu_s_until_drained": round(whole.service_cpu, 2),
                        "webhook_delivering_wall_s_until_drained": round(whole.wall, 2),
                        "webhook_events_expected": expected,
                        "webhook_events_delivered": stats["events"],
                        "webhook_bad_signatures": stats["bad_signatures"],
                        "webhook_requests": stats["requests"],
                        "webhook_events_during_sealing": during["events"],
                        "webhook_events_per_s_during_sealing": round(during["events"] / (ended - started), 1),
                        "webhook_events_per_s": round(
                            stats["events"] / max(stats["last"] - stats["first"], 1e-9), 1
                        ),
                        "webhook_drain_after_sealing_s": round(max(stats["last"] - ended, 0.0), 2),
                        "webhook_receiver_cpu_s": round(receiver.cpu_seconds() - receiver_cpu, 2),
                    }
                )
    finally:
        receiver.stop()
        conn.close()
    baseline = (runs["baseline"]["sealed_per_s"] + runs["baseline_again"]["sealed_per_s"]) / 2
    cpu = (
        runs["baseline"]["sealed_service_cpu_ms_per_contract"]
        + runs["baseline_again"]["sealed_service_cpu_ms_per_contract"]
    ) / 2
    for label, run in runs.items():
        figures[f"webhook_{label}_sealed_per_s"] = run["sealed_per_s"]
        figures[f"webhook_{label}_cpu_ms_per_contract"] = run["sealed_service_cpu_ms_per_contract"]
        figures[f"webhook_{label}_usage"] = run["sealed_signing_usage"]
    figures["webhook_baseline_drift"] = round(
        runs["baseline_again"]["sealed_per_s"] / runs["baseline"]["sealed_per_s"] - 1, 3
    )
    figures["webhook_outbox_cost"] = round(1 - runs["outbox"]["sealed_per_s"] / baseline, 3)
    figures["webhook_delivering_cost"] = round(1 - runs["delivering"]["sealed_per_s"] / baseline, 3)
    figures["webhook_outbox_cpu_ms_per_event"] = round(
        (runs["outbox"]["sealed_service_cpu_ms_per_contract"] - cpu) / EVENTS_PER_CONTRACT, 3
    )
    figures["webhook_delivering_cpu_ms_per_event"] = round(
        (runs["delivering"]["sealed_service_cpu_ms_per_contract"] - cpu) / EVENTS_PER_CONTRACT, 3
    )
    return figures
