"""The witness (``notary witness``) on the C2SP tlog-witness protocol: every answer the
specification defines, in its order, and the evidence kept of a log that misbehaves."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.note_signer import NoteSigner
from notary.verify.cosignature import verify_cosignatures
from notary.verify.witness_protocol import SIZE_MEDIA_TYPE, format_add_checkpoint
from notary.watch.witness.app import witness_app
from notary.watch.witness.files import WitnessFolder, WitnessFolderError
from tests.support.clock import MovableClock
from tests.support.witness import ORIGIN, SmallLog

NAME = "witness.test/w1"


@pytest.fixture
def log() -> SmallLog:
    log = SmallLog()
    log.grow(5)
    return log


@pytest.fixture
def folder(tmp_path, log) -> WitnessFolder:
    folder = WitnessFolder(tmp_path / "witness")
    folder.init(NAME)
    folder.add_log(ORIGIN, log.signer.verifier_key)
    return folder


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def client_for(folder: WitnessFolder, clock: MovableClock):
    return witness_app(folder.witness(clock)).test_client()


@pytest.fixture
def client(folder, clock):
    return client_for(folder, clock)


def add(client, body: bytes):
    return client.post("/add-checkpoint", data=body)


def test_cosigns_a_first_checkpoint_then_consistent_growth(client, folder, log, clock):
    answer = add(client, log.request(0))
    assert answer.status_code == 200
    key = folder.cosigner().key
    found = verify_cosignatures(log.checkpoint() + answer.get_data(as_text=True), [key])
    assert [(item.name, item.timestamp) for item in found] == [(NAME, int(clock().timestamp()))]

    log.grow(3)
    answer = add(client, log.request(5))
    assert answer.status_code == 200
    assert verify_cosignatures(log.checkpoint() + answer.get_data(as_text=True), [key])
    # The read extension serves the latest cosigned checkpoint, the log's signature kept.
    latest = client.get("/checkpoint", query_string={"origin": ORIGIN})
    assert latest.status_code == 200
    assert latest.get_data(as_text=True).startswith(log.checkpoint())
    assert verify_cosignatures(latest.get_data(), [key])[0].name == NAME
    assert client.get("/checkpoint", query_string={"origin": "other"}).status_code == 404
    # The same checkpoint again is cosigned again (a retry after a lost answer).
    assert add(client, log.request(8)).status_code == 200
    assert client.get("/evidence").get_json() == []


def test_old_size_not_the_last_cosigned_is_409_with_the_size(client, log):
    assert add(client, log.request(0)).status_code == 200
    log.grow(2)
    answer = add(client, log.request(3))
    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == SIZE_MEDIA_TYPE
    assert answer.get_data() == b"5\n"
    assert add(client, log.request(5)).status_code == 200


def test_malformed_unknown_and_unsigned_requests(client, log):
    assert add(client, b"old 0\nnot a checkpoint").status_code == 400
    assert add(client, b"old 01\n\n" + log.checkpoint().encode()).status_code == 400
    stranger = SmallLog(
        origin="another.log/v1", signer=NoteSigner("another.log/v1", ed25519.Ed25519PrivateKey.generate())
    )
    stranger.grow(1)
    assert add(client, stranger.request(0)).status_code == 404
    impostor = SmallLog(
        signer=NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate()), leaves=list(log.leaves)
    )
    assert add(client, impostor.request(0)).status_code == 403
    assert add(client, format_add_checkpoint(6, [], log.checkpoint())).status_code == 400
    assert add(client, format_add_checkpoint(0, [b"\x00" * 32], log.checkpoint())).status_code == 422
    assert client.get("/evidence").get_json() == []


def test_a_proof_that_fails_is_refused_and_kept(client, log):
    assert add(client, log.request(0)).status_code == 200
    log.grow(4)
    proof = log.proof(5)
    bad = format_add_checkpoint(5, [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]], log.checkpoint())
    assert add(client, bad).status_code == 422
    [kept] = client.get("/evidence").get_json()
    assert kept["kind"] == "inconsistent"
    assert kept["checkpoint"] == log.checkpoint()
    assert kept["request"] == bad.decode()
    assert kept["previous"].startswith(log.checkpoint(5))
    # Nothing moved: the honest request still works from size 5.
    assert add(client, log.request(5)).status_code == 200


def test_a_fork_at_the_same_size_is_refused_and_kept(client, log):
    assert add(client, log.request(0)).status_code == 200
    forked = SmallLog(signer=log.signer)
    forked.grow(5, tag="forked ")
    answer = add(client, forked.request(5))
    assert answer.status_code == 409
    [kept] = client.get("/evidence").get_json()
    assert kept["kind"] == "fork"
    assert kept["checkpoint"] == forked.checkpoint()
    assert kept["previous"].startswith(log.checkpoint())


def test_a_truncated_log_is_refused_and_kept(client, log):
    assert add(client, log.request(0)).status_code == 200
    log.grow(5)
    assert add(client, log.request(5)).status_code == 200
    # The operator deletes everything from leaf 5 on and the log grows again from there.
    log.truncate(5)
    log.grow(2, tag="rewritten ")
    for old in (10, 5, 0):
        assert add(client, log.request(old)).status_code in (400, 409)
    kinds = {item["kind"] for item in client.get("/evidence").get_json()}
    assert kinds == {"rollback"}
    latest = client.get("/checkpoint", query_string={"origin": ORIGIN}).get_data(as_text=True)
    assert latest.split("\n")[1] == "10"


def test_state_survives_a_restart_and_a_lost_state_refuses_to_start(folder, log, clock):
    first = client_for(folder, clock)
    assert add(first, log.request(0)).status_code == 200
    again = client_for(folder, clock)
    log.truncate(3)
    assert add(again, log.request(0)).status_code == 409
    assert add(again, log.request(5, 3)).status_code == 400
    folder.state_path.unlink()
    with pytest.raises(WitnessFolderError):
        folder.witness(clock)


def test_init_refuses_to_replace_a_key_and_add_log_checks_the_key(folder, log):
    with pytest.raises(WitnessFolderError):
        folder.init(NAME)
    with pytest.raises(WitnessFolderError):
        folder.add_log("another.origin", log.signer.verifier_key)
    config = json.loads(folder.config_path.read_text())
    assert config["logs"] == [{"origin": ORIGIN, "verifier_keys": [log.signer.verifier_key]}]
