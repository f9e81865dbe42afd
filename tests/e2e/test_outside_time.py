"""Outside time: each checkpoint is also stamped by an authority outside the operator's hands.

The outside authority here is a second, independent notary instance in its own process (its
own keys, its own root), reached over the real RFC 3161 HTTP protocol at its ``POST /tsa``.
Bundles carry both tokens on their checkpoint, the published trust file names both roots,
and each token verifies on its own, with ``openssl ts`` too.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import func, select

from notary.storage.models import CheckpointTimestamp
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.note import parse_note
from notary.verify.trust import TrustFile
from tests.http.test_witness_collection import seal_one
from tests.support.evidence import members
from tests.support.server import Service
from tests.timestamp_pki import OPENSSL, openssl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.wallclock,
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed"),
]


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    instance = tmp_path_factory.mktemp("outside-authority")
    with Service(instance, {"NOTARY_ORGANISATION": "Outside Time Authority"}, workers=1) as service:
        yield service, instance / "keys" / "root-ca.pem"


@pytest.fixture
def settings(settings, outside):
    service, root = outside
    return dataclasses.replace(settings, tsa_urls=("embedded", service.base + "/tsa"), tsa_roots=str(root))


def test_checkpoints_carry_a_token_from_the_outside_authority(
    platform, investor, borrower, runtime, client, outside, tmp_path
):
    _, outside_root = outside
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    runtime.checkpointer.interval *= 0
    worker = runtime.worker(holder="test")
    deadline = time.monotonic() + 60
    size = None
    while time.monotonic() < deadline:
        worker.run_once()
        evidence = platform.get(f"/contracts/{contract_id}").get_json()["evidence"] or {}
        size = evidence.get("checkpoint_size")
        if evidence.get("ready") and size is not None:
            with runtime.db.read() as session:
                count = session.execute(
                    select(func.count())
                    .select_from(CheckpointTimestamp)
                    .where(CheckpointTimestamp.tree_size == size)
                ).scalar_one()
            if count == 2:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the checkpoint never got both tokens")

    bundle = platform.get(f"/contracts/{contract_id}/evidence").get_data()
    parts = members(bundle)
    assert {"timestamp/checkpoint-1.tsr", "timestamp/checkpoint-2.tsr"} <= parts.keys()
    trust = TrustFile.from_json(client.get("/api/v1/trust").get_data())
    outside_pem = outside_root.read_bytes()
    assert outside_pem.decode() in client.get("/api/v1/trust").get_json()["tsa_roots_pem"]
    report = verify_bundle(bundle, trust=trust, now=runtime.clock())
    assert report.valid, [check.to_dict() for check in report.failures]
    tokens = report.check("checkpoint_timestamp").details["tokens"]
    assert len(tokens) == 2
    assert tokens[0]["authority"] != tokens[1]["authority"]

    # The outside token stands on its own: openssl checks it against the outside root only.
    body = parse_note(parts["log/checkpoint.txt"]).text.encode()
    (tmp_path / "body").write_bytes(body)
    (tmp_path / "token.tsr").write_bytes(parts["timestamp/checkpoint-2.tsr"])
    (tmp_path / "chain.pem").write_bytes(parts["timestamp/checkpoint-2-chain.pem"])
    (tmp_path / "root.pem").write_bytes(outside_pem)
    result = openssl(
        "ts", "-verify", "-data", tmp_path / "body", "-in", tmp_path / "token.tsr",
        "-CAfile", tmp_path / "root.pem", "-untrusted", tmp_path / "chain.pem",
    )  # fmt: skip
    assert b"Verification: OK" in result.stdout
