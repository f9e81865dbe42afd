"""Webhooks end to end: subscriptions over the API, events written with their changes, signed
deliveries to a real receiver on loopback, retries, resend, rotation, order and the address rules.

The receiver checks every signature with the Python snippet of docs/webhooks.md, as written.
Deliveries are driven by the dispatcher the worker runs (``drain``: rounds until nothing is
due); retries come due by moving the service's clock.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import socket
import threading
import time

import pytest
from sqlalchemy import func, select

from notary.services.access.platforms import mark_defunct
from notary.services.audit import trail as audit
from notary.services.clock import now_text, parse_time
from notary.storage.webhook_models import WebhookDelivery, WebhookEvent
from tests.support.platforms import new_platform, sign_body
from tests.support.reports import lodge, report_body
from tests.support.webhook_receiver import HANG, Receiver


@pytest.fixture
def settings(settings):
    # Loopback over plain http, as in --dev: the receiver runs on this machine.
    return dataclasses.replace(settings, unsafe_webhook_loopback=True, webhook_timeout=1.0)


@pytest.fixture
def dispatcher(runtime):
    dispatcher = runtime.webhook_dispatcher()
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def receivers(clock):
    started: list[Receiver] = []

    def start(secrets=()) -> Receiver:
        receiver = Receiver(list(secrets), now=lambda: clock().timestamp())
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def subscribe(platform, receiver, **body):
    response = platform.post("/webhooks", json={"url": receiver.url, **body})
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    receiver.secrets.append(answer["secret"]["secret"])
    return answer


def sign(client, person, filed, role):
    response = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
    )
    assert response.status_code == 200, response.get_json()


def seal_and_stamp(runtime, clock):
    clock.advance(seconds=2)  # past the checkpoint interval
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()


def deliveries(runtime):
    with runtime.db.read() as session:
        return session.execute(select(WebhookDelivery).order_by(WebhookDelivery.event_seq)).scalars().all()


def event_count(runtime):
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()


def test_a_contracts_events_arrive_signed_and_in_order(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    created = subscribe(platform, receiver)
    assert created["events"] == sorted(
        [
            "contract.signed",
            "contract.declined",
            "contract.expired",
            "contract.sealed",
            "evidence.ready",
            "evidence.cosigned",
            "platform.defunct",
            "report.lodged",
            "report.filed_late",
        ]
    )
    secret = created["secret"]["secret"]
    assert secret.startswith("whsec_")
    listed = platform.get("/webhooks")
    assert secret not in listed.get_data(as_text=True)  # shown once, never again
    assert listed.get_json()["webhooks"][0]["secrets"][0]["secret_id"] == created["secret"]["secret_id"]

    filed = platform.file(investor, borrower, external_ref="loan-7")
    sign(client, investor, filed, "investor")
    sign(client, borrower, filed, "borrower")
    seal_and_stamp(runtime, clock)
    dispatcher.drain()

    got = receiver.wait_for(4)
    assert [d.refusal for d in got] == [None] * 4
    assert all(d.verified_with == secret for d in got)
    events = [d.event for d in got]
    assert [(e["type"], e["data"].get("role")) for e in events] == [
        ("contract.signed", "investor"),
        ("contract.signed", "borrower"),
        ("contract.sealed", None),
        ("evidence.ready", None),
    ]
    contract_id = filed["contract_id"]
    assert {e["data"]["contract_id"] for e in events} == {contract_id}
    assert {e["data"]["external_ref"] for e in events} == {"loan-7"}
    assert [e["data"]["status"] for e in events[:3]] == ["awaiting_signatures", "signed", "sealed"]
    assert len({e["event_id"] for e in events}) == 4
    assert all(d.headers["Notary-Event-Id"] == d.event["event_id"] for d in got)
    assert all(d.headers["Notary-Event-Type"] == d.event["type"] for d in got)
    assert {(e["format"], e["platform_id"]) for e in events} == {("notary-event/1", platform.platform_id)}
    view = platform.get(f"/contracts/{contract_id}").get_json()
    assert view["evidence"]["ready"] is True
    ready = events[3]["data"]
    assert ready["leaf_index"] == view["evidence"]["leaf_index"] == events[2]["data"]["leaf_index"]
    assert ready["record_sha256"] == view["evidence"]["record_sha256"]
    assert ready["checkpoint_size"] == view["evidence"]["checkpoint_size"]
    assert platform.get(ready["evidence_path"].removeprefix("/api/v1")).status_code == 200
    # No personal data beyond what the platform holds: no names, ID numbers or amounts.
    text = b"".join(d.body for d in got).decode()
    assert "张三" not in text
    assert investor.id_number not in text
    assert "10000.00" not in text
    assert {(d.status, d.attempts) for d in deliveries(runtime)} == {("delivered", 1)}


def test_events_are_written_with_their_change_and_only_when_someone_listens(
    platform, investor, borrower, runtime, client, receivers
):
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    assert event_count(runtime) == 0  # nobody listens: nothing is written

    subscribe(platform, receivers(), events=["contract.signed"])
    bad = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures",
        json={"role": "borrower", "signature": sign_body(investor, filed, "borrower")["signature"]},
    )
    assert bad.status_code == 422
    assert event_count(runtime) == 0  # a refused act leaves no event
    sign(client, borrower, filed, "borrower")
    assert event_count(runtime) == 1  # in the signature's own transaction, before any worker ran
    runtime.sequencer.seal_pending()
    assert event_count(runtime) == 1  # contract.sealed was not subscribed to


def test_declined_and_expired(platform, investor, borrower, runtime, client, clock, dispatcher, receivers):
    receiver = receivers()
    subscribe(platform, receiver, events=["contract.declined", "contract.expired"])
    declined = platform.file(investor, borrower)
    payload = platform.get(
        f"/contracts/{declined['contract_id']}/signing-payload?role=borrower&purpose=decline"
    ).get_json()
    signature = borrower.sign_b64(base64.b64decode(payload["payload_base64"]))
    response = client.post(
        f"/api/v1/contracts/{declined['contract_id']}/decline",
        json={"role": "borrower", "signature": signature, "reason": "金额不对"},
    )
    assert response.status_code == 200
    expiring = platform.file(investor, borrower, sign_by=now_text(lambda: clock() + dt.timedelta(hours=1)))
    clock.advance(hours=2)
    assert runtime.chores.expire_overdue() == 1
    dispatcher.drain()
    got = sorted(receiver.wait_for(2), key=lambda d: d.event["type"])  # two contracts: any order
    first, second = (d.event for d in got)
    assert first["type"] == "contract.declined"
    assert first["data"]["role"] == "borrower"
    assert first["data"]["status"] == "declined"
    assert "金额不对" not in got[0].body.decode()  # the reason is read from the contract, not pushed
    assert second["type"] == "contract.expired"
    assert second["data"]["contract_id"] == expiring["contract_id"]
    assert (
        second["data"]["sign_by"]
        == platform.get(f"/contracts/{expiring['contract_id']}").get_json()["sign_by"]
    )


def test_a_report_reaches_the_platform_without_its_reporter(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    subscribe(platform, receiver, events=["report.lodged", "report.filed_late"])
    lodged = lodge(client, investor, report_body(investor, platform.platform_id, runtime=runtime))
    assert lodged.status_code == 201, lodged.get_json()
    report = lodged.get_json()
    dispatcher.drain()
    (first,) = receiver.wait_for(1)
    assert first.refusal is None
    assert first.event["type"] == "report.lodged"
    assert first.event["data"] == {
        "report_id": report["report_id"],
        "document_sha256": report["document_sha256"],
        "lodged_at": report["lodged_at"],
        "status": "open",
    }
    # Which document, never who reported it or what they claimed.
    assert investor.public.fingerprint not in first.body.decode()
    assert "10000.00" not in first.body.decode()

    clock.advance(hours=5)
    filed = platform.file(investor, borrower)
    assert runtime.report_ledger.mark_filed_late() == 1
    dispatcher.drain()
    _, second = receiver.wait_for(2)
    assert second.event["type"] == "report.filed_late"
    assert second.event["data"] == {
        "report_id": report["report_id"],
        "document_sha256": report["document_sha256"],
        "contract_id": filed["contract_id"],
        "filed_at": platform.get(f"/contracts/{filed['contract_id']}").get_json()["received_at"],
        "status": "filed_late",
    }


def test_500_then_200_retries_the_same_event_after_a_backoff(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    receiver.script = [500]
    endpoint = subscribe(platform, receiver, events=["contract.signed"])
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    dispatcher.drain()
    receiver.wait_for(1)
    (delivery,) = deliveries(runtime)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    wait = (parse_time(delivery.next_attempt_at) - parse_time(delivery.last_attempt_at)).total_seconds()
    assert 42 * 0.8 - 0.01 <= wait <= 42 * 1.2 + 0.01

    dispatcher.drain()
    assert len(receiver.deliveries) == 1  # not due yet
    clock.advance(seconds=60)
    dispatcher.drain()
    first, second = receiver.wait_for(2)
    assert first.body == second.body  # the same event, byte for byte
    assert first.headers["Notary-Signature"] != second.headers["Notary-Signature"]  # a new t
    assert (first.headers["Notary-Delivery-Attempt"], second.headers["Notary-Delivery-Attempt"]) == ("1", "2")
    assert second.refusal is None

    event_id = first.event["event_id"]
    log = platform.get(f"/webhook-events/{event_id}")
    assert log.status_code == 200
    (entry,) = log.get_json()["deliveries"]
    assert entry["webhook_id"] == endpoint["webhook_id"]
    assert entry["status"] == "delivered"
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in entry["attempt_log"]] == [
        (1, "http_error", 500),
        (2, "delivered", 200),
    ]
    assert all(a["latency_ms"] >= 0 for a in entry["attempt_log"])
    assert entry["attempt_log"][1]["response_excerpt"] == "ok"
    assert receiver.secrets[0] not in log.get_data(as_text=True)
    listed = platform.get(f"/webhooks/{endpoint['webhook_id']}/deliveries").get_json()
    assert [(d["event_id"], d["status"], d["attempts"]) for d in listed["deliveries"]] == [
        (event_id, "delivered", 2)
    ]


def test_twelve_failures_make_it_failed_and_resend_brings_it_back(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    receiver.script = [503] * 12
    endpoint = subscribe(platform, receiver, events=["contract.signed"])
    filed = platform.file(investor, borrower)
    since = now_text(clock)
    sign(client, investor, filed, "investor")
    first_try = clock()
    waits = []
    for attempt in range(1, 13):
        dispatcher.drain()
        receiver.wait_for(attempt)
        (delivery,) = deliveries(runtime)
        assert delivery.attempts == attempt
        if attempt < 12:
            due = parse_time(delivery.next_attempt_at)
            waits.append((due - clock()).total_seconds())
            clock.advance(seconds=(due - clock()).total_seconds() + 1)
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert [round(w / (42 * 2**n), 1) for n, w in enumerate(waits)] == pytest.approx([1.0] * 11, abs=0.21)
    assert 0.8 * 86000 <= (clock() - first_try).total_seconds() <= 1.2 * 86000 + 20  # about a day

    resent = platform.post("/webhook-events/resend", json={"failed_since": since})
    assert resent.status_code == 202
    assert resent.get_json() == {"deliveries": 1}
    dispatcher.drain()
    last = receiver.wait_for(13)[-1]
    assert last.refusal is None
    assert last.headers["Notary-Delivery-Attempt"] == "1"
    assert deliveries(runtime)[0].status == "delivered"

    # One event again, even once delivered: same id, same bytes.
    event_id = last.event["event_id"]
    again = platform.post(f"/webhook-events/{event_id}/resend", json={"webhook_id": endpoint["webhook_id"]})
    assert again.get_json() == {"deliveries": 1}
    dispatcher.drain()
    assert receiver.wait_for(14)[-1].body == last.body
    assert platform.post("/webhook-events/resend", json={"failed_since": "yesterday"}).status_code == 422
    assert platform.post("/webhook-events/ev_unknown/resend", json={}).status_code == 404


def test_a_hanging_receiver_delays_no_other_endpoint(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    slow, fast = receivers(), receivers()
    slow.script = [HANG] * 10
    subscribe(platform, slow, events=["contract.signed"])
    subscribe(platform, fast, events=["contract.signed"])
    for _ in range(3):
        filed = platform.file(investor, borrower)
        sign(client, investor, filed, "investor")

    started = time.monotonic()
    assert dispatcher.run_once() == 6  # every delivery handed to the pool at once
    fast.wait_for(3, timeout=0.9)  # all of the fast endpoint's, while the slow one hangs
    assert time.monotonic() - started < 0.9
    slow.wait_for(3, timeout=0.9)
    deadline = time.monotonic() + 0.5
    while dispatcher.in_flight > 3 and time.monotonic() < deadline:
        dispatcher.record_finished()  # the fast endpoint's answers; nothing new is due
    assert dispatcher.in_flight == 3  # the slow endpoint's, still waiting for an answer
    assert {d.status for d in deliveries(runtime)} == {"pending", "delivered"}
    dispatcher.drain(timeout=5)  # each ends at the 1 s timeout
    slow_rows = [d for d in deliveries(runtime) if d.last_error and "no answer" in d.last_error]
    assert len(slow_rows) == 3
    assert all(d.status == "pending" for d in slow_rows)

    # An endpoint that gave no answer gets one delivery at a time until it answers again.
    clock.advance(hours=1)
    assert dispatcher.run_once() == 1
    slow.release.set()
    dispatcher.drain(timeout=5)


def test_rotation_signs_with_every_live_secret(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    old_only = receivers()
    endpoint = subscribe(platform, old_only, events=["contract.signed"])
    old = old_only.secrets[0]
    rotated = platform.post(f"/webhooks/{endpoint['webhook_id']}/secrets", json={})
    assert rotated.status_code == 201
    new = rotated.get_json()["secret"]
    new_only = receivers([new])
    platform.client.patch(
        f"/api/v1/webhooks/{endpoint['webhook_id']}", json={"url": new_only.url}, headers=platform.auth
    )
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    dispatcher.drain()
    (during,) = new_only.wait_for(1)
    assert during.refusal is None
    assert during.verified_with == new
    assert during.headers["Notary-Signature"].count("v1=") == 2
    checker = receivers([old])  # a receiver still holding only the old secret also accepts it
    checker._record("/", during.headers, during.body)
    assert checker.deliveries[0].refusal is None

    platform.post(f"/webhooks/{endpoint['webhook_id']}/secrets", json={"expire_others_in": 0})
    sign(client, borrower, filed, "borrower")
    dispatcher.drain()
    after = new_only.wait_for(2)[1]
    assert after.headers["Notary-Signature"].count("v1=") == 1
    assert after.refusal == "no valid signature"  # the second secret stopped with the first
    checker._record("/", after.headers, after.body)
    assert checker.deliveries[1].refusal == "no valid signature"

    secrets = platform.get(f"/webhooks/{endpoint['webhook_id']}").get_json()["secrets"]
    assert [s["live"] for s in secrets] == [False, False, True]
    last = secrets[-1]["secret_id"]
    refused = platform.client.delete(
        f"/api/v1/webhooks/{endpoint['webhook_id']}/secrets/{last}", headers=platform.auth
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "last_secret"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://10.1.2.3/hook", "refused_address"),
        ("https://169.254.169.254/latest/meta-data/", "refused_address"),
        ("https://100.100.100.200/", "refused_address"),
        ("https://[::ffff:192.168.1.10]/hook", "refused_address"),
        ("https://[fd00:ec2::254]/", "refused_address"),
        ("https://0.0.0.0/", "refused_address"),
        ("http://8.8.8.8/hook", "bad_webhook_url"),
        ("ftp://8.8.8.8/hook", "bad_webhook_url"),
        ("https://user:password@8.8.8.8/hook", "bad_webhook_url"),
        ("https://8.8.8.8/hook#top", "bad_webhook_url"),
        ("https:///hook", "bad_webhook_url"),
    ],
)
def test_registration_refuses_what_a_webhook_may_not_reach(platform, url, code):
    response = platform.post("/webhooks", json={"url": url})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert platform.get("/webhooks").get_json() == {"webhooks": []}


def test_dns_rebinding_is_refused_at_delivery_and_the_checked_address_is_dialled(
    platform, investor, borrower, runtime, client, dispatcher, receivers
):
    receiver = receivers()
    port = receiver.url.split(":")[2].split("/")[0]
    answers = {"address": "127.0.0.1"}
    lookups = []

    def resolver(host, port_, **_):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["address"], port_))]

    runtime.webhook_policy.resolver = resolver
    endpoint = subscribe(platform, receiver, events=["contract.signed"])
    platform.client.patch(
        f"/api/v1/webhooks/{endpoint['webhook_id']}",
        json={"url": f"http://hooks.platform.test:{port}/hooks/notary"},
        headers=platform.auth,
    )
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    answers["address"] = "10.0.0.7"  # the name now points inside
    dispatcher.drain()
    assert receiver.deliveries == []
    (delivery,) = deliveries(runtime)
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.last_error == (
        "hooks.platform.test leads to a private or reserved address: webhooks go to public addresses only"
    )  # the reason, never the inside address the name gave
    event = platform.get(f"/webhooks/{endpoint['webhook_id']}/deliveries").get_json()["deliveries"][0]
    attempts = platform.get(f"/webhook-events/{event['event_id']}").get_json()["deliveries"][0]["attempt_log"]
    assert attempts[0]["outcome"] == "refused_address"

    # One lookup per attempt, and the connection goes to the address that lookup gave.
    answers["address"] = "127.0.0.1"
    lookups.clear()
    original = resolver

    def rebinding(host, port_, **kwargs):
        result = original(host, port_, **kwargs)
        answers["address"] = "10.0.0.7"  # a second lookup would be refused
        return result

    runtime.webhook_policy.resolver = rebinding
    platform.post(f"/webhook-events/{event['event_id']}/resend", json={})
    dispatcher.drain()
    assert len(receiver.wait_for(1)) == 1
    assert lookups == ["hooks.platform.test"]
    assert deliveries(runtime)[0].status == "delivered"


def test_pause_holds_deliveries_until_resumed(
    platform, investor, borrower, runtime, client, dispatcher, receivers
):
    receiver = receivers()
    endpoint = subscribe(platform, receiver, events=["contract.signed"])
    path = f"/api/v1/webhooks/{endpoint['webhook_id']}"
    paused = platform.client.patch(path, json={"status": "paused"}, headers=platform.auth)
    assert paused.get_json()["status"] == "paused"
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    sign(client, borrower, filed, "borrower")
    dispatcher.drain()
    assert receiver.deliveries == []
    assert platform.get(f"/webhooks/{endpoint['webhook_id']}").get_json()["pending_deliveries"] == 2
    platform.client.patch(path, json={"status": "active"}, headers=platform.auth)
    dispatcher.drain()
    assert [d.event["data"]["role"] for d in receiver.wait_for(2)] == ["investor", "borrower"]


def test_one_contracts_later_event_waits_for_its_earlier_one_others_do_not(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    receiver.script = [500]
    subscribe(platform, receiver, events=["contract.signed"])
    first = platform.file(investor, borrower)
    sign(client, investor, first, "investor")  # answered 500: waits for its retry
    dispatcher.drain()
    sign(client, borrower, first, "borrower")  # same contract: must wait behind it
    other = platform.file(investor, borrower)
    sign(client, investor, other, "investor")  # another contract: goes at once
    dispatcher.drain()
    got = receiver.wait_for(2)
    assert got[1].event["data"]["contract_id"] == other["contract_id"]
    clock.advance(minutes=2)
    dispatcher.drain()
    order = [(d.event["data"]["contract_id"], d.event["data"]["role"]) for d in receiver.wait_for(4)[2:]]
    assert order == [(first["contract_id"], "investor"), (first["contract_id"], "borrower")]


def test_platform_defunct_is_the_last_event(
    platform, investor, borrower, runtime, client, clock, dispatcher, receivers
):
    receiver = receivers()
    receiver.script = [500]
    subscribe(platform, receiver)
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    dispatcher.drain()  # answered 500: pending, retried later
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, now=now_text(clock))
    dispatcher.drain()
    assert len(receiver.deliveries) == 1  # the defunct event waits for the earlier one

    # The parties still sign and the contract is sealed, but the platform hears nothing more.
    written = event_count(runtime)
    sign(client, borrower, filed, "borrower")
    seal_and_stamp(runtime, clock)
    assert event_count(runtime) == written

    clock.advance(minutes=2)
    dispatcher.drain()
    types = [d.event["type"] for d in receiver.wait_for(3)]
    assert types == ["contract.signed", "contract.signed", "platform.defunct"]
    defunct = receiver.deliveries[2].event["data"]
    assert defunct["platform_id"] == platform.platform_id
    assert defunct["defunct_at"]
    assert platform.get("/webhooks").status_code == 410  # its token is refused from now on
    with pytest.raises(Exception, match="defunct"):
        runtime.deliveries.resend_failed(
            platform.platform_id, since=now_text(clock), endpoint_id=None, actor=audit.operator("test")
        )


def test_another_platforms_endpoints_and_events_are_not_found(
    platform, investor, borrower, runtime, client, dispatcher, receivers
):
    receiver = receivers()
    endpoint = subscribe(platform, receiver, events=["contract.signed"])
    filed = platform.file(investor, borrower)
    sign(client, investor, filed, "investor")
    dispatcher.drain()
    event_id = receiver.wait_for(1)[0].event["event_id"]
    other = new_platform(runtime, client, "Other Lending")
    for path in (f"/webhooks/{endpoint['webhook_id']}", f"/webhook-events/{event_id}"):
        assert other.get(path).status_code == 404
        assert other.get(path).get_json()["error"]["code"] == "not_found"
    assert other.post(f"/webhook-events/{event_id}/resend", json={}).status_code == 404
    deleted = other.client.delete(f"/api/v1/webhooks/{endpoint['webhook_id']}", headers=other.auth)
    assert deleted.status_code == 404
    assert platform.get("/webhooks").get_json()["webhooks"][0]["webhook_id"] == endpoint["webhook_id"]
    gone = platform.client.delete(f"/api/v1/webhooks/{endpoint['webhook_id']}", headers=platform.auth)
    assert gone.status_code == 204
    assert platform.get("/webhooks").get_json() == {"webhooks": []}


def test_the_webhooks_worker_delivers_while_sealing_goes_on(
    platform, investor, borrower, runtime, client, clock, receivers
):
    """The worker's own loop for deliveries (its own lease), beside the sealing loop."""
    receiver = receivers()
    subscribe(platform, receiver, events=["contract.sealed"])
    dispatcher = runtime.webhook_dispatcher()
    webhooks = runtime.webhook_worker(dispatcher, holder="test")
    sealing = runtime.worker(holder="test")
    stop = threading.Event()
    loops = [threading.Thread(target=w.run, args=(stop,)) for w in (webhooks, sealing)]
    for loop in loops:
        loop.start()
    try:
        filed = platform.file(investor, borrower)
        sign(client, investor, filed, "investor")
        sign(client, borrower, filed, "borrower")
        (delivery,) = receiver.wait_for(1, timeout=15)
        assert delivery.event["type"] == "contract.sealed"
        assert delivery.refusal is None
    finally:
        stop.set()
        for loop in loops:
            loop.join()
        dispatcher.close()
    assert webhooks.lease.name == "webhooks"


def test_webhooks_need_a_platform_token(client):
    assert client.get("/api/v1/webhooks").status_code == 401
    assert client.post("/api/v1/webhooks", json={"url": "https://8.8.8.8/"}).status_code == 401
