"""``POST /contracts/signatures/batch``: each item answers what the single call would have."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from notary.storage.models import Contract, Signature
from tests.support.people import Person
from tests.support.platforms import sign_body

BATCH = "/api/v1/contracts/signatures/batch"


def signature_count(runtime) -> int:
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(Signature)).scalar_one()


def item(person, filed, role):
    return {"contract_id": filed["contract_id"], **sign_body(person, filed, role)}


def answers(client, items):
    response = client.post(BATCH, json={"signatures": items})
    assert response.status_code == 200, response.get_json()
    return [(result["status"], result["body"]) for result in response.get_json()["results"]]


def test_both_signatures_of_many_contracts_in_one_call(platform, investor, borrower, runtime, client):
    filed = [platform.file(investor, borrower, document=f"contract {i}".encode()) for i in range(5)]
    items = [item(p, f, role) for f in filed for role, p in (("investor", investor), ("borrower", borrower))]
    results = answers(client, items)  # no token: the signature is the credential
    assert results == [(200, {"status": "awaiting_signatures"}), (200, {"status": "signed"})] * 5
    with runtime.db.read() as session:
        statuses = session.execute(select(Contract.status)).scalars().all()
    assert statuses == ["signed"] * 5
    assert len(runtime.sequencer.seal_pending()) == 5
    # The same signatures again: each idempotent, answering the current status.
    assert answers(client, items) == [(200, {"status": "sealed"})] * 10
    assert signature_count(runtime) == 10


def test_refusals_are_per_item_and_store_nothing(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    other = platform.file(investor, borrower, document=b"another contract")
    payload = base64.b64decode(filed["signing_payloads"]["investor"]["payload_base64"])
    cid = filed["contract_id"]
    items = [
        {"contract_id": cid, "role": "investor", "signature": Person().sign_b64(payload)},
        {"contract_id": cid, "role": "borrower", "signature": investor.sign_b64(payload)},
        {"contract_id": "ct_unknown", **sign_body(investor, filed, "investor")},
        {"contract_id": cid, "role": "guarantor", "signature": "AAAA"},
        {"contract_id": cid, "role": "investor", "signature": "not base64"},
        {"role": "investor", "signature": "AAAA"},
        "not an object",
        item(investor, other, "investor"),
    ]
    results = answers(client, items)
    codes = [(status, body.get("error", {}).get("code")) for status, body in results]
    assert codes == [
        (422, "bad_signature"),
        (422, "wrong_role"),
        (422, "bad_signature"),  # an unknown contract: the answer of a signature that does not verify
        (422, "validation_failed"),
        (422, "validation_failed"),
        (422, "validation_failed"),
        (422, "validation_failed"),
        (200, None),
    ]
    assert results[-1] == (200, {"status": "awaiting_signatures"})
    assert signature_count(runtime) == 1  # only the good item's


def test_items_apply_in_order_like_single_calls(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    first, second = item(borrower, filed, "borrower"), item(borrower, filed, "borrower")  # ECDSA differs
    assert first["signature"] != second["signature"]
    results = answers(client, [first, first, second])
    assert [status for status, _ in results] == [200, 200, 409]
    assert results[2][1]["error"]["code"] == "already_signed"
    # The single route agrees with what the batch stored.
    single = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(borrower, filed, "borrower")
    )
    assert single.status_code == 409
    assert signature_count(runtime) == 1


def test_a_declined_contract_refuses_batch_signatures(platform, investor, borrower, client):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    decline = platform.get(f"/contracts/{cid}/signing-payload?role=borrower&purpose=decline").get_json()
    payload = base64.b64decode(decline["payload_base64"])
    declined = client.post(
        f"/api/v1/contracts/{cid}/decline", json={"role": "borrower", "signature": borrower.sign_b64(payload)}
    )
    assert declined.status_code == 200
    results = answers(client, [item(investor, filed, "investor")])
    assert results[0][0] == 409
    assert results[0][1]["error"]["code"] == "contract_not_open"


def test_the_batch_itself_must_be_well_formed(client):
    for body in ({"signatures": []}, {"signatures": [{}] * 1001}, {}, {"signatures": "x"}):
        response = client.post(BATCH, json=body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == "validation_failed"
    assert client.post(BATCH, data=b"{", content_type="application/json").status_code == 400


def test_the_route_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/contracts/signatures/batch"]


def test_signatures_by_a_verified_key_say_so(platform, investor, borrower, runtime, client):
    from notary.services.access.key_holders import verify_identity
    from notary.services.clock import now_text

    with runtime.db.write() as session:
        verify_identity(
            session,
            runtime.pii,
            id_type="cn_resident",
            id_number=investor.id_number,
            public_key_pem=investor.public.pem,
            operator="desk officer",
            now=now_text(runtime.clock),
        )
    filed = platform.file(investor, borrower)
    answers(client, [item(investor, filed, "investor"), item(borrower, filed, "borrower")])
    with runtime.db.read() as session:
        stored = {
            row.role: row.identity_assurance
            for row in session.execute(select(Signature).where(Signature.contract_id == filed["contract_id"]))
            .scalars()
            .all()
        }
    assert stored == {"investor": "verified", "borrower": "platform"}
