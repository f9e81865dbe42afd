"""The witnesses scenario: what two witnesses cost sealing, and how long cosigning takes.

In one run, on fresh instances side by side, the sealed scenario (batch filing, both
signatures, until every evidence is ready) runs with no witness, then with two witnesses
(``notary witness serve``, each its own process on this machine, k = 2), then with none again
and with two again: ``witness_sealed_ratio`` is the median throughput with witnesses over the
median without, so the machine's drift between runs (it is shared) cancels out as far as it
can. Then, under no other load, ``witness_seal_ms`` and ``witness_cosigned_ms`` time single
contracts from the borrower's accepted signature to ``evidence.ready`` and to
``evidence.cosigned`` (polled every 20 ms): the wait a platform sees before the bundle
carries both cosignatures.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.instance import Instance, Service, free_port
from bench.load import Connection, median, percentile
from bench.population import Population
from bench.progress import SIGNATURE_BATCH_PATH, api_paths
from bench.sealed import run_sealed


class _Witness:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name, self.port = folder, name, free_port()
        self.env = {**os.environ, "NOTARY_WITNESS_DIR": str(folder)}
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "notary.cli", "witness", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def start(self, origin: str, log_key: str) -> dict[str, str]:
        key = json.loads(self.cli("init", "--name", self.name, "--json"))["cosigner_key"]
        self.cli("add-log", "--origin", origin, "--key", log_key)
        log = (self.folder.parent / f"{self.folder.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "notary.cli", "witness", "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    return {"name": self.name, "url": url, "cosigner_key": key}
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"witness {self.name} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


def _log_key(instance: Instance) -> tuple[str, str]:
    from notary.signing.keystore import load_keys
    from notary.signing.note_signer import NoteSigner

    settings: Any = instance.settings()
    keys = load_keys(settings.key_dir)
    signer = NoteSigner(settings.effective_log_origin, keys.log_key)
    return signer.name, signer.verifier_key


def _single_latencies(
    conn: Connection, population: Population, tag: str, count: int
) -> dict[str, list[float]]:
    ready: list[float] = []
    cosigned: list[float] = []
    for index in range(count):
        filed = conn.json(
            "POST", "/api/v1/contracts", raw=population.filing_body(index, tag, 2048), token=population.token,
            expect=(201,),
        )  # fmt: skip
        for role in ("investor", "borrower"):
            signature = {"role": role, "signature": population.sign(filed, role)}
            conn.json(
                "POST", f"/api/v1/contracts/{filed['contract_id']}/signatures", signature, expect=(200,)
            )
        accepted = time.perf_counter()
        seen_ready = None
        deadline = accepted + 30
        while time.perf_counter() < deadline:
            view = conn.json("GET", f"/api/v1/contracts/{filed['contract_id']}", token=population.token)
            evidence = view.get("evidence") or {}
            now = time.perf_counter()
            if evidence.get("ready") and seen_ready is None:
                seen_ready = now - accepted
                ready.append(seen_ready)
            if evidence.get("cosigned") or (
                evidence.get("ready") and evidence.get("witnesses") == "not_required"
            ):
                cosigned.append(now - accepted)
                break
            time.sleep(0.02)
    return {"ready": ready, "cosigned": cosigned}


def _one(
    database_url: str, witnesses: int, contracts: int, singles: int, tag: str, say: Any
) -> dict[str, Any]:
    instance = Instance.create(f"witnesses-{witnesses}", database_url)
    started: list[_Witness] = []
    service = None
    try:
        if witnesses:
            origin, log_key = _log_key(instance)
            configured = []
            for index in range(witnesses):
                witness = _Witness(instance.path.parent / f"witness-{index}", f"bench.witness/w{index}")
                started.append(witness)
                configured.append(witness.start(origin, log_key))
            instance.extra_env.update(
                NOTARY_WITNESSES=json.dumps(configured), NOTARY_WITNESS_K=str(witnesses)
            )
        service = Service(instance).start()
        conn = Connection(service.host, service.port)
        batch = SIGNATURE_BATCH_PATH in api_paths(conn)
        platform_id, token = instance.add_platform("Bench Witnesses")
        population = Population.enrol(conn, platform_id, token, instance.path.parent / "parties")
        from notary.storage.db import Database

        db = Database(instance.database_url or f"sqlite:///{instance.path / 'notary.db'}")
        try:
            figures = run_sealed(
                service, population, db, contracts=contracts, tag=tag, document_bytes=2048,
                batch_signatures=batch, evidence_route=True,
            )  # fmt: skip
        finally:
            db.dispose()
        latencies = _single_latencies(conn, population, tag + "-single", singles)
        say(f"witnesses={witnesses}: {figures['sealed_per_s']}/s sealed")
        return {**figures, **latencies}
    finally:
        if service is not None:
            service.stop()
        for witness in started:
            witness.stop()
        instance.remove()


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def run_witnesses(plan: Any, database_url: Any, say: Any) -> dict[str, Any]:
    """The scenario; ``database_url(name)`` gives each instance its database. Returns its
    figures (docs/benchmark.md, docs/witnesses.md)."""
    # A fifth of the sealed scenario's contracts in a full run (four runs here), all in --quick.
    contracts = plan.contracts if plan.quick else max(1, plan.contracts // 5)
    singles = max(2, min(20, contracts // 20))
    tag = f"w{int(time.time())}"
    runs: dict[int, list[dict[str, Any]]] = {0: [], 2: []}
    for round_index in range(2 if contracts >= 100 else 1):
        for witnesses in (0, 2):
            url = database_url(f"witnesses_{round_index}_{witnesses}")
            runs[witnesses].append(
                _one(url, witnesses, contracts, singles, f"{tag}-{round_index}-{witnesses}", say)
            )
    none = median([run["sealed_per_s"] for run in runs[0]]) or 0.0
    two = median([run["sealed_per_s"] for run in runs[2]]) or 0.0
    ready_none = [value for run in runs[0] for value in run["ready"]]
    ready_two = [value for run in runs[2] for value in run["ready"]]
    cosigned = [value for run in runs[2] for value in run["cosigned"]]
    return {
        "witness_contracts": contracts,
        "witness_sealed_per_s_none": [run["sealed_per_s"] for run in runs[0]],
        "witness_sealed_per_s_two": [run["sealed_per_s"] for run in runs[2]],
        "witness_sealed_ratio": round(two / none, 3) if none else None,
        "witness_sealed_latency_p50_ms_none": median([run["sealed_latency_p50_ms"] or 0 for run in runs[0]]),
        "witness_sealed_latency_p50_ms_two": median([run["sealed_latency_p50_ms"] or 0 for run in runs[2]]),
        "witness_sealed_latency_p99_ms_none": median([run["sealed_latency_p99_ms"] or 0 for run in runs[0]]),
        "witness_sealed_latency_p99_ms_two": median([run["sealed_latency_p99_ms"] or 0 for run in runs[2]]),
        "witness_seal_ms_p50_none": _ms(percentile(ready_none, 0.5)),
        "witness_seal_ms_p50_two": _ms(percentile(ready_two, 0.5)),
        "witness_cosigned_ms_p50": _ms(percentile(cosigned, 0.5)),
        "witness_cosigned_ms_p99": _ms(percentile(cosigned, 0.99)),
        "witness_cosigned_samples": len(cosigned),
    }


if __name__ == "__main__":  # python -m bench.witnesses [--quick]: this scenario alone
    from bench.run import say

    class _Plan:
        quick = "--quick" in sys.argv
        contracts = 1000 if quick else 20000

    print(json.dumps(run_witnesses(_Plan(), lambda _name: "", say)))
