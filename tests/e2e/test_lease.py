"""Leadership: one holder at a time, and a dead or silent holder hands over within the lease time.

Runs on SQLite (the lease row) and PostgreSQL (an advisory lock on a session of its own).
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from notary.storage.db import Database
from notary.storage.lease import LeaseKeeper
from notary.storage.models import Lease

DURATION = 1.0


def keeper(db: Database, holder: str, duration: float = DURATION) -> LeaseKeeper:
    return LeaseKeeper(db, "worker", holder, duration=duration)


def wait_until_held(candidate: LeaseKeeper, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if candidate.hold():
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"{candidate.holder} did not take over within {within} s")


def lease_row(db: Database) -> Lease | None:
    with db.read() as session:
        return session.execute(select(Lease).where(Lease.name == "worker")).scalar_one_or_none()


def test_only_one_of_two_holds(runtime):
    first, second = keeper(runtime.db, "first"), keeper(runtime.db, "second")
    try:
        assert first.hold()
        for _ in range(3):
            assert not second.hold()
            assert first.hold()
        row = lease_row(runtime.db)
        assert row is not None
        assert (row.holder, row.epoch) == ("first", first.epoch)
    finally:
        first.release()
        second.release()


def test_release_hands_over_at_once(runtime):
    first, second = keeper(runtime.db, "first", duration=30), keeper(runtime.db, "second", duration=30)
    try:
        assert first.hold()
        assert not second.hold()
        first.release()
        assert second.hold()
        assert second.epoch == first.epoch + 1
        assert not first.hold()
    finally:
        first.release()
        second.release()


def test_a_silent_holder_loses_the_lease_after_its_duration(runtime):
    first, second = keeper(runtime.db, "first"), keeper(runtime.db, "second")
    try:
        # Timed from before first takes the lease: a stall of this (loaded) machine between the
        # hold and the wait can only lengthen what is measured, never shorten it.
        started = time.monotonic()
        assert first.hold()
        assert not second.hold()
        # first stops renewing (a hung process): within the lease time the other leads.
        wait_until_held(second, within=DURATION * 4)
        assert time.monotonic() - started >= DURATION * 0.5
        time.sleep(DURATION / 2)  # past first's cached renewal
        assert not first.hold()
        assert second.hold()
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_a_lost_lock_session_hands_over_at_once(runtime):
    if runtime.db.dialect != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    first, second = keeper(runtime.db, "first", duration=30), keeper(runtime.db, "second", duration=30)
    try:
        assert first.hold()
        assert not second.hold()
        with runtime.db.write() as session:
            session.connection().exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            )
        waited = wait_until_held(second, within=5)
        assert waited < 5  # far below the 30 s lease: the lock went with the session
        first._renew_after = 0.0  # past its cached renewal
        assert not first.hold()
    finally:
        first.release()
        second.release()


def test_a_forgotten_holder_lets_go(runtime):
    forgotten, other = keeper(runtime.db, "forgotten"), keeper(runtime.db, "other")
    try:
        assert forgotten.hold()
        assert not other.hold()
        del forgotten  # a worker built and dropped without release: its session is closed
        gc.collect()
        waited = wait_until_held(other, within=DURATION * 4)
        if runtime.db.dialect == "postgresql":
            assert waited < DURATION / 2
    finally:
        other.release()


HOLD_AND_SLEEP = """
import sys, time
from notary.storage.db import Database
from notary.storage.lease import LeaseKeeper
db = Database(sys.argv[1])
keeper = LeaseKeeper(db, "worker", "doomed", duration=float(sys.argv[2]))
assert keeper.hold()
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_killing_the_holders_process_hands_over_within_the_lease_time(runtime):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_SLEEP, runtime.db.url, str(DURATION)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        survivor = keeper(runtime.db, "survivor")
        assert not survivor.hold()
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        waited = wait_until_held(survivor, within=DURATION * 3)
        if runtime.db.dialect == "postgresql":
            assert waited < DURATION / 2  # released with the dead process's session
        row = lease_row(runtime.db)
        assert row is not None
        assert row.holder == "survivor"
        survivor.release()
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
