"""``notary login`` and ``notary check`` against the service over HTTP: the key stays in its folder,
the document is hashed on the person's machine, and the answer is printed in words."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from notary.cli import main
from tests.support.access import Caller
from tests.support.live_app import key_folder, live
from tests.support.people import Person
from tests.support.platforms import DOCUMENT


@pytest.fixture
def api(app):
    with live(app) as base:
        yield base


def run(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_login_prints_a_token_that_works(client, api, investor, tmp_path):
    key = key_folder(investor, tmp_path / "alice")
    result = run("login", "--key", key, "--api", api)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("ntk_")
    assert "valid until" in result.stderr
    assert Caller(client, token).get("/me/contracts").status_code == 200

    as_json = json.loads(run("login", "--key", key, "--api", api + "/api/v1/", "--json").stdout)
    assert set(as_json) == {"token", "expires_at"}


def test_check_says_filed_with_the_terms_in_words(platform, api, investor, borrower, tmp_path):
    filed = platform.file(investor, borrower, title="个人借款合同")
    (tmp_path / "contract.pdf").write_bytes(DOCUMENT)
    key = key_folder(investor, tmp_path / "alice")

    result = run("check", "--key", key, "--api", api, tmp_path / "contract.pdf")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "FILED: a contract in your name holds exactly this document." in out
    assert filed["contract_id"] in out
    assert "awaiting the signature of you, the borrower" in out
    assert "10000.00 CNY  (derived: 10,000.00; 人民币壹万元整)" in out
    assert "2026-12-01  (derived: 2026年12月1日)" in out
    assert "个人借款合同" in out

    as_json = json.loads(run("check", "--key", key, "--api", api, tmp_path / "contract.pdf", "--json").stdout)
    assert as_json["result"] == "filed"


def test_check_says_not_filed_and_how_to_report(platform, api, investor, borrower, tmp_path):
    platform.file(investor, borrower)
    stranger = Person("王五")
    platform.enrol(stranger)
    (tmp_path / "theirs.pdf").write_bytes(DOCUMENT)  # somebody else's contract

    result = run(
        "check", "--key", key_folder(stranger, tmp_path / "wang"), "--api", api, tmp_path / "theirs.pdf"
    )

    assert result.exit_code == 3, result.output
    assert "NOT FILED: no contract in your name holds this document." in result.stdout
    assert "notary report lodge --key" in result.stdout


def test_check_says_document_differs(platform, api, investor, borrower, tmp_path):
    platform.file(investor, borrower, document=b"%PDF-1.4\n% altered\n")
    (tmp_path / "mine.pdf").write_bytes(DOCUMENT)
    key = key_folder(investor, tmp_path / "alice")

    result = run(
        "check",
        "--key",
        key,
        "--api",
        api,
        tmp_path / "mine.pdf",
        "--amount",
        "10000",
        "--start-date",
        "2026-12-01",
    )

    assert result.exit_code == 3, result.output
    assert "DOCUMENT DIFFERS" in result.stdout
    assert "filed document" in result.stdout


def test_check_refusals_say_what_went_wrong(platform, api, investor, tmp_path):
    (tmp_path / "doc.pdf").write_bytes(DOCUMENT)
    unknown = key_folder(Person("无名"), tmp_path / "nobody")

    result = run("check", "--key", unknown, "--api", api, tmp_path / "doc.pdf")
    assert result.exit_code == 1
    assert "unauthenticated" in result.output
    assert "Traceback" not in result.output

    result = run("check", "--key", unknown, "--api", "ftp://example", tmp_path / "doc.pdf")
    assert result.exit_code == 1
    assert "api_unreachable: --api takes the notary's address" in result.output

    result = run("check", "--key", tmp_path / "missing", "--api", api, tmp_path / "doc.pdf")
    assert result.exit_code == 1
    assert "no usable private key" in result.output

    enrolled = key_folder(investor, tmp_path / "alice")
    result = run("check", "--key", enrolled, "--api", api, tmp_path / "doc.pdf", "--amount", "1,000")
    assert result.exit_code == 1
    assert "validation_failed" in result.output
