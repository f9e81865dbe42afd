"""The notary collects cosignatures from its witnesses: in parallel, in the background, never
holding up sealing; checkpoints and bundles then carry them, and evidence becomes ``cosigned``."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.cosigner import Cosigner
from notary.signing.keystore import load_keys
from notary.signing.note_signer import NoteSigner
from notary.verify.witness_policy import MET, judge_cosignatures, parse_witness_policies
from tests.support.evidence import members
from tests.support.platforms import sign_body
from tests.support.webhook_receiver import Receiver
from tests.support.witness import SilentServer, ThreadedWitness


def _log_key(settings) -> str:
    keys = load_keys(settings.key_dir)
    return NoteSigner(settings.effective_log_origin, keys.log_key).verifier_key


@pytest.fixture
def witnesses(tmp_path, clock):
    made: list = []
    yield made
    for witness in made:
        witness.stop()


@pytest.fixture
def settings(settings, witnesses, tmp_path, clock, request):
    """The notary configured with two witnesses (or what the test's ``witness_setup`` marker says)."""
    marker = request.node.get_closest_marker("witness_setup")
    kinds, k = marker.args if marker else (("live", "live"), 2)
    configured = []
    for index, kind in enumerate(kinds, start=1):
        name = f"witness.test/w{index}"
        if kind == "live":
            witness = ThreadedWitness(
                tmp_path / f"w{index}", name, settings.effective_log_origin, _log_key(settings), clock
            )
            witnesses.append(witness.start())
            configured.append(witness.config)
        else:
            key = Cosigner(name, ed25519.Ed25519PrivateKey.generate()).cosigner_key
            silent = SilentServer()
            witnesses.append(silent)
            configured.append({"name": name, "url": silent.url, "cosigner_key": key})
    # A witness that hangs keeps its request in flight for a minute: long after the evidence
    # below is ready, which shows the worker never waited for it.
    return dataclasses.replace(
        settings,
        witnesses=json.dumps(configured),
        witness_k=k,
        witness_timeout=60.0,
        unsafe_webhook_loopback=True,  # the webhook receiver below runs on loopback
    )


def seal_one(platform, investor, borrower, runtime, client) -> str:
    filed = platform.file(investor, borrower)
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    return filed["contract_id"]


def work_until(runtime, platform, contract_id, wanted: str, seconds: float = 15.0) -> dict:
    runtime.checkpointer.interval *= 0
    worker = runtime.worker(holder="test")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worker.run_once()
        view = platform.get(f"/contracts/{contract_id}").get_json()
        assert "evidence" in view, view
        evidence = view["evidence"] or {}
        if evidence.get(wanted):
            return evidence
        time.sleep(0.02)
    raise AssertionError(f"evidence never became {wanted}: {evidence}")


def test_two_witnesses_cosign_and_the_bundle_carries_their_cosignatures(
    platform, investor, borrower, runtime, client, witnesses
):
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    evidence = work_until(runtime, platform, contract_id, "cosigned")
    assert evidence["witnesses"] == "met"

    bundle = platform.get(f"/contracts/{contract_id}/evidence").get_data()
    checkpoint = members(bundle)["log/checkpoint.txt"]
    size = int(checkpoint.split(b"\n")[1])
    policies = parse_witness_policies(
        [
            {
                "from_size": 0,
                "k": 2,
                "witnesses": [{"name": w.name, "cosigner_key": w.cosigner.cosigner_key} for w in witnesses],
            }
        ]
    )
    outcome = judge_cosignatures(checkpoint, size, policies)
    assert (outcome.status, sorted(outcome.cosigned_by)) == (MET, ["witness.test/w1", "witness.test/w2"])
    # The served checkpoint carries them too, and the same download gives the same bytes.
    served = client.get(f"/api/v1/log/checkpoints/{size}").get_data()
    assert judge_cosignatures(served, size, policies).status == MET
    assert platform.get(f"/contracts/{contract_id}/evidence").get_data() == bundle


@pytest.mark.witness_setup(("live", "silent"), 1)
def test_a_witness_that_hangs_never_holds_up_sealing(platform, investor, borrower, runtime, client):
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    evidence = work_until(runtime, platform, contract_id, "cosigned")
    assert evidence["ready"]
    later = seal_one(platform, investor, borrower, runtime, client)
    assert work_until(runtime, platform, later, "ready")
    # All the while the hanging witness's request was (and is) still waiting for an answer.
    hanging = runtime.cosignatures._state["witness.test/w2"].in_flight
    assert hanging is not None
    assert not hanging.done()


@pytest.mark.witness_setup(("silent", "silent"), 1)
def test_without_any_witness_answering_evidence_is_ready_but_not_cosigned(
    platform, investor, borrower, runtime, client
):
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    evidence = work_until(runtime, platform, contract_id, "ready")
    assert (evidence["cosigned"], evidence["witnesses"]) == (False, "pending")
    bundle = platform.get(f"/contracts/{contract_id}/evidence").get_data()
    assert "\u2014 witness.test" not in members(bundle)["log/checkpoint.txt"].decode()


@pytest.fixture
def receiver(platform, clock):
    """A webhook receiver subscribed to the evidence events, checking every signature."""
    receiver = Receiver([], now=lambda: clock().timestamp())
    answer = platform.post(
        "/webhooks", json={"url": receiver.url, "events": ["evidence.ready", "evidence.cosigned"]}
    )
    assert answer.status_code == 201, answer.get_json()
    receiver.secrets.append(answer.get_json()["secret"]["secret"])
    yield receiver
    receiver.stop()


def deliver(runtime) -> None:
    dispatcher = runtime.webhook_dispatcher()
    try:
        dispatcher.drain()
    finally:
        dispatcher.close()


def test_evidence_cosigned_is_pushed_after_evidence_ready(
    platform, investor, borrower, runtime, client, receiver
):
    contracts = [seal_one(platform, investor, borrower, runtime, client) for _ in range(3)]
    for contract_id in contracts:
        work_until(runtime, platform, contract_id, "cosigned")
    deliver(runtime)
    got = receiver.wait_for(6)
    assert [d.refusal for d in got] == [None] * 6
    for contract_id in contracts:
        mine = [d.event for d in got if d.event["data"]["contract_id"] == contract_id]
        assert [event["type"] for event in mine] == ["evidence.ready", "evidence.cosigned"]
        cosigned = mine[1]["data"]
        # It names the checkpoint the bundle now carries, with the witnesses' cosignatures.
        checkpoint = members(platform.get(f"/contracts/{contract_id}/evidence").get_data())[
            "log/checkpoint.txt"
        ]
        assert int(checkpoint.split(b"\n")[1]) == cosigned["checkpoint_size"]
        assert "\u2014 witness.test/w1" in checkpoint.decode()
        assert cosigned["checkpoint_size"] > cosigned["leaf_index"]
    # Once each: later cosignatures on later checkpoints send nothing more.
    later = seal_one(platform, investor, borrower, runtime, client)
    work_until(runtime, platform, later, "cosigned")
    deliver(runtime)
    assert len(receiver.wait_for(8)) == 8
    assert sorted(event["data"]["contract_id"] for event in receiver.events()) == sorted(
        [*contracts, *contracts, later, later]
    )


@pytest.mark.witness_setup(("silent", "silent"), 1)
def test_no_evidence_cosigned_while_no_witness_answers(
    platform, investor, borrower, runtime, client, receiver
):
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    work_until(runtime, platform, contract_id, "ready")
    deliver(runtime)
    (only,) = receiver.wait_for(1)
    assert only.event["type"] == "evidence.ready"
    time.sleep(0.2)
    assert len(receiver.events()) == 1
