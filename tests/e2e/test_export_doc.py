"""docs/export.md's check by hand, run as written: unzip, openssl and python3 verify a genuine
export's manifest signature and a bundle's digest, and refuse a changed manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.evidence import SampleLog, SampleNotary
from tests.support.export import export_members, make_export, rezip

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("unzip", "openssl", "sha256sum")),
    reason="the check by hand needs unzip, openssl and sha256sum",
)


def commands() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("By hand:\n\n```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("     #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def run(commands: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    script = "\n".join(command.replace("python3 ", f"{sys.executable} ") for command in commands)
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=folder, capture_output=True, text=True, check=False
    )


def test_the_check_by_hand_works_as_written(tmp_path):
    notary = SampleNotary.create(tmp_path / "keys")
    log = SampleLog(notary, 2)
    bundles = {filed.contract_id: log.bundle(i, 2) for i, filed in enumerate(log.filed)}
    genuine = make_export(notary, bundles)
    (tmp_path / "export.zip").write_bytes(genuine)
    steps = commands()
    assert len(steps) == 4
    first = sorted(bundles)[0]
    steps[3] = steps[3].replace("bundles/ct_….zip", f"bundles/{first}.zip")
    done = run(steps, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verified OK" in done.stdout
    manifest = json.loads(export_members(genuine)["manifest.json"])
    assert done.stdout.split()[-2] == manifest["bundles"][f"bundles/{first}.zip"]

    entries = export_members(genuine)
    entries["manifest.json"] = entries["manifest.json"].replace(b"Officer Wang", b"Officer Wong")
    (tmp_path / "export.zip").write_bytes(rezip(entries))
    refused = run(steps[:3], tmp_path)
    assert refused.returncode != 0
    assert "Verification failure" in refused.stdout + refused.stderr
