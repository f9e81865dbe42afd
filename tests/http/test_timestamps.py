"""Trusted time in the service: a token per record and per checkpoint, readiness, POST /tsa, /trust.

Tokens the service stores are checked by the real ``openssl ts -verify``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from cryptography import x509
from sqlalchemy import select

from notary.storage.models import CheckpointTimestamp, LogLeaf, RecordTimestamp
from notary.verify.timestamp.verifier import verify_timestamp
from tests.support.external_tsa import ExternalTsa
from tests.support.platforms import sign_body
from tests.timestamp_pki import openssl_at_gen_time

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


def sealed_contract(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    return filed["contract_id"]


def test_evidence_becomes_ready(platform, investor, borrower, runtime, client):
    cid = sealed_contract(platform, investor, borrower, runtime, client)
    evidence = platform.get(f"/contracts/{cid}").get_json()["evidence"]
    assert (evidence["timestamp"], evidence["ready"]) == ("pending", False)
    assert client.get("/api/v1/healthz").get_json()["timestamp_backlog"] == 1
    assert runtime.stamper.stamp_records() == 1
    assert runtime.stamper.stamp_records() == 0  # never stamped twice
    assert client.get("/api/v1/healthz").get_json()["timestamp_backlog"] == 0
    evidence = platform.get(f"/contracts/{cid}").get_json()["evidence"]
    assert (evidence["timestamp"], evidence["ready"]) == ("stamped", False)
    runtime.checkpointer.run_once()
    assert platform.get(f"/contracts/{cid}").get_json()["evidence"]["ready"] is False
    assert runtime.stamper.stamp_checkpoints() == 1
    assert runtime.stamper.stamp_checkpoints() == 0
    assert platform.get(f"/contracts/{cid}").get_json()["evidence"]["ready"] is True


def openssl_verify(
    tmp_path, data: bytes, reply: bytes, root_pem: bytes, chain_pem: bytes, query: bytes | None = None
):
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "reply.tsr").write_bytes(reply)
    (tmp_path / "root.pem").write_bytes(root_pem)
    (tmp_path / "chain.pem").write_bytes(chain_pem)
    args = [
        "openssl",
        "ts",
        "-verify",
        "-in",
        str(tmp_path / "reply.tsr"),
        "-CAfile",
        str(tmp_path / "root.pem"),
    ]
    args += ["-untrusted", str(tmp_path / "chain.pem"), *openssl_at_gen_time(reply)]
    if query is not None:
        (tmp_path / "query.tsq").write_bytes(query)
        args += ["-queryfile", str(tmp_path / "query.tsq")]
    else:
        args += ["-data", str(tmp_path / "data")]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def test_stored_tokens_pass_openssl_and_openssl_refuses_changes(
    platform, investor, borrower, runtime, client, tmp_path
):
    sealed_contract(platform, investor, borrower, runtime, client)
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
    trust = client.get("/api/v1/trust").get_json()
    root_pem = trust["tsa_roots_pem"][0].encode()
    with runtime.db.read() as session:
        leaf = session.execute(select(LogLeaf)).scalar_one()
        token = session.get(RecordTimestamp, 0)
        checkpoint_token = session.execute(select(CheckpointTimestamp)).scalar_one()
    chain = token.chain_pem.encode()
    good = openssl_verify(tmp_path, leaf.record, token.response, root_pem, chain)
    assert good.returncode == 0, good.stderr
    assert "Verification: OK" in good.stdout
    # The checkpoint's token is over its body: the three lines, nothing after.
    body = client.get("/api/v1/log/checkpoints/1").get_data().split(b"\n\n")[0] + b"\n"
    assert openssl_verify(tmp_path, body, checkpoint_token.response, root_pem, chain).returncode == 0
    # A changed record, a wrong root and a query with another nonce are all refused.
    changed = leaf.record.replace(b'"sequence":0', b'"sequence":1')
    assert openssl_verify(tmp_path, changed, token.response, root_pem, chain).returncode != 0
    stranger = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=Stranger",
         "-keyout", str(tmp_path / "k.pem"), "-days", "2"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert openssl_verify(tmp_path, leaf.record, token.response, stranger, chain).returncode != 0
    (tmp_path / "record").write_bytes(leaf.record)
    other_nonce = subprocess.run(
        ["openssl", "ts", "-query", "-data", str(tmp_path / "record"), "-sha256", "-cert"],
        capture_output=True,
        check=True,
    ).stdout
    refused = openssl_verify(tmp_path, leaf.record, token.response, root_pem, chain, query=other_nonce)
    assert refused.returncode != 0
    assert "nonce" in (refused.stdout + refused.stderr).lower()
    # Our own verifier agrees, with the roots of /trust.
    roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in trust["tsa_roots_pem"]]
    info = verify_timestamp(token.response, message=leaf.record, trust_roots=roots)
    assert info.gen_time is not None


def test_post_tsa_speaks_rfc3161(client, tmp_path):
    document = tmp_path / "doc"
    document.write_bytes(b"any document")
    query = subprocess.run(
        ["openssl", "ts", "-query", "-data", str(document), "-sha256", "-cert"],
        capture_output=True,
        check=True,
    ).stdout
    response = client.post("/api/v1/tsa", data=query, content_type="application/timestamp-query")
    assert response.status_code == 200
    assert response.mimetype == "application/timestamp-reply"
    root = client.get("/api/v1/trust").get_json()["tsa_roots_pem"][0].encode()
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "q.tsq").write_bytes(query)
    (tmp_path / "r.tsr").write_bytes(response.data)
    checked = subprocess.run(
        ["openssl", "ts", "-verify", "-queryfile", str(tmp_path / "q.tsq"), "-in", str(tmp_path / "r.tsr"), "-CAfile", str(tmp_path / "root.pem"), *openssl_at_gen_time(response.data)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    sha1 = subprocess.run(
        ["openssl", "ts", "-query", "-data", str(document), "-sha1"], capture_output=True, check=True
    ).stdout
    refused = client.post("/api/v1/tsa", data=sha1, content_type="application/timestamp-query")
    (tmp_path / "refused.tsr").write_bytes(refused.data)
    text = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(tmp_path / "refused.tsr"), "-text"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Status: Rejected" in text
    assert "unrecognized or unsupported algorithm" in text.lower() or "bad_alg" in text.lower()
    wrong_type = client.post("/api/v1/tsa", data=query, content_type="application/octet-stream")
    assert wrong_type.status_code == 415
    assert (
        client.post("/api/v1/tsa", data=b"x" * 5000, content_type="application/timestamp-query").status_code
        == 413
    )


def test_trust_file(client, runtime):
    trust = client.get("/api/v1/trust").get_json()
    assert trust["logs"] == [
        {"origin": runtime.log_signer.name, "verifier_key": runtime.log_signer.verifier_key, "from_size": 0}
    ]
    root = x509.load_pem_x509_certificate(trust["notary_roots_pem"][0].encode())
    assert root == runtime.keys.root_cert


@pytest.mark.slow
def test_external_authority_failover_and_backlog(
    platform, investor, borrower, runtime, client, settings, external: ExternalTsa
):
    import dataclasses

    from notary.runtime import Runtime

    # Only the external authority: its tokens verify with its own root.
    solo = Runtime(
        dataclasses.replace(settings, tsa_urls=(external.url,), tsa_roots=str(external.root_pem)),
        clock=runtime.clock,
    )
    cid = sealed_contract(platform, investor, borrower, runtime, client)
    assert solo.stamper.stamp_records() == 1
    with runtime.db.read() as session:
        token = session.get(RecordTimestamp, 0)
        record = session.execute(select(LogLeaf.record)).scalar_one()
    assert token.authority == external.url
    root = x509.load_pem_x509_certificate(external.root_pem.read_bytes())
    verify_timestamp(token.response, message=record, trust_roots=[root])
    assert (
        hashlib.sha256(record).digest()
        == verify_timestamp(token.response, message=record, trust_roots=[root]).imprint
    )

    # It stops: the next record waits (sealed, never lost), the backlog shows it.
    external.stop()
    second = sealed_contract(platform, investor, borrower, runtime, client)
    assert solo.stamper.stamp_records() == 0
    assert client.get("/api/v1/healthz").get_json()["timestamp_backlog"] == 1
    view = platform.get(f"/contracts/{second}").get_json()
    assert (view["status"], view["evidence"]["timestamp"]) == ("sealed", "pending")

    # With the embedded authority configured after it, the service fails over.
    both = Runtime(
        dataclasses.replace(settings, tsa_urls=(external.url, "embedded"), tsa_roots=str(external.root_pem)),
        clock=runtime.clock,
    )
    third = sealed_contract(platform, investor, borrower, runtime, client)
    assert both.stamper.stamp_records() == 2
    with runtime.db.read() as session:
        authorities = dict(session.execute(select(RecordTimestamp.sequence, RecordTimestamp.authority)).all())
    assert authorities == {0: external.url, 1: "embedded", 2: "embedded"}
    assert platform.get(f"/contracts/{third}").get_json()["evidence"]["timestamp"] == "stamped"

    # The external one returns: the solo configuration drains its backlog again.
    fourth = sealed_contract(platform, investor, borrower, runtime, client)
    assert solo.stamper.stamp_records() == 0  # still in its pause after the failure
    external.start()
    solo.stamper.records_backoff.succeeded()  # (the pause would end by itself within a second)
    assert solo.stamper.stamp_records() == 1
    assert platform.get(f"/contracts/{fourth}").get_json()["evidence"]["timestamp"] == "stamped"
    assert client.get("/api/v1/healthz").get_json()["timestamp_backlog"] == 0
    assert cid
    for rt in (solo, both):
        rt.close()


@pytest.mark.slow
def test_each_checkpoint_gets_a_token_from_every_authority(
    platform, investor, borrower, runtime, client, settings, external: ExternalTsa
):
    import dataclasses

    from notary.runtime import Runtime

    both = Runtime(
        dataclasses.replace(settings, tsa_urls=("embedded", external.url), tsa_roots=str(external.root_pem)),
        clock=runtime.clock,
    )
    sealed_contract(platform, investor, borrower, runtime, client)
    both.checkpointer.run_once()
    external.stop()
    assert both.stamper.stamp_checkpoints() == 1  # the embedded one; the external one waits
    with runtime.db.read() as session:
        assert [t.authority for t in session.execute(select(CheckpointTimestamp)).scalars()] == ["embedded"]
    external.start()
    both.stamper.authority_backoff[external.url].succeeded()
    assert both.stamper.stamp_checkpoints() == 1
    with runtime.db.read() as session:
        tokens = (
            session.execute(select(CheckpointTimestamp).order_by(CheckpointTimestamp.position))
            .scalars()
            .all()
        )
    assert [(t.position, t.authority) for t in tokens] == [(1, "embedded"), (2, external.url)]
    body = client.get("/api/v1/log/checkpoints/1").get_data().split(b"\n\n")[0] + b"\n"
    root = x509.load_pem_x509_certificate(external.root_pem.read_bytes())
    verify_timestamp(tokens[1].response, message=body, trust_roots=[root])
    both.close()
