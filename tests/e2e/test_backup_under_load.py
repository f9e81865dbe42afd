"""Backup and restore of a real service under load (issue 23.3), through the ``notary``
command as an operator runs it: the backup is taken while contracts are being filed, signed
and sealed; the restore checks the archive, rebuilds the instance and audits it; the restored
log is the original's first leaves exactly, up to the size the manifest names. The command's
refusals are one line each with their exit status and no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notary.services.tlog.published import MARK_NAME
from notary.storage.db import Database
from notary.storage.models import LogLeaf, SignedCheckpoint
from tests.support.live_api import LivePlatform
from tests.support.people import Person
from tests.support.server import Service

pytestmark = [pytest.mark.slow, pytest.mark.wallclock]

PASSPHRASE = "a passphrase for the test backup"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notary.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def leaves(url: str, below: int | None = None) -> list[tuple[int, str]]:
    database = Database(url)
    try:
        with database.read() as session:
            query = select(LogLeaf.sequence, LogLeaf.record_sha256).order_by(LogLeaf.sequence)
            if below is not None:
                query = query.where(LogLeaf.sequence < below)
            return [(row.sequence, row.record_sha256) for row in session.execute(query)]
    finally:
        database.dispose()


def checkpoints(url: str) -> dict[int, bytes]:
    database = Database(url)
    try:
        with database.read() as session:
            return dict(session.execute(select(SignedCheckpoint.tree_size, SignedCheckpoint.root_hash)).all())
    finally:
        database.dispose()


@pytest.fixture
def restore_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Any:
    if not database_url:
        yield ""
        return
    cluster = request.getfixturevalue("postgres")
    name = database_url.rsplit("/", 1)[1].split("?", maxsplit=1)[0] + "_restored"
    cluster.execute(f"CREATE DATABASE {name}")
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_backup_under_load_restores_and_audits(tmp_path, database_url, restore_url):
    instance = tmp_path / "live"
    env_extra = {"NOTARY_DATABASE_URL": database_url} if database_url else {}
    live_url = database_url or f"sqlite:///{instance / 'notary.db'}"
    with Service(instance, env_extra) as service:
        platform = LivePlatform.add(service)
        investor, borrower = Person("投资人"), Person("借款人", alg="p256")
        platform.enrol(investor)
        platform.enrol(borrower)
        platform.sealed_contract(investor, borrower)  # a checkpoint exists before the load

        stop = threading.Event()
        filed: list[str] = []
        failures: list[str] = []

        def load() -> None:
            while not stop.is_set():
                try:
                    item = platform.file(str(investor.party_id), str(borrower.party_id))
                    platform.sign(investor, item, "investor")
                    platform.sign(borrower, item, "borrower")
                    filed.append(item["contract_id"])
                except AssertionError as exc:  # pragma: no cover - reported below
                    failures.append(str(exc))
                    return

        loader = threading.Thread(target=load)
        loader.start()
        try:
            while len(filed) < 10 and loader.is_alive():
                stop.wait(0.1)
            archive = tmp_path / "backup.tar"
            backup = run(
                ["backup", "--out", str(archive), "--include-keys", "--json"],
                {**service.env, "NOTARY_BACKUP_PASSPHRASE": PASSPHRASE},
            )
            filed_at_backup = len(filed)
            while len(filed) < filed_at_backup + 10 and loader.is_alive():
                stop.wait(0.1)
        finally:
            stop.set()
            loader.join()
        assert failures == []
        assert backup.returncode == 0, backup.stderr
        taken = json.loads(backup.stdout)
        assert "Traceback" not in backup.stderr
        platform.wait_ready(filed[-1], timeout=120)
        live_mark = (instance / MARK_NAME).read_text()

    size = taken["log"]["tree_size"]
    original = leaves(live_url)
    assert 0 < size < len(original)  # taken mid-load: leaves were sealed before and after it

    target = tmp_path / "restored"
    restore_env = {
        **os.environ,
        "NOTARY_INSTANCE_PATH": str(target),
        "NOTARY_BACKUP_PASSPHRASE": PASSPHRASE,
    }
    restore_env.pop("NOTARY_DATABASE_URL", None)
    if restore_url:
        restore_env["NOTARY_DATABASE_URL"] = restore_url
    restored_url = restore_url or f"sqlite:///{target / 'notary.db'}"

    # A corrupted archive: one line, exit 65, nothing written.
    damaged = tmp_path / "damaged.tar"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    refused = run(["restore", str(damaged), "--to", str(target)], restore_env)
    assert refused.returncode == 65, refused.stdout + refused.stderr
    assert refused.stderr.startswith("Error: backup_corrupt: ")
    assert "Traceback" not in refused.stderr
    assert not target.exists()

    # Over the mark kept from the live instance (which went on after the backup): refused.
    target.mkdir()
    (target / MARK_NAME).write_text(live_mark)
    refused = run(["restore", str(archive), "--to", str(target)], restore_env)
    assert refused.returncode == 78, refused.stdout + refused.stderr
    assert refused.stderr.startswith("Error: log_behind_published: ")
    assert "Traceback" not in refused.stderr
    assert [p.name for p in target.iterdir()] == [MARK_NAME]
    (target / MARK_NAME).unlink()

    restored = run(["restore", str(archive), "--to", str(target), "--json"], restore_env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    result = json.loads(restored.stdout)
    assert result["tree_size"] == size
    assert result["audit"]["clean"] is True

    # The restored log is the original's first `size` leaves exactly, and its checkpoints are
    # the original's at every size they share.
    assert leaves(restored_url) == original[:size]
    before, after = checkpoints(live_url), checkpoints(restored_url)
    assert after
    assert all(before[tree_size] == root for tree_size, root in after.items())
    assert max(after) == taken["log"]["checkpoint_size"]

    # Put the live instance's mark back: the restored instance refuses to start over it, and
    # starts once the operator says so.
    shutil.copyfile(instance / MARK_NAME, target / MARK_NAME)
    start = run(["worker", "--once"], restore_env)
    assert start.returncode == 78, start.stdout + start.stderr
    assert "log_behind_published" in start.stderr
    assert "Traceback" not in start.stderr
    start = run(["worker", "--once"], {**restore_env, "NOTARY_UNSAFE_ACCEPT_SHORTER_LOG": "1"})
    assert start.returncode == 0, start.stdout + start.stderr
    assert list(target.glob(f"{MARK_NAME}.superseded-*"))
