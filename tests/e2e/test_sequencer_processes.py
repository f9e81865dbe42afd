"""The sequencer across processes: no gap, no duplicate, and crash safety under kill -9."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from notary.config import Settings
from notary.runtime import Runtime
from notary.storage.models import Contract
from tests.support.bulk import make_signed_contracts
from tests.support.log_audit import check_log


def _seal_until_done(instance_path: str, database_url: str, barrier) -> int:
    rt = Runtime(Settings.load({}, instance_path=instance_path, database_url=database_url))
    rt.sequencer.batch_size = 20  # small batches, so the two processes interleave
    rt.db.ping()  # connect before the start line
    barrier.wait()
    sealed = 0
    idle_rounds = 0
    lost_races = 0
    while idle_rounds < 3:
        try:
            leaves = rt.sequencer.seal_pending()
        except Exception:  # a lost race is rolled back whole; try again
            lost_races += 1
            assert lost_races < 50, "the sequencer keeps failing"
            continue
        sealed += len(leaves)
        idle_rounds = 0 if leaves else idle_rounds + 1
        # A pause between batches. Without it, on SQLite, the process that just committed
        # takes the write lock again within a millisecond, while the other polls from its busy
        # handler every 50-100 ms: one process could seal all 1,500 alone (it happened in CI),
        # and the test could not tell whether the two had interleaved.
        time.sleep(0.02)
    rt.close()
    return sealed


@pytest.mark.slow
def test_two_processes_sealing_at_once(runtime, settings):
    ids = make_signed_contracts(runtime, 1500)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        barrier = manager.Barrier(2)
        results = pool.starmap(
            _seal_until_done, [(str(settings.instance_path), settings.database_url, barrier)] * 2
        )
    assert sum(results) == len(ids)
    assert all(results), f"both processes should have sealed some: {results}"
    assert check_log(runtime)["records"] == len(ids)


def _status_counts(runtime):
    with runtime.db.read() as session:
        return dict(session.execute(select(Contract.status, func.count()).group_by(Contract.status)).all())


@pytest.mark.wallclock  # real worker processes on the machine clock
@pytest.mark.slow
def test_killing_the_worker_mid_batch_loses_nothing(runtime, settings):
    ids = make_signed_contracts(runtime, 4000)
    env = {
        **os.environ,
        "NOTARY_INSTANCE_PATH": str(settings.instance_path),
        "NOTARY_DATABASE_URL": settings.database_url,
        "NOTARY_CHECKPOINT_INTERVAL": "100ms",
        "NOTARY_LEASE_DURATION": "500ms",
    }
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        before = _status_counts(runtime).get("sealed", 0)
        worker = subprocess.Popen(
            [sys.executable, "-m", "notary.cli", "worker"], env=env, start_new_session=True
        )
        # Kill it at a random moment once it is at work (it has sealed something): a fixed
        # delay mostly killed workers still starting up, or waiting out the dead one's lease.
        while _status_counts(runtime).get("sealed", 0) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        kills += 1
        check_log(runtime)  # after every crash: whole batches only, every checkpoint still holds
        if _status_counts(runtime).get("signed", 0) == 0:
            break
    # One last clean run signs the final checkpoint.
    subprocess.run([sys.executable, "-m", "notary.cli", "worker", "--once"], env=env, check=True)
    time.sleep(0.2)
    subprocess.run([sys.executable, "-m", "notary.cli", "worker", "--once"], env=env, check=True)
    summary = check_log(runtime)
    assert summary["records"] == len(ids)
    assert _status_counts(runtime) == {"sealed": len(ids)}
    assert kills >= 2
