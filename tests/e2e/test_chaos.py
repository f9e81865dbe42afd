"""Crashes under load (issue 20, item 8): kill -9 the web workers and the background worker of a
live ``notary serve`` at random moments while clients file and sign, then check that nothing the
service acknowledged was lost, nothing is there twice, ``notary audit`` is clean and every
checkpoint it ever served is consistent with the newest. On SQLite and PostgreSQL; and once with
PostgreSQL itself killed mid-load and restarted.

``make test`` runs 3 kills per database; ``make chaos`` runs 20 (``NOTARY_CHAOS_TRIALS``) and
prints the figures that docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bench.postgres import Cluster
from notary.config import Settings
from notary.runtime import Runtime
from tests.support.chaos import SERVICE_ENV, Load, check_nothing_lost, victims, wait_sealed
from tests.support.server import Service, notary

pytestmark = [pytest.mark.wallclock, pytest.mark.slow]  # real processes on the machine's clock

TRIALS = int(os.environ.get("NOTARY_CHAOS_TRIALS", "3"))


def _audit(service: Service) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(notary(["audit", "--json"], service.env))
    return report


def _settle(rt: Runtime, load: Load) -> None:
    """Every contract both parties' signatures were acknowledged for gets sealed."""
    signed = {
        cid
        for cid in load.acknowledged.filings
        if {(cid, "investor"), (cid, "borrower")} <= load.acknowledged.signatures
    }
    wait_sealed(rt, signed)


def _report(name: str, figures: dict[str, Any]) -> None:
    print(f"\nCHAOS {name} {json.dumps(figures, sort_keys=True)}")


def test_killing_web_and_background_workers_under_load_loses_nothing(
    settings: Settings, runtime: Runtime
) -> None:
    rng = random.Random(os.environ.get("NOTARY_CHAOS_SEED", "20"))
    env = {**SERVICE_ENV, "NOTARY_DATABASE_URL": settings.database_url}
    kills: dict[str, int] = {"web": 0, "worker": 0}
    with Service(settings.instance_path, extra_env=env, workers=2) as service:
        with Load(service, threads=2) as load:
            for _ in range(TRIALS):
                time.sleep(rng.uniform(0.3, 2.0))
                found = victims(service)
                kind = rng.choice([k for k, pids in found.items() if pids])
                os.kill(rng.choice(found[kind]), signal.SIGKILL)
                kills[kind] += 1
            time.sleep(1.0)  # the last victim replaced, some load after it
        _settle(runtime, load)
        figures = check_nothing_lost(runtime, load.acknowledged)
        audit = _audit(service)
    assert audit["clean"], audit
    assert figures["filings_acknowledged"] > 0
    _report(f"workers {runtime.db.engine.dialect.name}", {**figures, "kills": kills})


@pytest.mark.postgres
def test_killing_postgresql_mid_load_and_restarting_it_loses_nothing(
    instance_template: Path, tmp_path: Path
) -> None:
    cluster = Cluster(durable=True).start()  # fsync on: a crash of the real kind
    try:
        cluster.execute("CREATE DATABASE notary")
        instance = tmp_path / "instance"
        shutil.copytree(instance_template, instance)
        url = cluster.url("notary")
        env = {**SERVICE_ENV, "NOTARY_DATABASE_URL": url}
        rt = None
        with Service(instance, extra_env=env, workers=2) as service:
            rt = Runtime(Settings.load({}, instance_path=instance, database_url=url))
            with Load(service, threads=2) as load:
                time.sleep(2.0)
                before = len(load.acknowledged.filings)
                postmaster = cluster.postmaster_pid()
                assert postmaster is not None
                os.kill(postmaster, signal.SIGKILL)
                time.sleep(2.0)  # the service answers without its database meanwhile
                _relaunch(cluster)
                deadline = time.monotonic() + 60
                while len(load.acknowledged.filings) <= before + 5:  # filing again
                    assert time.monotonic() < deadline, (
                        f"no filing after the restart: {load.acknowledged.refused}"
                    )
                    time.sleep(0.5)
            _settle(rt, load)
            figures = check_nothing_lost(rt, load.acknowledged)
            audit = _audit(service)
            rt.close()
        assert audit["clean"], audit
        # While the database was down, clients got answers (503), not broken connections only.
        assert any(what.endswith("503") for what in load.acknowledged.refused), load.acknowledged.refused
        _report("postgresql-killed", figures)
    finally:
        cluster.stop()


def _relaunch(cluster: Cluster) -> None:
    """Start PostgreSQL again once its orphaned backends have noticed and exited."""
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.launch()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
