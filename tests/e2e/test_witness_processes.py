"""The witness and the mirror as real processes: killed with SIGKILL while working, restarted,
they hold what they acknowledged and go on; a witness whose state is gone refuses to start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from notary.verify.cosignature import parse_cosigner_key, verify_cosignatures
from notary.verify.witness_protocol import parse_size
from tests.http.test_witness_collection import seal_one
from tests.support.server import free_port
from tests.support.witness import ORIGIN, ServedApp, SmallLog, WitnessProcess

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]  # service processes read the machine's clock


def test_a_killed_witness_keeps_every_cosignature_it_gave(tmp_path):
    log = SmallLog()
    witness = WitnessProcess(tmp_path / "w", "witness.test/w1")
    key = parse_cosigner_key(witness.init())
    witness.cli("add-log", "--origin", ORIGIN, "--key", log.signer.verifier_key)
    witness.start()
    acknowledged: list[int] = []
    stop = threading.Event()

    def submit() -> None:
        old = 0
        while not stop.is_set():
            log.grow(3)
            size = len(log.leaves)
            try:
                status, _, body = witness.post(log.request(old, size))
            except OSError:
                return
            if status == 200:
                assert verify_cosignatures(log.checkpoint(size) + body.decode(), [key])
                acknowledged.append(size)
                old = size
            elif status == 409:
                old = parse_size(body)
            else:
                return

    sender = threading.Thread(target=submit)
    sender.start()
    try:
        while len(acknowledged) < 5:
            sender.join(0.05)
        witness.stop(signal.SIGKILL)
    finally:
        stop.set()
        sender.join(30)
    last = max(acknowledged)

    witness.start()
    try:
        # Whatever it answered 200 for is on disk: its size is at least the last acknowledged.
        status, content_type, body = witness.post(log.request(0))
        assert (status, content_type) == (409, "text/x.tlog.size")
        held = parse_size(body)
        assert held >= last
        # And it goes on from there.
        log.grow(2)
        after = len(log.leaves)
        assert witness.post(log.request(held))[0] == 200
        # A rolled-back log is still refused after the restart, and kept as evidence.
        assert witness.post(log.request(0, last - 1))[0] == 409
        assert [item["kind"] for item in witness.cli("evidence")] == ["rollback"]
    finally:
        witness.stop()

    # A backup restores it; without its state it refuses to start rather than trust anything.
    backup = tmp_path / "state-backup.db"
    witness.cli("backup", "--out", str(backup))
    witness.folder.joinpath("state.db").unlink()
    failed = subprocess.run(
        [sys.executable, "-m", "notary.cli", "witness", "serve", "--port", str(witness.port)],
        env=witness.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode != 0
    assert "restore it from a backup" in failed.stderr
    backup.rename(witness.folder / "state.db")
    witness.start()
    try:
        status, _, body = witness.post(log.request(0))
        assert status == 409
        assert parse_size(body) == after
    finally:
        witness.stop()


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _wait(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def _seal(platform, investor, borrower, runtime, client, count: int) -> list[str]:
    ids = [seal_one(platform, investor, borrower, runtime, client) for _ in range(count)]
    runtime.checkpointer.interval *= 0
    worker = runtime.worker(holder="test")
    _wait(
        lambda: (
            worker.run_once() >= 0
            and (platform.get(f"/contracts/{ids[-1]}").get_json()["evidence"] or {}).get("ready")
        )
    )
    return ids


def test_a_killed_mirror_serves_what_it_checked_and_catches_up(
    platform, investor, borrower, runtime, client, app, tmp_path
):
    notary = ServedApp(app)
    folder = tmp_path / "mirror"
    env = {**os.environ, "NOTARY_MIRROR_DIR": str(folder)}
    port = free_port()
    mirror_url = f"http://127.0.0.1:{port}/api/v1"

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "notary.cli",
                "mirror",
                "serve",
                "--port",
                str(port),
                "--interval",
                "0.3s",
            ],
            env=env,
            start_new_session=True,
        )

    def notary_size() -> int:
        return int(
            urllib.request.urlopen(notary.url + "/api/v1/log/checkpoint", timeout=10).read().split(b"\n")[1]
        )

    process = None
    try:
        first = _seal(platform, investor, borrower, runtime, client, 3)
        (tmp_path / "trust.json").write_bytes(client.get("/api/v1/trust").get_data())
        subprocess.run(
            [
                sys.executable,
                "-m",
                "notary.cli",
                "mirror",
                "init",
                "--from",
                notary.url,
                "--trust",
                str(tmp_path / "trust.json"),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        process = start()
        _wait(lambda: _get_json(mirror_url + "/mirror")["tree_size"] == notary_size())
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

        later = _seal(platform, investor, borrower, runtime, client, 2)
        process = start()
        size = _wait(lambda: (s := notary_size()) == _get_json(mirror_url + "/mirror")["tree_size"] and s)
        status = _get_json(mirror_url + "/mirror")
        assert status["alarms"] == []
        assert status["upstream"] == notary.url

        # The notary goes away; the mirror still proves every record it checked.
        notary.stop()
        for contract_id in (first[0], later[-1]):
            record = platform.get(f"/contracts/{contract_id}").get_json()["evidence"]["record_sha256"]
            presence = _get_json(f"{mirror_url}/r/{record}")
            assert presence["tree_size"] == size
            assert presence["checkpoint"].split("\n")[1] == str(size)
        assert _get_json(f"{mirror_url}/log/proof/consistency?first=1&second={size}")["hashes"]
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        if notary.thread.is_alive():
            notary.stop()
