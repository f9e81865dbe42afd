"""Issue 15.6: the notary's public verifier never vouches for keys its caller brought.

Before the fix, ``POST /verify`` with a ``trust`` part of the caller's answered
``trust_basis: "trust_file"`` and ``origin_established: true`` for a bundle the caller had
forged under keys of its own: the notary's endpoint called a forgery valid. Now the endpoint
checks against the notary's own published trust; a caller's trust file is reported
``caller_supplied``, never with the notary's origin.
"""

from __future__ import annotations

import io

from tests.http.test_evidence import ready_contract
from tests.support.evidence import SampleLog, SampleNotary


def post_verify(client, bundle: bytes, **parts: bytes):
    data = {"bundle": (io.BytesIO(bundle), "evidence.zip")}
    data.update({name: (io.BytesIO(content), f"{name}.json") for name, content in parts.items()})
    answer = client.post("/api/v1/verify", data=data, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_forgery_under_the_callers_own_keys_is_not_vouched_for(client, tmp_path):
    forger = SampleNotary.create(tmp_path / "forger", organisation="Forger")
    forged = SampleLog(forger, 2).bundle(0, 2)

    with_their_trust = post_verify(client, forged, trust=forger.trust_json())
    assert with_their_trust["trust_basis"] == "caller_supplied"
    assert with_their_trust["origin_established"] is False
    assert with_their_trust["verdict"] == "valid_integrity_only"  # consistent with the forger's keys, no more

    against_the_notary = post_verify(client, forged)
    assert against_the_notary["trust_basis"] == "trust_file"
    assert against_the_notary["valid"] is False
    assert against_the_notary["origin_established"] is False


def test_a_genuine_bundle_is_vouched_for_against_the_notarys_own_trust(
    platform, investor, borrower, runtime, client
):
    contract_id = ready_contract(platform, investor, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{contract_id}/evidence").data
    report = post_verify(client, bundle)
    assert (report["verdict"], report["trust_basis"], report["origin_established"]) == (
        "valid",
        "trust_file",
        True,
    )
    assert report["trust_origin"] == runtime.log_signer.name
    # With the investor's opening, the identity is proven, and the answer echoes no opening.
    opening = investor.opening(platform.platform_id)
    proven = post_verify(client, bundle, opening=opening)
    assert proven["parties"]["investor"]["identity"]["status"] == "proven"
    assert investor.id_number not in str(proven)
    assert opening.decode() not in str(proven)
