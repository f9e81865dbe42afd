"""The signing ceremony's refusals: each with its code, and nothing stored."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import func, select

from notary.storage.models import Signature
from tests.support.people import Person
from tests.support.platforms import sign_body


def signature_count(runtime) -> int:
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(Signature)).scalar_one()


def post(client, cid, body, action="signatures"):
    return client.post(f"/api/v1/contracts/{cid}/{action}", json=body)


def payload_of(filed, role):
    return base64.b64decode(filed["signing_payloads"][role]["payload_base64"])


def test_refusals(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    other = platform.file(investor, borrower, document=b"another contract")
    cid = filed["contract_id"]
    stranger = Person()
    cases = [
        # signed by a key that is not the enrolled one
        (
            {"role": "investor", "signature": stranger.sign_b64(payload_of(filed, "investor"))},
            422,
            "bad_signature",
        ),
        # the investor's good signature posted as the borrower's
        (
            {"role": "borrower", "signature": investor.sign_b64(payload_of(filed, "investor"))},
            422,
            "wrong_role",
        ),
        # the investor's signature over the payload of another contract
        (
            {"role": "investor", "signature": investor.sign_b64(payload_of(other, "investor"))},
            422,
            "bad_signature",
        ),
        # a decline signature is not a signature to sign
        (
            {
                "role": "investor",
                "signature": investor.sign_b64(
                    payload_of(filed, "investor").replace(b"sign.v1", b"decline.v1")
                ),
            },
            422,
            "bad_signature",
        ),
        ({"role": "investor", "signature": "AAAA"}, 422, "bad_signature"),
        ({"role": "investor", "signature": "not base64"}, 422, "validation_failed"),
        ({"role": "guarantor", "signature": "AAAA"}, 422, "validation_failed"),
        ({"role": "investor"}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        response = post(client, cid, body)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]["code"] == code, body
    assert post(client, "ct_unknown", sign_body(investor, filed, "investor")).status_code == 422
    assert signature_count(runtime) == 0


def test_second_signature_for_a_role(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    first = sign_body(borrower, filed, "borrower")  # ECDSA: a new signature differs each time
    assert post(client, cid, first).get_json() == {"status": "awaiting_signatures"}
    assert post(client, cid, first).status_code == 200  # byte-identical: idempotent
    response = post(client, cid, sign_body(borrower, filed, "borrower"))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_signed"
    assert signature_count(runtime) == 1


def test_ecdsa_raw_r_s_is_accepted_and_stored_as_der(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    der = borrower.sign(payload_of(filed, "borrower"))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    response = post(
        client, filed["contract_id"], {"role": "borrower", "signature": base64.b64encode(raw).decode()}
    )
    assert response.status_code == 200
    with runtime.db.read() as session:
        stored = session.get(Signature, (filed["contract_id"], "borrower"))
        assert decode_dss_signature(stored.signature) == (r, s)


def test_after_sealing(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    bodies = {role: sign_body(p, filed, role) for role, p in (("investor", investor), ("borrower", borrower))}
    for body in bodies.values():
        post(client, cid, body)
    runtime.sequencer.seal_pending()
    assert post(client, cid, bodies["investor"]).get_json() == {"status": "sealed"}
    assert (
        post(client, cid, sign_body(borrower, filed, "borrower")).get_json()["error"]["code"]
        == "already_signed"
    )


def test_deadline_expires_the_contract(platform, investor, borrower, runtime, client, clock):
    filed = platform.file(investor, borrower, sign_by=None)
    cid = filed["contract_id"]
    post(client, cid, sign_body(investor, filed, "investor"))
    clock.advance(days=8)
    assert platform.get(f"/contracts/{cid}").get_json()["status"] == "expired"
    response = post(client, cid, sign_body(borrower, filed, "borrower"))
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "contract_not_open",
        "message": "the contract is expired",
        "details": {"status": "expired"},
    }

    assert runtime.chores.expire_overdue() == 1
    assert runtime.chores.expire_overdue() == 0
    assert signature_count(runtime) == 1


def test_decline(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    post(client, cid, sign_body(investor, filed, "investor"))
    decline_payload = platform.get(
        f"/contracts/{cid}/signing-payload?role=borrower&purpose=decline"
    ).get_json()
    payload = base64.b64decode(decline_payload["payload_base64"])
    assert b'"purpose":"notary.decline.v1"' in payload
    # A signature over the signing payload is not a decline.
    wrong = post(client, cid, {**sign_body(borrower, filed, "borrower"), "reason": "no"}, "decline")
    assert wrong.get_json()["error"]["code"] == "bad_signature"
    # The investor already signed: its own decline, which verifies, cannot apply any more.
    investor_decline = base64.b64decode(
        platform.get(f"/contracts/{cid}/signing-payload?role=investor&purpose=decline").get_json()[
            "payload_base64"
        ]
    )
    signed = post(
        client, cid, {"role": "investor", "signature": investor.sign_b64(investor_decline)}, "decline"
    )
    assert signed.get_json()["error"]["code"] == "already_signed"
    # Another role's payload verifies for nobody here: the answer reveals nothing more.
    stray = post(client, cid, {"role": "investor", "signature": investor.sign_b64(payload)}, "decline")
    assert stray.get_json()["error"]["code"] == "bad_signature"
    response = post(
        client,
        cid,
        {"role": "borrower", "signature": borrower.sign_b64(payload), "reason": "金额有误"},
        "decline",
    )
    assert response.get_json() == {"status": "declined"}
    view = platform.get(f"/contracts/{cid}").get_json()
    assert view["status"] == "declined"
    assert view["declined"]["role"] == "borrower"
    assert view["declined"]["reason"] == "金额有误"
    late = post(client, cid, sign_body(borrower, filed, "borrower"))
    assert late.get_json()["error"]["code"] == "contract_not_open"


def test_signing_payload_route(platform, investor, borrower):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    answer = platform.get(f"/contracts/{cid}/signing-payload?role=investor").get_json()
    for key, value in filed["signing_payloads"]["investor"].items():
        assert answer[key] == value
    assert answer["counterparty"]["role"] == "borrower"
    assert answer["platform"]["platform_id"] == platform.platform_id
    assert set(answer) == {"payload_base64", "payload_sha256", "terms", "platform", "counterparty"}
    bad = platform.get(f"/contracts/{cid}/signing-payload?role=judge")
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "validation_failed"


def test_a_signature_that_does_not_verify_reveals_nothing(
    platform, investor, borrower, runtime, client, clock
):
    """round2-notes, "Signature route": the signature is verified before anything is revealed,
    so a stranger probing contract ids with junk learns neither which exist nor their state."""
    open_one = platform.file(investor, borrower)["contract_id"]
    signed = platform.file(investor, borrower, document=b"signed contract")
    post(client, signed["contract_id"], sign_body(investor, signed, "investor"))
    expired = platform.file(investor, borrower, document=b"expired contract", sign_by=None)["contract_id"]
    clock.advance(days=8)
    junk = {"role": "investor", "signature": Person().sign_b64(b"anything")}
    answers = {
        name: post(client, cid, junk)
        for name, cid in (
            ("unknown", "ct_01ZZZZZZZZZZZZZZZZZZZZZZZZ"),
            ("open", open_one),
            ("already signed", signed["contract_id"]),
            ("expired", expired),
        )
    }
    seen = {name: (answer.status_code, answer.get_data()) for name, answer in answers.items()}
    assert len(set(seen.values())) == 1, seen
    assert answers["unknown"].status_code == 422
    assert answers["unknown"].get_json()["error"]["code"] == "bad_signature"
    for action in ("decline",):
        refused = post(client, "ct_01ZZZZZZZZZZZZZZZZZZZZZZZZ", junk, action)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (422, "bad_signature")
