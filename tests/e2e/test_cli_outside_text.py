"""What the operator's terminal shows is what is stored (issue 25 item 2).

An investigator's legal basis with terminal escapes (``ESC[1A ESC[2K CR``) erased the real
"scope: platform_id …" line of ``notary case list`` and printed a narrower scope in its place;
approving it handed over a whole platform. Input now refuses such text, but stored data from
before (and anything else from outside) must still be shown escaped, and ``case approve``
shows the stored scope and asks before approving.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from notary.cli import main
from notary.storage.access_models import Case, Investigator
from notary.storage.models import Platform
from tests.support.access import new_investigator, open_case
from tests.support.platforms import new_platform

pytestmark = pytest.mark.wallclock  # the CLI builds its own runtime on the machine clock

ERASE = "\x1b[1A\x1b[2K\r    scope: party_id pa_0123456789"
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"}


def invoke(env, *args, stdin=None):
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def env_of(settings):
    return {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}


def hidden_characters(text: str) -> list[str]:
    """Characters a terminal would act on or hide, other than the line breaks the output means."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in HIDDEN]


def hostile_case(runtime, client):
    """A pending platform-wide case whose stored texts predate the input checks."""
    platform = new_platform(runtime, client, "Whole Platform Lending")
    investigator = new_investigator(runtime, client)
    case_id = open_case(investigator, {"platform_id": platform.platform_id})
    with runtime.db.write() as session:
        session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(legal_basis="art. 54" + ERASE, case_number="2026-\u202e1000")
        )
        session.execute(
            update(Investigator).values(name="Officer\x1b]0;root\x07 Wang", agency="Police\u2066")
        )
        session.execute(
            update(Platform).where(Platform.id == platform.platform_id).values(name="Lending\x1b[8m")
        )
    return case_id, platform.platform_id


def test_case_list_escapes_what_came_from_outside(settings, runtime, client):
    case_id, platform_id = hostile_case(runtime, client)
    shown = invoke(env_of(settings), "case", "list")
    assert shown.exit_code == 0, shown.output
    assert hidden_characters(shown.stdout) == []
    lines = shown.stdout.splitlines()
    assert f"    scope: platform_id {platform_id}" in lines[1]
    assert "\\x1b[1A\\x1b[2K\\r    scope: party_id pa_0123456789" in shown.stdout  # visible, inert
    assert "2026-\\u202e1000" in shown.stdout
    assert len(lines) == 3  # the legal basis did not start a line of its own

    as_json = invoke(env_of(settings), "case", "list", "--json")
    assert hidden_characters(as_json.stdout) == []
    (view,) = json.loads(as_json.stdout)["cases"]
    assert view["legal_basis"] == "art. 54" + ERASE  # the JSON still carries the exact value
    assert view["case_number"] == "2026-\u202e1000"
    assert view["case_id"] == case_id


def test_case_approve_shows_the_stored_scope_and_asks(settings, runtime, client):
    case_id, platform_id = hostile_case(runtime, client)
    declined = invoke(env_of(settings), "case", "approve", case_id, stdin="n\n")
    assert declined.exit_code == 1
    assert hidden_characters(declined.output) == []
    assert f"platform_id {platform_id}" in declined.output
    assert "every contract of the platform" in declined.output
    assert "Lending\\x1b[8m" in declined.output
    with runtime.db.read() as session:
        assert session.execute(select(Case.status)).scalar_one() == "pending"

    # No terminal and no --yes: nothing is approved.
    silent = invoke(env_of(settings), "case", "approve", case_id, stdin="")
    assert silent.exit_code == 1
    with runtime.db.read() as session:
        assert session.execute(select(Case.status)).scalar_one() == "pending"

    approved = invoke(env_of(settings), "case", "approve", case_id, stdin="y\n")
    assert approved.exit_code == 0, approved.output
    assert hidden_characters(approved.output) == []
    with runtime.db.read() as session:
        assert session.execute(select(Case.status)).scalar_one() == "approved"


def test_case_approve_yes_skips_the_question(settings, runtime, client):
    case_id, _ = hostile_case(runtime, client)
    approved = invoke(env_of(settings), "case", "approve", case_id, "--yes", "--json")
    assert approved.exit_code == 0, approved.output
    assert hidden_characters(approved.stdout) == []
    assert json.loads(approved.stdout)["status"] == "approved"


def test_an_error_message_from_outside_is_escaped(settings, runtime, client):
    shown = invoke(env_of(settings), "case", "approve", "cs_\x1b[2Knope", "--yes")
    assert shown.exit_code == 1
    assert hidden_characters(shown.output) == []
    assert "not_found" in shown.output


def test_sign_escapes_the_payload_it_shows(tmp_path):
    from notary.verify.canonical import canonical_json

    made = CliRunner().invoke(main, ["keygen", "--out", str(tmp_path / "key")])
    assert made.exit_code == 0, made.output
    payload = canonical_json(
        {
            "purpose": "notary.sign.v1",
            "contract_id": "ct_1\x1b[2K\rcontract_id: ct_other",
            "platform_id": "pl_\u202e1",
            "role": "borrower",
            "party_id": "pa_1",
            "document_sha256": "0" * 64,
            "terms_sha256": "1" * 64,
        }
    )
    (tmp_path / "payload.bin").write_bytes(payload)
    signed = CliRunner().invoke(main, ["sign", "--key", str(tmp_path / "key"), str(tmp_path / "payload.bin")])
    assert hidden_characters(signed.output) == []
    assert "ct_1\\x1b[2K\\rcontract_id: ct_other" in signed.output
