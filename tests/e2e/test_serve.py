"""The service as it runs in production (gunicorn + a worker), driven by a platform's own client."""

from __future__ import annotations

import concurrent.futures
import http.client
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.server import Service

SMOKE = Path(__file__).resolve().parents[2].parent / "shared" / "contract-smoke.py"


@pytest.mark.slow
def test_contract_smoke_against_a_live_service(tmp_path):
    if not SMOKE.exists():
        pytest.skip(f"{SMOKE} is not here (someone else's clone)")
    with Service(tmp_path / "instance") as service:
        platform = service.add_platform()
        result = subprocess.run(
            [sys.executable, str(SMOKE), service.base, platform["platform_id"], platform["token"]],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   contract sealed" in result.stdout


@pytest.mark.slow
def test_threaded_workers_keep_connections_open_and_answer_concurrent_requests(tmp_path):
    with Service(tmp_path / "instance", extra_env={"NOTARY_WEB_THREADS": "3"}) as service:
        conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        try:
            for _ in range(3):
                conn.request("GET", "/api/v1/healthz")
                answer = conn.getresponse()
                answer.read()
                assert answer.status == 200
                assert not answer.will_close  # one connection for all three: keep-alive
        finally:
            conn.close()

        def fetch(path: str) -> int:
            with urllib.request.urlopen(service.base + path, timeout=30) as reply:
                assert reply.read()
                return reply.status

        # The worker signs the first checkpoint beside the web server: wait for it (under load
        # it can come a moment after /healthz answers), then ask for everything at once.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                fetch("/log/checkpoint")
                break
            except urllib.error.HTTPError:
                time.sleep(0.1)
        paths = ["/log/checkpoint", "/trust", "/log/key", "/openapi.json"] * 6
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(fetch, paths)) == [200] * len(paths)


def test_one_thread_means_sync_workers_and_more_means_gthread():
    from notary.cli.instance import gunicorn_command

    sync = gunicorn_command("app:app", host="127.0.0.1", port=1, workers=2, threads=1)
    assert "--worker-class" not in sync
    assert "--threads" not in sync
    threaded = gunicorn_command("app:app", host="127.0.0.1", port=1, workers=2, threads=4)
    at = threaded.index("--worker-class")
    assert threaded[at : at + 4] == ["--worker-class", "gthread", "--threads", "4"]
