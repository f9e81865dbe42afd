"""A full disk (issue 20, item 10): filing into an instance on a small filesystem the test makes
(a 1 MiB tmpfs) until the space runs out. The answer is a clear 507 ``storage_full`` with
``Retry-After``, nothing is half-stored (``notary audit`` is clean, every contract acknowledged
is whole, no other), and once the filesystem grows again the service files and seals as before.
Needs the right to mount a tmpfs (root); skipped otherwise.
"""

from __future__ import annotations

import base64
import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from notary.app import create_app
from notary.config import Settings
from notary.runtime import Runtime
from notary.storage.models import Contract
from tests.support.log_audit import audit_of
from tests.support.people import Person
from tests.support.platforms import contract_terms, new_platform, sign_body


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _file(platform: Any, investor: Person, borrower: Person, number: int) -> Any:
    document = b"%PDF-1.4\n% contract " + str(number).encode() + b"\n" + bytes(range(256)) * 400  # 100 KiB
    body = {
        "document_base64": base64.b64encode(document).decode(),
        "media_type": "application/pdf",
        "terms": contract_terms(investor, borrower, external_ref=f"disk-{number}"),
    }
    return platform.post("/contracts", json=body)


def test_a_full_disk_answers_507_stores_nothing_half_and_recovers(
    settings: Settings, clock: Any, small_disk: Path
) -> None:
    if settings.database_url:
        pytest.skip("the small filesystem holds the SQLite instance; PostgreSQL keeps its own disk")
    instance = small_disk / "instance"
    shutil.copytree(settings.instance_path, instance)
    limits_off = {
        field.name: "off"
        for field in dataclasses.fields(Settings)
        if field.name.startswith("rate_limit_") and field.name != "rate_limit_storage"
    }
    local = dataclasses.replace(Settings.load({}, instance_path=instance), **limits_off)
    runtime = Runtime(local, clock=clock, web=True)
    try:
        client = create_app(runtime=runtime).test_client()
        platform = new_platform(runtime, client)
        investor, borrower = Person("张三"), Person("李四", alg="p256")
        platform.enrol(investor)
        platform.enrol(borrower)
        acknowledged = []
        for number in range(40):
            answer = _file(platform, investor, borrower, number)
            if answer.status_code != 201:
                break
            acknowledged.append(answer.get_json()["contract_id"])
        else:
            pytest.fail("1 MiB never filled up")
        assert answer.status_code == 507, answer.get_data()
        error = answer.get_json()["error"]
        assert error["code"] == "storage_full"
        assert "nothing was stored" in error["message"]
        assert answer.headers["Retry-After"] == "60"
        with runtime.db.read() as session:
            stored = session.execute(select(func.count()).select_from(Contract)).scalar_one()
        assert stored == len(acknowledged)  # the refused filing left no row
        assert not list(local.blob_dir.rglob(".incoming-*"))  # nor a partial file
        assert audit_of(runtime).clean

        subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
        answer = _file(platform, investor, borrower, 1000)
        assert answer.status_code == 201, answer.get_data()
        filed = answer.get_json()
        for role, person in (("investor", investor), ("borrower", borrower)):
            signed = client.post(
                f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
            )
            assert signed.status_code == 200, signed.get_data()
        assert runtime.sequencer.seal_pending()
        assert audit_of(runtime).clean
    finally:
        runtime.close()
