"""The worker's occasional chores: expired party tokens purged, and steps that run at most so often."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notary.errors import Unauthenticated
from notary.services import auth
from notary.services.clock import now_text
from notary.services.worker import at_most_every
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
