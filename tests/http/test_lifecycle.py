"""The life of a contract over HTTP: enrol, file, sign in either order, seal."""

from __future__ import annotations

import base64
import hashlib

from notary.verify import payloads
from notary.verify.canonical import canonical_json
from tests.support.platforms import DOCUMENT, sign_body


def test_file_sign_and_seal(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower, title="个人借款合同", external_ref="loan-1")
    assert filed["status"] == "awaiting_signatures"
    assert filed["document_sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    # Terms as accepted: as sent, plus the default deadline; their digest is over canonical bytes.
    assert filed["terms"]["amount"] == "10000.00"
    assert filed["terms"]["sign_by"].endswith("Z")
    assert filed["terms_sha256"] == hashlib.sha256(canonical_json(filed["terms"])).hexdigest()
    for role, person in (("investor", investor), ("borrower", borrower)):
        entry = filed["signing_payloads"][role]
        payload = base64.b64decode(entry["payload_base64"])
        assert payload == payloads.contract_payload(
            purpose=payloads.PURPOSE_SIGN,
            contract_id=filed["contract_id"],
            platform_id=platform.platform_id,
            role=role,
            party_id=person.party_id,
            document_sha256=filed["document_sha256"],
            terms_sha256=filed["terms_sha256"],
        )
        assert entry["payload_sha256"] == hashlib.sha256(payload).hexdigest()

    cid = filed["contract_id"]
    # The borrower signs first: order does not matter.
    response = client.post(f"/api/v1/contracts/{cid}/signatures", json=sign_body(borrower, filed, "borrower"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "awaiting_signatures"}
    response = client.post(f"/api/v1/contracts/{cid}/signatures", json=sign_body(investor, filed, "investor"))
    assert response.get_json() == {"status": "signed"}

    view = platform.get(f"/contracts/{cid}").get_json()
    assert view["status"] == "signed"
    assert set(view["signatures"]) == {"investor", "borrower"}
    assert view["signatures"]["borrower"]["algorithm"] == "ecdsa-p256-sha256"
    assert view["evidence"] is None

    leaves = runtime.sequencer.seal_pending()
    assert len(leaves) == 1
    view = platform.get(f"/contracts/{cid}").get_json()
    assert view["status"] == "sealed"
    assert view["evidence"]["leaf_index"] == 0
    assert view["evidence"]["record_sha256"] == leaves[0].record_sha256


def test_records_are_chained_in_signing_order(platform, investor, borrower, runtime, client):
    filed = [platform.file(investor, borrower, external_ref=f"loan-{i}") for i in range(3)]
    for item in reversed(filed):
        for role, person in (("investor", investor), ("borrower", borrower)):
            client.post(
                f"/api/v1/contracts/{item['contract_id']}/signatures", json=sign_body(person, item, role)
            )
    leaves = runtime.sequencer.seal_pending()
    assert [leaf.sequence for leaf in leaves] == [0, 1, 2]
    import json

    records = [json.loads(leaf.record) for leaf in leaves]
    assert [r["contract_id"] for r in records] == [f["contract_id"] for f in reversed(filed)]
    assert records[0]["previous_record_sha256"] == "0" * 64
    assert records[1]["previous_record_sha256"] == leaves[0].record_sha256
    assert records[2]["previous_record_sha256"] == leaves[1].record_sha256
    assert runtime.sequencer.seal_pending() == []
