"""``notary report lodge`` from a person's machine and ``notary report list`` for an operator."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.verify.reports import parse_report_payload
from tests.support.live_app import key_folder, live
from tests.support.people import Person
from tests.support.platforms import DOCUMENT


@pytest.fixture
def api(app):
    with live(app) as base:
        yield base


def run(*args, env=None):
    return CliRunner().invoke(main, [str(arg) for arg in args], env=env)


@pytest.mark.wallclock  # the person's tool dates its report by the machine's clock
def test_lodge_then_list(settings, runtime, platform, api, tmp_path):
    person = Person("赵六")
    platform.enrol(person)
    key = key_folder(person, tmp_path / "zhao")
    (tmp_path / "contract.pdf").write_bytes(DOCUMENT)

    result = run(
        "report", "lodge", "--key", key, "--platform-id", platform.platform_id, tmp_path / "contract.pdf",
        "--api", api, "--amount", "10000.00", "--start-date", "2026-12-01", "--attach",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "lodged against platform" in result.stdout

    again = run(
        "report", "lodge", "--key", key, "--platform-id", platform.platform_id, tmp_path / "contract.pdf",
        "--api", api,
    )  # fmt: skip
    assert again.exit_code == 1
    assert "report_replayed" in again.output
    nowhere = run(
        "report", "lodge", "--key", key, "--platform-id", "pl_NONE", tmp_path / "contract.pdf", "--api", api
    )
    assert "unknown_platform" in nowhere.output

    runtime.worker().run_once()
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    listed = json.loads(run("report", "list", "--platform", platform.platform_id, "--json", env=env).stdout)
    (item,) = listed["reports"]
    assert item["claimed"] == {"amount": "10000.00", "start_date": "2026-12-01"}
    assert item["document_attached"] is True
    assert item["leaf_index"] is not None
    text = run("report", "list", env=env)
    assert text.exit_code == 0
    assert item["report_id"] in text.stdout
    assert "open" in text.stdout
    assert "claimed: amount 10000.00, start_date 2026-12-01" in text.stdout


def test_lodge_without_api_prints_the_signed_body(platform, tmp_path):
    person = Person("钱七")
    key = key_folder(person, tmp_path / "qian")
    (tmp_path / "contract.pdf").write_bytes(DOCUMENT)
    result = run(
        "report", "lodge", "--key", key, "--platform-id", platform.platform_id, tmp_path / "contract.pdf"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    payload = base64.b64decode(body["payload_base64"])
    parsed = parse_report_payload(payload)
    assert parsed.key_fingerprint == person.public.fingerprint
    assert parsed.platform_id == platform.platform_id
    person.public.verify(base64.b64decode(body["signature"]), payload)


@pytest.mark.wallclock  # the CLI builds its own runtime on the machine's clock
def test_list_for_an_unknown_platform(settings):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    assert run("report", "list", env=env).stdout.strip() == "no reports"
    result = run("report", "list", "--platform", "pl_NONE", env=env)
    assert result.exit_code == 1
    assert "not_found" in result.output
