"""The service as it runs in production (gunicorn + a worker), driven by a platform's own client."""

from __future__ import annotations

import subprocess
import sys
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
