"""Operators' webhook commands: add (the secret shown once), list, pause and resume, rotate,
the delivery log, resend, and refusals as one line with the error code."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from notary.cli import main
from notary.storage.access_models import AuditEntry
from tests.support.platforms import new_platform, sign_body
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.wallclock  # the CLI's runtime reads the machine's clock


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, unsafe_webhook_loopback=True)


def invoke(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def test_an_operator_manages_a_platforms_webhooks(settings, runtime, client, investor, borrower, platform):
    env = {
        "NOTARY_INSTANCE_PATH": str(settings.instance_path),
        "NOTARY_DATABASE_URL": settings.database_url,
        "NOTARY_UNSAFE_WEBHOOK_LOOPBACK": "1",
    }
    receiver = Receiver([], now=lambda: runtime.clock().timestamp())
    try:
        refused = invoke(env, "webhook", "add", platform.platform_id, "https://10.0.0.1/hook")
        assert refused.exit_code == 1
        assert "refused_address" in refused.output
        unknown = invoke(
            env, "webhook", "add", platform.platform_id, receiver.url, "--event", "contract.nope"
        )
        assert unknown.exit_code == 1
        assert "validation_failed" in unknown.output

        added = invoke(
            env,
            "webhook",
            "add",
            platform.platform_id,
            receiver.url,
            "--event",
            "contract.signed",
            "--operator",
            "Ops Li",
        )
        assert added.exit_code == 0, added.output
        webhook_id = added.stdout.split()[0]
        secret = added.stdout.split("secret (shown once): ")[1].strip()
        receiver.secrets.append(secret)
        listed = invoke(env, "webhook", "list", "--json")
        assert secret not in listed.stdout
        assert json.loads(listed.stdout)["webhooks"][0]["webhook_id"] == webhook_id

        assert invoke(env, "webhook", "pause", webhook_id).exit_code == 0
        filed = platform.file(investor, borrower)
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures",
            json=sign_body(investor, filed, "investor"),
        )
        dispatcher = runtime.webhook_dispatcher()
        dispatcher.drain()
        assert receiver.deliveries == []
        resumed = invoke(env, "webhook", "resume", webhook_id, "--json")
        assert json.loads(resumed.stdout)["pending_deliveries"] == 1
        dispatcher.drain()
        (first,) = receiver.wait_for(1)
        assert first.refusal is None

        rotated = invoke(env, "webhook", "secret", webhook_id, "--expire-others-in", "1h", "--json")
        assert rotated.exit_code == 0, rotated.output
        receiver.secrets[:] = [json.loads(rotated.stdout)["secret"]]
        event_id = first.event["event_id"]
        resent = invoke(env, "webhook", "resend", event_id, "--json")
        assert json.loads(resent.stdout) == {"deliveries": 1}
        dispatcher.drain()
        again = receiver.wait_for(2)[1]
        assert again.body == first.body
        assert again.refusal is None  # signed with the new secret too
        assert again.headers["Notary-Signature"].count("v1=") == 2

        log = invoke(env, "webhook", "deliveries", webhook_id)
        assert f"{event_id} contract.signed delivered attempts 1" in log.stdout
        shown = invoke(env, "webhook", "event", event_id, "--json")
        attempts = json.loads(shown.stdout)["deliveries"][0]["attempt_log"]
        assert [a["outcome"] for a in attempts] == ["delivered", "delivered"]
        assert secret not in shown.stdout
        usage = invoke(env, "webhook", "resend", "--failed-since", "2026-01-01T00:00:00Z")
        assert usage.exit_code == 2
        none = invoke(
            env,
            "webhook",
            "resend",
            "--failed-since",
            "2026-01-01T00:00:00Z",
            "--platform",
            platform.platform_id,
        )
        assert none.stdout.strip() == "0 deliveries queued again"
        other = new_platform(runtime, client, "Other Lending")
        assert (
            invoke(env, "webhook", "list", "--platform", other.platform_id).stdout.strip()
            == "no webhook endpoints"
        )
        assert invoke(env, "webhook", "delete", webhook_id).exit_code == 0
        dispatcher.close()
    finally:
        receiver.stop()
    with runtime.db.read() as session:
        actions = session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.action.like("webhook.%"))
        ).all()
    assert [a for a, _ in actions] == [
        "webhook.add", "webhook.update", "webhook.update", "webhook.secret.add",
        "webhook.resend", "webhook.resend", "webhook.delete",
    ]  # fmt: skip
    assert ("webhook.add", "Ops Li") in actions
