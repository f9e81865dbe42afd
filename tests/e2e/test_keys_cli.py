"""Operators' key commands (issue 25.3): ``notary party revoke-key`` and ``rotate-key``, and
``notary identity unbind``. Each shows what it will change, escaped, and asks unless ``--yes``;
saying no changes nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from notary.cli import main
from notary.storage.models import KeyStatus, Party, PartyKey
from notary.verify import key_events
from tests.e2e.test_cli_outside_text import env_of, hidden_characters
from tests.http.test_key_lifecycle import leaves_of, successor
from tests.support.people import Person

pytestmark = pytest.mark.wallclock  # the CLI builds its own runtime on the machine clock


def invoke(settings, *args, stdin=None):
    return CliRunner().invoke(main, list(args), env=env_of(settings), input=stdin)


def status_of(runtime, party_id: str, fingerprint: str) -> str:
    with runtime.db.read() as session:
        return session.execute(
            select(PartyKey.status).where(
                PartyKey.party_id == party_id, PartyKey.key_fingerprint == fingerprint
            )
        ).scalar_one()


def test_revoke_key_shows_the_key_escaped_and_asks(settings, runtime, platform, investor):
    with runtime.db.write() as session:  # a name stored before the input checks
        session.execute(update(Party).where(Party.id == investor.party_id).values(name="王\x1b[2K五"))
    fingerprint = investor.public.fingerprint
    declined = invoke(settings, "party", "revoke-key", fingerprint, "--reason", "lost", stdin="n\n")
    assert declined.exit_code == 1
    assert hidden_characters(declined.stdout) == []
    assert f"party {investor.party_id}" in declined.stdout
    assert "王\\x1b[2K五" in declined.stdout
    assert status_of(runtime, investor.party_id, fingerprint) == KeyStatus.ACTIVE  # nothing changed

    done = invoke(settings, "party", "revoke-key", fingerprint, "--reason", "lost", "--yes", "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["status"] == "revoked"
    assert [item["party_id"] for item in answer["parties"]] == [investor.party_id]
    assert status_of(runtime, investor.party_id, fingerprint) == KeyStatus.REVOKED
    again = invoke(settings, "party", "revoke-key", fingerprint, "--reason", "lost", "--yes")
    assert again.exit_code != 0
    assert "revoked already" in again.output
    assert "Traceback" not in again.output


def test_rotate_key_after_checking_the_document(settings, runtime, platform, investor, borrower, tmp_path):
    new = successor(investor)
    key_file = tmp_path / "public.pem"
    key_file.write_text(new.public.pem)
    proof = new.enrolment(platform.platform_id)["proof"]
    base = ["party", "rotate-key", str(investor.party_id), "--key", str(tmp_path), "--proof", proof]

    wrong = invoke(settings, *base, "--id-number", borrower.id_number, "--yes")
    assert wrong.exit_code != 0
    assert "identity_mismatch" in wrong.output or "not the identity" in wrong.output
    declined = invoke(settings, *base, "--id-number", investor.id_number, stdin="n\n")
    assert declined.exit_code == 1
    assert leaves_of(runtime, key_events.KEY_ROTATION) == []

    done = invoke(settings, *base, "--id-number", investor.id_number, "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["key_fingerprint"] == new.public.fingerprint
    assert status_of(runtime, investor.party_id, investor.public.fingerprint) == KeyStatus.ROTATED
    (leaf,) = leaves_of(runtime, key_events.KEY_ROTATION)
    assert leaf["approval"]["kind"] == "operator"


def test_identity_unbind_asks_then_undoes(settings, runtime, tmp_path):
    stranger = Person("陌生人")
    key_file = tmp_path / "public.pem"
    key_file.write_text(stranger.public.pem)
    bound = invoke(
        settings,
        "identity",
        "verify",
        "--id-number",
        stranger.id_number,
        "--key",
        str(key_file),
        "--operator",
        "Sun",
    )
    assert bound.exit_code == 0, bound.output
    fingerprint = stranger.public.fingerprint
    declined = invoke(settings, "identity", "unbind", fingerprint, "--reason", "mistaken", stdin="n\n")
    assert declined.exit_code == 1
    assert "bound to cn_resident" in declined.stdout
    assert leaves_of(runtime, key_events.IDENTITY_UNBINDING) == []
    done = invoke(
        settings, "identity", "unbind", fingerprint, "--reason", "mistaken", "--yes", "--operator", "Clerk Li"
    )
    assert done.exit_code == 0, done.output
    assert "identity binding undone" in done.stdout
    (leaf,) = leaves_of(runtime, key_events.IDENTITY_UNBINDING)
    assert (leaf["operator"], leaf["reason"]) == ("Clerk Li", "mistaken")
    (binding,) = leaves_of(runtime, key_events.IDENTITY_BINDING)
    assert binding["operator"] == "Sun"
    missing = invoke(settings, "identity", "unbind", fingerprint, "--reason", "mistaken", "--yes")
    assert missing.exit_code != 0
    assert "Traceback" not in missing.output
