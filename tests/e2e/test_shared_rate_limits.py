"""Rate limits hold across gunicorn's worker processes: the counters are shared (a SQLite file
of their own by default, Redis in production), so N processes do not allow N times the rate."""

from __future__ import annotations

import concurrent.futures
import json
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.support.redis import redis_server
from tests.support.server import Service

pytestmark = pytest.mark.wallclock  # a real service, on the machine's clock


def _challenge(service: Service) -> int:
    request = urllib.request.Request(
        service.base + "/auth/challenge",
        data=json.dumps({"key_fingerprint": "ab" * 32}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        code = json.load(refused)["error"]["code"]
        retry_after = refused.headers["Retry-After"]
        return refused.code if code == "rate_limited" and retry_after else -refused.code


def _logins_answered(instance: Path, **env: str) -> Counter[int]:
    # Three sync workers, six clients at once: a worker serves one request at a time, so
    # overlapping requests are served by different processes.
    env = {"NOTARY_RATE_LIMIT_LOGIN": "8/minute", **env}
    with (
        Service(instance, extra_env=env, workers=3) as service,
        concurrent.futures.ThreadPoolExecutor(6) as pool,
    ):
        return Counter(pool.map(lambda _: _challenge(service), range(60)))


def test_a_limit_holds_across_worker_processes_with_the_sqlite_counters(tmp_path: Path) -> None:
    # Per-process counters (the pages' old limiter) let up to 3 × 8 through.
    assert _logins_answered(tmp_path / "instance") == {200: 8, 429: 52}
    assert (tmp_path / "instance" / "ratelimits.sqlite").exists()


def test_a_limit_holds_across_worker_processes_with_redis(tmp_path: Path) -> None:
    with redis_server() as uri:
        assert _logins_answered(tmp_path / "instance", NOTARY_RATE_LIMIT_STORAGE=uri) == {200: 8, 429: 52}
    assert not (tmp_path / "instance" / "ratelimits.sqlite").exists()
