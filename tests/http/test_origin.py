"""Issue 15.5: the log's origin is an identity, fixed once and stored, not an address.

Before the fix, the origin was computed from ``NOTARY_PUBLIC_URL`` at every start: moving an
instance from ``127.0.0.1:8000`` to its real domain made ``/trust`` publish a new origin while
every stored checkpoint carried the old one, so every bundle issued before failed
``notary verify --trust``, ``notary audit`` reported a false divergence, and ``/healthz`` said ok.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from notary.app import create_app
from notary.config import ConfigError
from notary.runtime import Runtime
from notary.services.audit.integrity import default_auditors, run_audit
from notary.storage.models import LogLeaf, LogOrigin, SignedCheckpoint
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.leaves import ORIGIN_ROTATION, parse_origin_rotation
from notary.verify.trust import TrustFile
from tests.http.test_evidence import ready_contract

FIRST = "127.0.0.1:8000/contracts/v1"


def audit_clean(runtime) -> bool:
    with runtime.db.read() as session:
        trusted = runtime.origins.trusted_logs(session)
    report = run_audit(runtime.db, default_auditors(runtime.blobs, trusted_logs=trusted))
    assert report.clean, report.as_dict()
    return True


def trust_of(runtime) -> TrustFile:
    client = create_app(runtime=runtime).test_client()
    return TrustFile.from_json(client.get("/api/v1/trust").data)


def restarted(settings, clock, **changes) -> Runtime:
    """The same instance started again with other settings (a move, a new config)."""
    return Runtime(dataclasses.replace(settings, **changes), clock=clock, web=True)


def test_a_new_public_url_keeps_the_origin_and_every_bundle_verifying(
    settings, runtime, platform, investor, borrower, client, clock
):
    contract_id = ready_contract(platform, investor, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{contract_id}/evidence").data
    assert trust_of(runtime).origin == FIRST

    moved = restarted(settings, clock, public_url="https://notary.example.cn")
    try:
        trust = trust_of(moved)
        assert trust.origin == FIRST  # the address moved; the log's identity did not
        report = verify_bundle(bundle, trust=trust, now=clock())
        assert report.verdict == "valid", [c.to_dict() for c in report.failures]
        assert audit_clean(moved)
        # New checkpoints are still signed under the stored origin.
        clock.advance(seconds=2)
        ready_contract(platform, investor, borrower, moved, client)
        with moved.db.read() as session:
            origins = set(session.execute(select(SignedCheckpoint.origin)).scalars())
        assert origins == {FIRST}
    finally:
        moved.close()


def test_a_setting_that_would_change_the_origin_stops_the_process_with_one_line(settings, runtime, clock):
    with pytest.raises(ConfigError) as stopped:
        restarted(settings, clock, log_origin="notary.example.cn/contracts/v1")
    message = str(stopped.value)
    assert "\n" not in message
    assert message.startswith("origin_changed: NOTARY_LOG_ORIGIN is 'notary.example.cn/contracts/v1'")
    assert FIRST in message
    # Setting it to the stored origin is fine.
    restarted(settings, clock, log_origin=FIRST).close()


def test_serve_and_worker_refuse_to_start_over_a_changed_origin(settings, runtime):
    from notary.cli import main

    env = {
        "NOTARY_INSTANCE_PATH": str(settings.instance_path),
        "NOTARY_DATABASE_URL": settings.database_url,
        "NOTARY_LOG_ORIGIN": "notary.example.cn/contracts/v1",
    }
    for command in (["worker", "--once"], ["serve", "--port", "1"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 78, (command, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, result.output
        assert "origin_changed" in lines[0]
        assert "Traceback" not in result.output


def test_an_upgraded_instance_takes_its_origin_from_its_checkpoints(
    settings, runtime, platform, investor, borrower, client, clock
):
    ready_contract(platform, investor, borrower, runtime, client)
    with runtime.db.write() as session:  # as before migration 0012 filled the table
        session.execute(delete(LogOrigin))
    upgraded = restarted(settings, clock, public_url="https://notary.example.cn")
    try:
        assert trust_of(upgraded).origin == FIRST  # from the stored checkpoints, not the environment
    finally:
        upgraded.close()


@pytest.mark.wallclock  # the CLI / a second process builds its runtime on the machine's clock
def test_a_rotation_logs_a_leaf_and_keeps_the_old_origin_in_the_trust_file(
    settings, runtime, platform, investor, borrower, client, clock
):
    from notary.cli import main

    before = ready_contract(platform, investor, borrower, runtime, client)
    old_bundle = platform.get(f"/contracts/{before}/evidence").data
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(
        main,
        ["log", "rotate-origin", "notary.example.cn/contracts/v1", "--operator", "op", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    rotation = json.loads(result.output)
    assert (rotation["from_origin"], rotation["to_origin"]) == (FIRST, "notary.example.cn/contracts/v1")

    with runtime.db.read() as session:
        leaf = session.get(LogLeaf, rotation["leaf_index"])
        covering = session.get(SignedCheckpoint, rotation["tree_size"])
    assert leaf.format == ORIGIN_ROTATION
    assert parse_origin_rotation(leaf.record).to_origin == "notary.example.cn/contracts/v1"
    assert covering.origin == FIRST  # the rotation leaf is signed (and cosigned) under the old origin

    clock.advance(seconds=2)
    after = ready_contract(platform, investor, borrower, runtime, client)
    new_bundle = platform.get(f"/contracts/{after}/evidence").data
    trust = trust_of(runtime)
    assert trust.origin == "notary.example.cn/contracts/v1"
    assert [(log.origin, log.from_size, log.until_size) for log in trust.logs] == [
        (FIRST, 0, rotation["tree_size"]),
        ("notary.example.cn/contracts/v1", rotation["tree_size"], None),
    ]
    for bundle in (old_bundle, new_bundle):
        report = verify_bundle(bundle, trust=trust, now=clock())
        assert report.verdict == "valid", [c.to_dict() for c in report.failures]
    assert verify_bundle(new_bundle, trust=trust, now=clock()).log.origin == "notary.example.cn/contracts/v1"
    assert audit_clean(runtime)
    # Rotating to an origin the log used before, or to the current one, is refused.
    for again in (FIRST, "notary.example.cn/contracts/v1"):
        refused = CliRunner().invoke(main, ["log", "rotate-origin", again, "--operator", "op"], env=env)
        assert refused.exit_code == 1, refused.output
        assert "Traceback" not in refused.output


def test_a_bundle_made_under_an_origin_the_trust_file_does_not_hold_fails(
    settings, runtime, platform, investor, borrower, client, clock
):
    """The old behaviour, kept as the negative: a trust file of a *different* origin (what the
    moved instance used to publish) does not vouch for the bundle."""
    contract_id = ready_contract(platform, investor, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{contract_id}/evidence").data
    trust = json.loads(client.get("/api/v1/trust").data)
    signer = runtime.origins.signer("notary.example.cn/contracts/v1")
    trust["origin"] = signer.name
    trust["logs"] = [{"origin": signer.name, "verifier_key": signer.verifier_key, "from_size": 0}]
    report = verify_bundle(bundle, trust=TrustFile.from_json(json.dumps(trust)))
    assert report.verdict == "invalid"
    assert {check.name for check in report.failures} >= {"checkpoint_signature"}
