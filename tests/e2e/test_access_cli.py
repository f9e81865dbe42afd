"""The operators' commands for access: identity verify, investigator add, case list and approve."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from notary.cli import main
from notary.services import auth
from notary.services.clock import now_text
from notary.storage.access_models import AuditEntry, IdentityVerification
from tests.support.access import approve, open_case
from tests.support.people import resident_id

pytestmark = pytest.mark.wallclock  # the CLI builds its own runtime on the machine clock


def invoke(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def test_identity_verify_investigator_add_and_case_approve(settings, runtime, tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    number = resident_id()
    made = json.loads(invoke(env, "keygen", "--out", str(tmp_path / "key"), "--json").stdout)
    args = [
        "identity",
        "verify",
        "--id-number",
        number,
        "--key",
        str(tmp_path / "key"),
        "--operator",
        "Clerk Sun",
    ]
    first = invoke(env, *args, "--json")
    assert first.exit_code == 0, first.output
    bound = json.loads(first.stdout)
    assert bound["key_fingerprint"] == made["key_fingerprint"]
    assert bound["created"] is True
    assert number not in first.stdout  # masked only
    # The PEM file itself works as well as the key folder; the same binding again changes nothing.
    again = invoke(env, *args[:-4], "--key", str(tmp_path / "key" / "public.pem"), "--json")
    assert json.loads(again.stdout)["created"] is False
    other = invoke(env, "identity", "verify", "--id-number", resident_id(), "--key", str(tmp_path / "key"))
    assert other.exit_code == 1
    assert "key_in_use" in other.output
    bad = invoke(env, "identity", "verify", "--id-number", "123", "--key", str(tmp_path / "key"))
    assert bad.exit_code == 1
    assert "bad_id_number" in bad.output

    added = invoke(env, "investigator", "add", "Officer Wang", "--agency", "Example City Police")
    assert added.exit_code == 0
    assert "token (shown once): nti_" in added.stdout
    missing = invoke(env, "case", "approve", "cs_nope")
    assert missing.exit_code == 1
    assert "not_found" in missing.output

    with runtime.db.read() as session:
        stored = session.execute(select(IdentityVerification)).scalar_one()
        acts = session.execute(select(AuditEntry.action, AuditEntry.actor_id)).all()
    assert stored.verified_by == "Clerk Sun"
    assert number not in stored.id_number_masked
    assert [tuple(act) for act in acts] == [
        ("identity.verify", "Clerk Sun"),
        ("investigator.add", acts[1][1]),
    ]


def test_case_list_shows_what_awaits_approval_with_who_asked_and_why(
    settings, runtime, client, tmp_path, make_platform, make_investigator
):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    assert invoke(env, "case", "list").stdout.strip() == "no pending cases"
    platform = make_platform()
    number = resident_id()
    wang, li = make_investigator(), make_investigator("Officer Li")
    first = open_case(wang, {"platform_id": platform.platform_id}, number="2026-0001")
    runtime.clock.advance(seconds=1)
    second = open_case(li, {"id_number": number}, number="2026-0002")
    approve(runtime, first)

    pending = invoke(env, "case", "list", "--json")
    assert pending.exit_code == 0, pending.output
    [only] = json.loads(pending.stdout)["cases"]
    assert (only["case_id"], only["status"], only["case_number"]) == (second, "pending", "2026-0002")
    assert only["investigator"] == {"name": "Officer Li", "agency": "Example City Police"}
    assert only["legal_basis"] == "Criminal Procedure Law art. 54"
    assert number not in pending.stdout  # a person's scope is masked
    assert only["scope"]["id_number_masked"] != number

    every = json.loads(invoke(env, "case", "list", "--status", "all", "--json").stdout)["cases"]
    assert [(c["case_id"], c["status"]) for c in every] == [(first, "approved"), (second, "pending")]
    approved = invoke(env, "case", "list", "--status", "approved")
    assert approved.exit_code == 0
    assert first in approved.stdout
    assert second not in approved.stdout
    assert f"platform_id {platform.platform_id}" in approved.stdout
    assert "Officer Wang" in approved.stdout


def test_an_investigators_tokens_are_revoked_at_once_and_a_new_one_can_be_issued(
    settings, runtime, client, make_investigator
):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    wang = make_investigator()
    with runtime.db.read() as session:
        subject = auth.authenticate(session, wang.token, now=now_text(runtime.clock)).subject_id
    assert wang.get(f"/cases/{open_case(wang, {'id_number': resident_id()})}").status_code == 200

    revoked = invoke(env, "investigator", "revoke", subject, "--operator", "Clerk Sun", "--json")
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout) == {"investigator_id": subject, "tokens_revoked": 1}
    refused = wang.get("/cases/anything")
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthenticated"

    issued = invoke(env, "investigator", "token", subject, "--json")
    assert issued.exit_code == 0, issued.output
    fresh = json.loads(issued.stdout)["token"]
    with runtime.db.read() as session:
        assert auth.authenticate(session, fresh, now=now_text(runtime.clock)).subject_id == subject
        acts = session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.object_id == subject)
        ).all()
    assert [tuple(act) for act in acts][-2:] == [
        ("investigator.revoke", "Clerk Sun"),
        ("investigator.token", acts[-1][1]),
    ]

    for command in ("revoke", "token"):
        missing = invoke(env, "investigator", command, "iv_nope")
        assert missing.exit_code == 1
        assert "not_found" in missing.output


def test_a_platforms_token_is_rotated_and_a_defunct_platform_gets_none(settings, runtime):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    added = json.loads(invoke(env, "platform", "add", "Example Lending", "--json").stdout)
    platform_id, first = added["platform_id"], added["token"]

    def works(token):
        with runtime.db.read() as session:
            try:
                return (
                    auth.authenticate(session, token, now=now_text(runtime.clock)).subject_id == platform_id
                )
            except auth.Unauthenticated:
                return False

    second = json.loads(invoke(env, "platform", "token", platform_id, "--json").stdout)
    assert second["tokens_revoked"] == 0
    assert works(first)
    assert works(second["token"])  # both, while the platform switches over

    rotated = invoke(
        env, "platform", "token", platform_id, "--revoke-others", "--operator", "Clerk Sun", "--json"
    )
    assert rotated.exit_code == 0, rotated.output
    third = json.loads(rotated.stdout)
    assert third["tokens_revoked"] == 2
    assert [works(token) for token in (first, second["token"], third["token"])] == [False, False, True]
    with runtime.db.read() as session:
        acts = session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.object_id == platform_id)
        ).all()
    assert [tuple(act) for act in acts][-1] == ("platform.token", "Clerk Sun")

    invoke(env, "platform", "defunct", platform_id)
    refused = invoke(env, "platform", "token", platform_id)
    assert refused.exit_code == 1
    assert "platform_defunct" in refused.output
    missing = invoke(env, "platform", "token", "pl_nope")
    assert missing.exit_code == 1
    assert "not_found" in missing.output
