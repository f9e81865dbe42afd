"""The README's five-minute walk, run as written against a live service: the README stays true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import Service

README = Path(__file__).resolve().parents[2] / "README.md"


def walk_script() -> str:
    text = README.read_text()
    section = text.split("## A five-minute walk", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_walk(tmp_path):
    script = walk_script()
    script = script.replace("source .venv/bin/activate\n", "")
    instance = tmp_path / "instance"
    with Service(instance) as service:
        script = script.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{service.port}")
        script = script.replace("NOTARY_INSTANCE_PATH=$PWD/instance", f"NOTARY_INSTANCE_PATH={instance}")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nsealed\n" in result.stdout, result.stdout + result.stderr
    assert "VALID" in result.stdout
    assert (tmp_path / "certificate.pdf").read_bytes().startswith(b"%PDF")
    assert '{"status":"awaiting_signatures"}' in result.stdout
    assert '{"status":"signed"}' in result.stdout
