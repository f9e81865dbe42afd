"""Answers that used to mislead (issue 20, item 5), each with the answer it gives now."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from tests.support.access import new_investigator
from tests.support.people import Person
from tests.support.platforms import PlatformClient, new_platform, sign_body


def _decline(client: Any, platform: PlatformClient, person: Person, filed: dict[str, Any], role: str) -> None:
    cid = filed["contract_id"]
    decline = platform.get(f"/contracts/{cid}/signing-payload?role={role}&purpose=decline").get_json()
    payload = base64.b64decode(decline["payload_base64"])
    answer = client.post(
        f"/api/v1/contracts/{cid}/decline", json={"role": role, "signature": person.sign_b64(payload)}
    )
    assert answer.status_code == 200, answer.get_json()


def test_a_declined_contract_says_it_will_never_have_evidence(
    client: Any, platform: PlatformClient, investor: Person, borrower: Person
) -> None:
    # Before: 409 evidence_not_ready with Retry-After: 1, for ever.
    filed = platform.file(investor, borrower)
    _decline(client, platform, borrower, filed, "borrower")
    for what in ("evidence", "certificate"):
        answer = platform.get(f"/contracts/{filed['contract_id']}/{what}")
        assert answer.status_code == 409
        error = answer.get_json()["error"]
        assert error["code"] == "no_evidence"
        assert error["details"] == {"status": "declined"}
        assert "declined" in error["message"]
        assert "Retry-After" not in answer.headers


def test_an_expired_contract_says_it_will_never_have_evidence(
    client: Any, platform: PlatformClient, investor: Person, borrower: Person, clock: Any
) -> None:
    filed = platform.file(investor, borrower)
    client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(investor, filed, "investor")
    )
    clock.advance(days=8)  # past the 7-day signing window; the sweep has not run
    answer = platform.get(f"/contracts/{filed['contract_id']}/evidence")
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "no_evidence"
    assert answer.get_json()["error"]["details"] == {"status": "expired"}
    assert "Retry-After" not in answer.headers


def test_a_waiting_contract_says_whose_signature_is_missing(
    client: Any, platform: PlatformClient, investor: Person, borrower: Person
) -> None:
    # Before: evidence_not_ready, "not complete yet", whoever had or had not signed.
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    client.post(f"/api/v1/contracts/{cid}/signatures", json=sign_body(investor, filed, "investor"))
    answer = platform.get(f"/contracts/{cid}/evidence")
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "evidence_not_ready"
    assert error["details"] == {"status": "awaiting_signatures", "awaiting": ["borrower"]}
    assert "borrower's signature" in error["message"]
    assert answer.headers["Retry-After"] == "60"
    assert platform.get(f"/contracts/{cid}").get_json()["awaiting"] == ["borrower"]
    client.post(f"/api/v1/contracts/{cid}/signatures", json=sign_body(borrower, filed, "borrower"))
    sealing = platform.get(f"/contracts/{cid}/certificate")
    assert sealing.get_json()["error"]["details"] == {"status": "signed"}
    assert sealing.headers["Retry-After"] == "1"
    assert "awaiting" not in platform.get(f"/contracts/{cid}").get_json()


def _answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.get_json()


def test_the_signature_route_reveals_nothing_before_the_signature_verifies(
    runtime: Any, client: Any, platform: PlatformClient, investor: Person, borrower: Person, clock: Any
) -> None:
    # Before: an outsider posting any signature learned whether the contract existed (404 or
    # 422), whether a role had signed (409 already_signed) and its state (409 contract_not_open).
    outsider = Person("王五")
    open_one = platform.file(investor, borrower, b"%PDF open")
    signed_one = platform.file(investor, borrower, b"%PDF signed by the investor")
    client.post(
        f"/api/v1/contracts/{signed_one['contract_id']}/signatures",
        json=sign_body(investor, signed_one, "investor"),
    )
    declined_one = platform.file(investor, borrower, b"%PDF declined")
    _decline(client, platform, borrower, declined_one, "borrower")
    expired_one = platform.file(
        investor,
        borrower,
        b"%PDF expired",
        sign_by=(runtime.clock() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    clock.advance(days=2)
    forged = {"role": "investor", "signature": outsider.sign_b64(b"anything")}
    answers = {
        name: _answer(client.post(f"/api/v1/contracts/{cid}/signatures", json=forged))
        for name, cid in {
            "unknown": "co_01J00000000000000000000000",
            "open": open_one["contract_id"],
            "signed by that role": signed_one["contract_id"],
            "declined": declined_one["contract_id"],
            "expired": expired_one["contract_id"],
        }.items()
    }
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    assert answers["unknown"][0] == 422
    assert answers["unknown"][1]["error"]["code"] == "bad_signature"
    batch = client.post(
        "/api/v1/contracts/signatures/batch",
        json={"signatures": [{"contract_id": cid, **forged} for cid in ("co_x", open_one["contract_id"])]},
    ).get_json()["results"]
    assert batch[0] == batch[1] == {"status": 422, "body": answers["unknown"][1]}
    # A signature that verifies still learns the state it acts on.
    refused = client.post(
        f"/api/v1/contracts/{declined_one['contract_id']}/signatures",
        json=sign_body(investor, declined_one, "investor"),
    )
    assert refused.get_json()["error"]["code"] == "contract_not_open"


def test_opening_a_case_answers_an_unknown_scope_exactly_as_a_known_one(
    runtime: Any, client: Any, platform: PlatformClient, investor: Person
) -> None:
    investigator = new_investigator(runtime, client)

    def opened(scope: dict[str, str]) -> tuple[int, Any]:
        answer = investigator.post(
            "/cases", json={"case_number": "A-1", "legal_basis": "law", "scope": scope}
        )
        body = answer.get_json()
        return answer.status_code, sorted(body), body.get("status")

    other = new_platform(runtime, client, "Other Lending")
    known = [opened({"platform_id": other.platform_id}), opened({"party_id": investor.party_id})]
    unknown = [
        opened({"platform_id": "pl_01J00000000000000000000000"}),
        opened({"party_id": "pa_01J00000000000000000000000"}),
    ]
    assert known == unknown == [(201, ["case_id", "status"], "pending")] * 2


def test_a_checkpoint_size_beyond_any_database_integer_is_not_found(client: Any) -> None:
    # Before: 500 (OverflowError binding 2**63 into the query).
    for size in (2**63, 2**64 + 5, 10**30):
        answer = client.get(f"/api/v1/log/checkpoints/{size}")
        assert answer.status_code == 404, answer.get_data()
        assert answer.get_json()["error"]["code"] == "not_found"
        assert answer.get_json()["error"]["message"] == f"no checkpoint was signed at tree size {size}"


def test_a_lone_surrogate_in_a_name_is_refused_as_bad_input(platform: PlatformClient) -> None:
    # Before: 500 (the surrogate could not be encoded to UTF-8 for the database); the text
    # policy of the meaning branch now names it.
    person = Person("张三")
    body = person.enrolment(platform.platform_id)
    raw = json.dumps(body).replace(json.dumps("张三")[1:-1], "\\ud800")
    assert "\\ud800" in raw
    answer = platform.post("/parties", data=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.get_data()
    error = answer.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == {"name": ["U+D800 at position 0 is a lone surrogate, not a character"]}
