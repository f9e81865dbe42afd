"""The README.txt inside every bundle, run as written: each shell command and Python snippet it
gives a person must work on a genuine bundle with sha256sum, openssl and python3, and the
signature, timestamp and inclusion steps must fail on a changed record."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.support.evidence import SampleLog, SampleNotary, pem_chain

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("sha256sum") is None,
    reason="the README walk needs openssl and sha256sum",
)


def commands(readme: str) -> list[str]:
    """The ``  $ `` commands of the README, each with its here-document when it has one."""
    found: list[str] = []
    lines = iter(readme.splitlines())
    for line in lines:
        if not line.startswith("  $ "):
            continue
        command = line[4:]
        if command.endswith("<<'EOF'"):
            body = []
            for inner in lines:
                if inner == "EOF":
                    break
                body.append(inner)
            command += "\n" + "\n".join(body) + "\nEOF"
        found.append(command)
    return found


def run(command: str, folder) -> subprocess.CompletedProcess[str]:
    # python3 in the README is whatever python3 a person has; here, the interpreter running the tests.
    shell = command.replace("python3 ", f"{sys.executable} ", 1) if command.startswith("python3") else command
    return subprocess.run(["bash", "-c", shell], cwd=folder, capture_output=True, text=True, check=False)


@pytest.fixture
def unpacked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    notary = SampleNotary.create(folder.parent / f"{folder.name}-keys")
    bundle = SampleLog(notary, 4).bundle(2, 4)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        archive.extractall(folder)
    (folder / "ROOT.pem").write_bytes(pem_chain([notary.keys.root_cert]))
    return folder


def test_every_step_of_the_readme_works_on_a_genuine_bundle(unpacked):
    readme = (unpacked / "README.txt").read_text(encoding="utf-8")
    steps = commands(readme)
    assert len(steps) == 13
    outputs = []
    for command in steps:
        result = run(command, unpacked)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        outputs.append(result.stdout)
    text = "\n".join(outputs)
    record = json.loads((unpacked / "record.json").read_bytes())
    for entry in record["signatures"].values():
        assert entry["key_fingerprint"] in text  # the key files are the keys the record names
    assert text.count("Verification: OK") == 2  # record token and checkpoint token
    assert "record.json is leaf 2 of 4 in notary.test/contracts/v1" in text
    assert "Signature Verified Successfully" in text  # the checkpoint signature

    # The signature commands for each algorithm, exactly as the README gives them.
    signature_lines = [line.strip() for line in readme.splitlines() if "signature-investor.bin" in line]
    by_algorithm = {"ed25519": signature_lines[0], "ecdsa-p256-sha256": signature_lines[1]}
    for role, entry in record["signatures"].items():
        command = by_algorithm[entry["algorithm"]].replace("investor", role)
        result = run(command, unpacked)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "Verified" in result.stdout


def test_the_readme_steps_catch_a_changed_record(unpacked):
    readme = (unpacked / "README.txt").read_text(encoding="utf-8")
    record = json.loads((unpacked / "record.json").read_bytes())
    record["sealed_at"] = "2026-12-01T09:00:00.000Z"
    (unpacked / "record.json").write_text(json.dumps(record, sort_keys=True, separators=(",", ":")))
    steps = commands(readme)
    timestamp = next(step for step in steps if step.startswith("openssl ts -verify -data record.json"))
    inclusion = next(step for step in steps if "inclusion.json" in step)
    assert run(timestamp, unpacked).returncode != 0
    assert "NOT in the log" in run(inclusion, unpacked).stderr
