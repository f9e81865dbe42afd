"""Killing the worker in the middle of a delivery: the delivery stays pending, and the next
worker sends the same event (same ``event_id``, same bytes); nothing is lost or duplicated as
another event."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from notary.storage.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEvent
from tests.support.platforms import sign_body
from tests.support.webhook_receiver import HANG, Receiver

pytestmark = pytest.mark.wallclock  # a real worker process signs with the machine's clock


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, unsafe_webhook_loopback=True)


def _state(runtime):
    with runtime.db.read() as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
        events = session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()
        attempts = session.execute(select(func.count()).select_from(WebhookAttempt)).scalar_one()
    return delivery, events, attempts


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_loses_nothing(
    settings, runtime, client, platform, investor, borrower, tmp_path
):
    receiver = Receiver([])  # the real worker signs with the machine's clock
    receiver.script = [HANG]
    env = {
        **os.environ,
        "NOTARY_INSTANCE_PATH": str(settings.instance_path),
        "NOTARY_DATABASE_URL": settings.database_url,
        "NOTARY_UNSAFE_WEBHOOK_LOOPBACK": "1",
        "NOTARY_LEASE_DURATION": "1s",
        "NOTARY_WEBHOOK_TIMEOUT": "60s",
    }

    def start_worker() -> subprocess.Popen[bytes]:
        with (tmp_path / "workers.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "notary.cli", "worker"], env=env, start_new_session=True, stderr=log
            )

    workers = []
    try:
        created = platform.post("/webhooks", json={"url": receiver.url, "events": ["contract.signed"]})
        receiver.secrets.append(created.get_json()["secret"]["secret"])
        filed = platform.file(investor, borrower)
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures",
            json=sign_body(investor, filed, "investor"),
        )

        workers.append(start_worker())
        (first,) = receiver.wait_for(1, timeout=60)  # the worker is now waiting for an answer
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        delivery, events, attempts = _state(runtime)
        assert (delivery.status, delivery.attempts, events, attempts) == ("pending", 0, 1, 0)

        workers.append(start_worker())
        second = receiver.wait_for(2, timeout=60)[1]
        assert second.body == first.body  # the same event, byte for byte
        assert second.event["event_id"] == first.event["event_id"]
        assert second.refusal is None
        deadline = time.monotonic() + 30
        while _state(runtime)[0].status != "delivered" and time.monotonic() < deadline:
            time.sleep(0.1)
        delivery, events, attempts = _state(runtime)
        assert (delivery.status, delivery.attempts, events, attempts) == ("delivered", 1, 1, 1)
        time.sleep(0.5)
        assert len(receiver.deliveries) == 2  # and nothing sent after it was delivered
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
        receiver.stop()
