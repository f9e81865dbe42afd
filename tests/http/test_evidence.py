"""Evidence over HTTP: the bundle of a ready contract verifies offline; POST /verify reports the same."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from notary.verify.evidence.verifier import verify_bundle
from notary.verify.trust import TrustFile
from tests.support.evidence import members, rezip
from tests.support.platforms import DOCUMENT, sign_body


def ready_contract(platform, investor, borrower, runtime, client, document=DOCUMENT):
    filed = platform.file(investor, borrower, document=document)
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
    return filed["contract_id"]


@pytest.mark.wallclock  # `notary verify` runs in a process of its own, on the machine clock
def test_bundle_verifies_with_the_published_trust(platform, investor, borrower, runtime, client, tmp_path):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    early = platform.get(f"/contracts/{cid}/evidence")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "evidence_not_ready"
    assert early.headers["Retry-After"] == "60"  # awaiting both signatures: people take minutes
    assert early.get_json()["error"]["details"]["awaiting"] == ["investor", "borrower"]
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(f"/api/v1/contracts/{cid}/signatures", json=sign_body(person, filed, role))
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()

    response = platform.get(f"/contracts/{cid}/evidence")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert platform.get(f"/contracts/{cid}/evidence").data == response.data  # deterministic
    trust = client.get("/api/v1/trust").get_data()
    report = verify_bundle(
        response.data, document=DOCUMENT, trust=TrustFile.from_json(trust), now=runtime.clock()
    )
    assert report.valid, report.to_dict()
    assert report.origin_established
    names = set(members(response.data))
    assert {
        "manifest.json",
        "document.pdf",
        "record.json",
        "timestamp/checkpoint-1.tsr",
        "README.txt",
    } <= names

    # The command line agrees, offline.
    (tmp_path / "bundle.zip").write_bytes(response.data)
    (tmp_path / "trust.json").write_bytes(trust)
    result = subprocess.run(
        [sys.executable, "-m", "notary.cli", "verify", str(tmp_path / "bundle.zip"), "--trust", str(tmp_path / "trust.json"), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_post_verify(platform, investor, borrower, runtime, client):
    cid = ready_contract(platform, investor, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{cid}/evidence").data
    good = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(bundle), "b.zip"), "document": (io.BytesIO(DOCUMENT), "d.pdf")},
        content_type="multipart/form-data",
    ).get_json()
    assert good["valid"] is True
    assert good["trust_basis"] == "trust_file"
    # A changed record fails its checks, and the answer says which.
    entries = members(bundle)
    entries["record.json"] = entries["record.json"].replace(b'"sequence":0', b'"sequence":1')
    tampered = rezip(entries, fix_manifest=True)
    bad = client.post(
        "/api/v1/verify", data={"bundle": (io.BytesIO(tampered), "b.zip")}, content_type="multipart/form-data"
    ).get_json()
    assert bad["valid"] is False
    failed = {check["name"] for check in bad["checks"] if check["status"] == "failed"}
    assert "record_fields" in failed
    junk = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(b"not a zip"), "b.zip")},
        content_type="multipart/form-data",
    )
    assert junk.status_code == 400
    assert junk.get_json()["error"]["code"] == "malformed_bundle"
    missing = client.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert missing.status_code in (400, 422)


@pytest.mark.slow
def test_contract_smoke_finds_every_documented_file(tmp_path):
    from tests.e2e.test_serve import SMOKE
    from tests.support.server import Service

    if not SMOKE.exists():
        pytest.skip("no contract-smoke.py here")
    with Service(tmp_path / "instance") as service:
        platform = service.add_platform()
        result = subprocess.run(
            [sys.executable, str(SMOKE), service.base, platform["platform_id"], platform["token"]],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all documented files present" in result.stdout


def test_other_platform_gets_404(platform, investor, borrower, runtime, client, make_platform):
    cid = ready_contract(platform, investor, borrower, runtime, client)
    other = make_platform("Other Lending")
    assert other.get(f"/contracts/{cid}/evidence").status_code == 404
