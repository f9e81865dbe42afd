"""The operators' commands for access: identity verify, investigator add, case approve."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from notary.cli import main
from notary.storage.access_models import AuditEntry, IdentityVerification
from tests.support.people import resident_id


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
