"""End to end with two real witnesses (issue 21, item 2d): the notary publishes its witness
policy in ``/trust``; a bundle fetched once ``cosigned`` verifies with the witnesses named; the
bundle fetched before they answered is below the policy; a certificate PDF (whose checkpoint is
never cosigned later) is completed from the log's cosigned checkpoint."""

from __future__ import annotations

import io

from notary.verify.evidence.verifier import verify_bundle
from notary.verify.trust import TrustFile
from tests.http.test_witness_collection import seal_one, settings, witnesses, work_until  # noqa: F401


def api_verify(client, data: bytes, name: str) -> dict:
    answer = client.post(
        "/api/v1/verify", data={"bundle": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_notarys_own_trust_holds_bundles_and_certificates_to_its_witnesses(
    platform, investor, borrower, runtime, client
):
    contract_id = seal_one(platform, investor, borrower, runtime, client)
    work_until(runtime, platform, contract_id, "ready")
    early = platform.get(f"/contracts/{contract_id}/evidence").get_data()
    early_certificate = platform.get(f"/contracts/{contract_id}/certificate").get_data()
    work_until(runtime, platform, contract_id, "cosigned")
    trust = TrustFile.from_json(client.get("/api/v1/trust").get_data())
    assert [(policy.k, policy.n) for policy in trust.witness_policies] == [(2, 2)]
    cosigned = platform.get(f"/contracts/{contract_id}/evidence").get_data()
    report = api_verify(client, cosigned, "evidence.zip")
    assert report["verdict"] == "valid", [c for c in report["checks"] if not c["passed"]]
    assert report["witnesses"]["status"] == "met"
    assert report["witnesses"]["cosigned_by"] == ["witness.test/w1", "witness.test/w2"]
    # Offline, with the trust file a court keeps, the same answer.
    assert verify_bundle(cosigned, trust=trust, now=runtime.clock()).verdict == "valid"

    before = verify_bundle(early, trust=trust, now=runtime.clock())
    if b"witness.test/w" not in early:  # fetched before the witnesses answered (the usual case)
        assert before.verdict == "below_witness_policy"
        assert before.witnesses.cosigned_by == ()

    certificate = platform.get(f"/contracts/{contract_id}/certificate")
    assert certificate.status_code == 200
    checked = api_verify(client, certificate.get_data(), "certificate.pdf")
    assert checked["verdict"] == "valid", [c for c in checked["checks"] if not c["passed"]]
    witnessed = next(c for c in checked["checks"] if c["name"] == "witness_cosignatures")
    assert witnessed["details"]["cosigned_by"] == ["witness.test/w1", "witness.test/w2"]

    # A certificate downloaded before the witnesses answered never gains cosignatures; POST
    # /verify completes it from the log with the latest checkpoint as served, cosignatures included.
    late = api_verify(client, early_certificate, "certificate.pdf")
    assert late["verdict"] == "valid", [c for c in late["checks"] if not c["passed"]]
    counted = next(c for c in late["checks"] if c["name"] == "witness_cosignatures")
    assert counted["details"]["cosigned_by"] == ["witness.test/w1", "witness.test/w2"]
    assert late["witnesses"]["cosigned_by"] == ["witness.test/w1", "witness.test/w2"]
