"""The transparency log over HTTP: checkpoints and proofs that verify, impossible requests refused."""

from __future__ import annotations

import base64
import json

import pytest

from notary.verify.merkle import proofs as merkle
from notary.verify.note import parse_verifier_key, verify_checkpoint
from tests.support.platforms import sign_body


def seal_contracts(platform, investor, borrower, runtime, client, count):
    for i in range(count):
        filed = platform.file(investor, borrower, document=f"contract {i}".encode())
        for role, person in (("investor", investor), ("borrower", borrower)):
            client.post(
                f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
            )
    return runtime.sequencer.seal_pending()


def test_checkpoint_and_proofs_verify(platform, investor, borrower, runtime, client):
    leaves = seal_contracts(platform, investor, borrower, runtime, client, 5)
    assert runtime.checkpointer.run_once() == 1
    key = client.get("/api/v1/log/key").get_json()
    assert key["origin"] == runtime.settings.effective_log_origin
    verifier = parse_verifier_key(key["verifier_key"])
    response = client.get("/api/v1/log/checkpoint")
    assert response.mimetype == "text/plain"
    checkpoint = verify_checkpoint(
        response.get_data(as_text=True), [verifier], origin=key["origin"]
    ).checkpoint
    assert checkpoint.size == 5
    assert checkpoint.root_hash == merkle.root_from_leaf_hashes([leaf.leaf_hash for leaf in leaves])
    for leaf in leaves:
        proof = client.get(f"/api/v1/log/proof/inclusion?leaf_index={leaf.sequence}&tree_size=5").get_json()
        merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(leaf.record),
            leaf_index=leaf.sequence,
            tree_size=5,
            proof=[bytes.fromhex(h) for h in proof["hashes"]],
            root=checkpoint.root_hash,
        )
    assert client.get("/api/v1/log/checkpoints/5").get_data(as_text=True) == response.get_data(as_text=True)

    # The tree grows; a new checkpoint is consistent with the old one.
    more = seal_contracts(platform, investor, borrower, runtime, client, 3)
    assert [leaf.sequence for leaf in more] == [5, 6, 7]
    runtime.checkpointer.interval = runtime.checkpointer.interval * 0
    assert runtime.checkpointer.run_once() == 1
    newer = verify_checkpoint(
        client.get("/api/v1/log/checkpoint").get_data(), [verifier], origin=key["origin"]
    )
    proof = client.get("/api/v1/log/proof/consistency?first=5&second=8").get_json()
    merkle.verify_consistency(
        size1=5,
        size2=8,
        proof=[bytes.fromhex(h) for h in proof["hashes"]],
        root1=checkpoint.root_hash,
        root2=newer.checkpoint.root_hash,
    )


def test_checkpoints_wait_for_work_and_interval(platform, investor, borrower, runtime, client, clock):
    assert runtime.checkpointer.run_once() == 1  # the empty tree's checkpoint
    assert runtime.checkpointer.run_once() == 0  # nothing new
    seal_contracts(platform, investor, borrower, runtime, client, 1)
    assert runtime.checkpointer.run_once() == 0  # within the interval
    clock.advance(seconds=1.1)
    assert runtime.checkpointer.run_once() == 1
    body = client.get("/api/v1/log/checkpoint").get_data(as_text=True)
    assert body.split("\n")[1] == "1"
    assert client.get("/api/v1/log/checkpoints/0").status_code == 200


def test_record_presence_is_public_and_impersonal(platform, investor, borrower, runtime, client):
    leaves = seal_contracts(platform, investor, borrower, runtime, client, 2)
    unknown = client.get("/api/v1/r/" + "ab" * 32)
    assert unknown.status_code == 404
    waiting = client.get(f"/api/v1/r/{leaves[1].record_sha256}")
    assert waiting.status_code == 409
    assert waiting.get_json()["error"]["code"] == "evidence_not_ready"
    assert waiting.headers["Retry-After"] == "1"
    runtime.checkpointer.run_once()
    answer = client.get(f"/api/v1/r/{leaves[1].record_sha256}").get_json()
    assert answer["leaf_index"] == 1
    assert answer["tree_size"] == 2
    text = json.dumps(answer)
    assert investor.name not in text
    assert investor.party_id not in text


@pytest.mark.parametrize(
    "query",
    [
        "/log/proof/inclusion?leaf_index=3&tree_size=3",
        "/log/proof/inclusion?leaf_index=0&tree_size=4",
        "/log/proof/inclusion?leaf_index=0&tree_size=0",
        "/log/proof/inclusion?leaf_index=-1&tree_size=2",
        "/log/proof/inclusion?leaf_index=x&tree_size=2",
        "/log/proof/inclusion?tree_size=2",
        "/log/proof/consistency?first=3&second=2",
        "/log/proof/consistency?first=0&second=2",
        "/log/proof/consistency?first=1&second=4",
    ],
)
def test_impossible_requests_are_4xx(platform, investor, borrower, runtime, client, query):
    seal_contracts(platform, investor, borrower, runtime, client, 3)
    response = client.get("/api/v1" + query)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_contract_shows_leaf_and_checkpoint(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    evidence = platform.get(f"/contracts/{filed['contract_id']}").get_json()["evidence"]
    assert (evidence["leaf_index"], evidence["checkpoint_size"]) == (0, None)
    runtime.checkpointer.run_once()
    evidence = platform.get(f"/contracts/{filed['contract_id']}").get_json()["evidence"]
    assert evidence["checkpoint_size"] == 1


def test_log_key_pem_matches_verifier_key(client):
    from cryptography.hazmat.primitives import serialization

    key = client.get("/api/v1/log/key").get_json()
    public = serialization.load_pem_public_key(key["public_key_pem"].encode())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key["verifier_key"].endswith("+" + base64.b64encode(b"\x01" + raw).decode())
