"""The worker's occasional chores: expired party tokens purged, and steps that run at most so often."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from sqlalchemy import select

from notary.errors import Unauthenticated
from notary.services import auth
from notary.services.clock import now_text
from notary.services.worker import Worker, at_most_every
from notary.storage.models import ApiToken


def test_expired_party_tokens_are_purged_and_nothing_else(runtime):
    now = now_text(runtime.clock)
    with runtime.db.write() as session:
        expired = auth.issue_token(session, kind=auth.PARTY, subject_id="a" * 64, now=now, expires_at=now)
        live = auth.issue_token(
            session, kind=auth.PARTY, subject_id="b" * 64, now=now, expires_at="2999-01-01T00:00:00.000Z"
        )
        platform = auth.issue_token(session, kind=auth.PLATFORM, subject_id="pl_x", now=now)
        investigator = auth.issue_token(session, kind=auth.INVESTIGATOR, subject_id="iv_x", now=now)
    with runtime.db.read() as session, pytest.raises(Unauthenticated):
        auth.authenticate(session, expired, now=now)

    assert runtime.chores.purge_expired_tokens() == 1
    assert runtime.chores.purge_expired_tokens() == 0
    with runtime.db.read() as session:
        kept = set(session.execute(select(ApiToken.token_sha256)).scalars())
        # The purged token answers as it did before: unauthenticated.
        with pytest.raises(Unauthenticated):
            auth.authenticate(session, expired, now=now)
    assert kept == {auth.token_sha256(token) for token in (live, platform, investigator)}


def test_a_throttled_step_runs_at_once_then_not_again_until_its_time():
    calls = []
    clock = [100.0]
    step = at_most_every(1.0, lambda: calls.append(clock[0]) or 7, monotonic=lambda: clock[0])
    assert step() == 7
    clock[0] = 100.9
    assert step() == 0
    clock[0] = 101.0
    assert step() == 7
    assert calls == [100.0, 101.0]


@pytest.mark.parametrize("linger", [0.0, 0.15])
def test_a_lingering_worker_waits_after_each_round_that_did_something(runtime, linger):
    # Group commit: with a linger, the rounds that find work are at least that far apart, so a
    # trickle of signatures is sealed in rounds of several; an idle round waits as before.
    rounds: list[float] = []
    stop = threading.Event()

    def step() -> int:
        rounds.append(time.monotonic())
        if len(rounds) == 4:
            stop.set()
        return 1

    worker = Worker(
        runtime.db, [step], lease_duration=5.0, poll_interval=0.01, linger=linger, lease_name="linger-test"
    )
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    gaps = [later - earlier for earlier, later in itertools.pairwise(rounds)]
    assert len(gaps) == 3
    if linger:
        assert min(gaps) >= linger
    else:
        assert max(gaps) < 0.15


def test_the_linger_is_configured_and_50ms_by_default(tmp_path):
    from notary.config import ConfigError, Settings

    assert Settings.load({}, instance_path=tmp_path).worker_linger == 0.05
    assert Settings.load({"NOTARY_WORKER_LINGER": "0"}, instance_path=tmp_path).worker_linger == 0.0
    assert Settings.load({"NOTARY_WORKER_LINGER": "20ms"}, instance_path=tmp_path).worker_linger == 0.02
    with pytest.raises(ConfigError, match="worker_linger"):
        Settings.load({"NOTARY_WORKER_LINGER": "-1s"}, instance_path=tmp_path)
