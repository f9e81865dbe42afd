"""Every role against every endpoint and every foreign object: no leak, ever.

Contract reads cover the contract, its document, its signing payload, its evidence bundle and
its certificate.

The world: platforms A and B (active) and D (defunct), each with one contract; key holders
of A, B and D, and one of A who is party to nothing; investigators without a case, with a
pending case, with an approved case over A (in scope for A's contract) and over B (out of
scope for it), and one over the defunct D.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from tests.support.access import Caller, approve, login, open_case
from tests.support.people import Person
from tests.support.platforms import DOCUMENT, contract_terms

MISSING = "ct_01JD0Q8K2X3M4N5P6Q7R8S9T0V"


@dataclass
class World:
    callers: dict[str, Caller]
    contracts: dict[str, str]
    people: dict[str, Person]
    platforms: dict[str, str]
    case_of: dict[str, str]


@pytest.fixture
def world(runtime, client, make_platform, make_investigator):
    platforms, people, contracts = {}, {}, {}
    tokens = {}
    for label, name, holders in (
        ("A", "Alpha Lending", ("alice", "bob", "mallory")),
        ("B", "Beta Lending", ("carol", "dave")),
        ("D", "Delta Lending", ("erin", "frank")),
    ):
        platform = make_platform(name)
        platforms[label], tokens[f"platform {label}"] = platform.platform_id, platform.token
        for holder in holders:
            people[holder] = Person(holder)
            platform.enrol(people[holder])
        first, second = holders[0], holders[1]
        contracts[label] = platform.file(people[first], people[second])["contract_id"]
    with runtime.db.write() as session:
        mark_defunct(session, platforms["D"], now=now_text(runtime.clock))
    callers = {"anonymous": Caller(client, None, "anonymous")}
    callers["platform A"] = Caller(client, tokens["platform A"])
    callers["platform B"] = Caller(client, tokens["platform B"])
    callers["defunct platform D"] = Caller(client, tokens["platform D"])
    for holder, role in (
        ("alice", "party of A"),
        ("carol", "party of B"),
        ("erin", "party of D"),
        ("mallory", "unrelated key holder"),
    ):
        callers[role] = Caller(client, login(client, people[holder]))
    case_of = {}
    callers["investigator without case"] = make_investigator("No Case")
    callers["investigator pending case"] = pending = make_investigator("Pending")
    case_of["investigator pending case"] = open_case(pending, {"platform_id": platforms["A"]})
    for role, scope_platform in (
        ("investigator case over A", "A"),
        ("investigator case over B", "B"),
        ("investigator case over D", "D"),
    ):
        callers[role] = investigator = make_investigator(role)
        case_of[role] = open_case(investigator, {"platform_id": platforms[scope_platform]})
        approve(runtime, case_of[role])
    return World(callers, contracts, people, platforms, case_of)


# Expected status of each role reading each contract (and its document and signing payload).
READS = {
    #                               A    B    D    missing
    "anonymous":                  (401, 401, 401, 401),
    "platform A":                 (200, 404, 404, 404),
    "platform B":                 (404, 200, 404, 404),
    "defunct platform D":         (410, 410, 410, 410),
    "party of A":                 (200, 404, 404, 404),
    "party of B":                 (404, 200, 404, 404),
    "party of D":                 (404, 404, 200, 404),
    "unrelated key holder":       (404, 404, 404, 404),
    "investigator without case":  (404, 404, 404, 404),
    "investigator pending case":  (403, 403, 403, 403),
    "investigator case over A":   (200, 404, 404, 404),
    "investigator case over B":   (404, 200, 404, 404),
    "investigator case over D":   (404, 404, 200, 404),
}  # fmt: skip
CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 410: "platform_defunct"}


def test_every_role_against_every_contract(world):
    assert set(READS) == set(world.callers)
    targets = {**world.contracts, "missing": MISSING}
    for role, caller in world.callers.items():
        for (label, contract_id), expected in zip(targets.items(), READS[role], strict=True):
            answers = {}
            for suffix in ("", "/document", "/signing-payload?role=investor", "/certificate", "/evidence"):
                answer = caller.get(f"/contracts/{contract_id}{suffix}")
                # Entitled to a contract not sealed yet: its evidence and certificate are not ready.
                wanted = 409 if expected == 200 and suffix in {"/certificate", "/evidence"} else expected
                assert answer.status_code == wanted, (role, label, suffix, answer.get_json())
                answers[suffix] = answer
            if expected == 200:
                assert answers[""].get_json()["contract_id"] == contract_id
                assert answers["/document"].data == DOCUMENT
                assert answers["/certificate"].get_json()["error"]["code"] == "evidence_not_ready"
                assert answers["/evidence"].get_json()["error"]["code"] == "evidence_not_ready"
                continue
            for answer in answers.values():
                body = answer.get_json()
                assert body["error"]["code"] == CODES[expected], (role, label)
                assert set(body) == {"error"}
                assert contract_id not in answer.get_data(as_text=True)
            if expected == 404:
                # Not yours answers byte for byte as not there.
                assert answers[""].data == caller.get(f"/contracts/{MISSING}").data


def test_every_role_against_every_other_endpoint(world):
    check_me_contracts(world)
    check_cases(world)
    check_filing_and_enrolment(world)


def check_me_contracts(world):
    expected = {
        "anonymous": 401, "platform A": 403, "platform B": 403, "defunct platform D": 410,
        "investigator without case": 403, "investigator case over A": 403,
    }  # fmt: skip
    for role, status in expected.items():
        assert world.callers[role].get("/me/contracts").status_code == status, role
    own = {"party of A": {"A"}, "party of B": {"B"}, "party of D": {"D"}, "unrelated key holder": set()}
    for role, labels in own.items():
        answer = world.callers[role].get("/me/contracts")
        listed = {item["contract_id"] for item in answer.get_json()["contracts"]}
        assert listed == {world.contracts[label] for label in labels}, role


def check_cases(world):
    case_a = world.case_of["investigator case over A"]
    expected = {
        "anonymous": 401, "platform A": 403, "defunct platform D": 410, "party of A": 403,
        "investigator without case": 404, "investigator case over B": 404,
        "investigator pending case": 404, "investigator case over A": 200,
    }  # fmt: skip
    for role, status in expected.items():
        answer = world.callers[role].get(f"/cases/{case_a}")
        assert answer.status_code == status, role
        if status == 404:
            assert answer.data == world.callers[role].get("/cases/cs_missing").data
    scope = {"platform_id": world.platforms["A"]}
    body = {"case_number": "X-1", "legal_basis": "art. 1", "scope": scope}
    for role, status in {
        "anonymous": 401,
        "platform A": 403,
        "defunct platform D": 410,
        "party of A": 403,
    }.items():
        assert world.callers[role].post("/cases", json=body).status_code == status, role


def check_filing_and_enrolment(world):
    alice, bob = world.people["alice"], world.people["bob"]
    filing = {
        "document_base64": base64.b64encode(b"doc").decode(),
        "media_type": "application/pdf",
        "terms": contract_terms(alice, bob),
    }
    newcomer = Person("Newcomer")
    for role, status in {
        "anonymous": 401, "defunct platform D": 410, "party of A": 403,
        "investigator case over A": 403, "unrelated key holder": 403,
    }.items():  # fmt: skip
        caller = world.callers[role]
        assert caller.post("/contracts", json=filing).status_code == status, role
        assert caller.post("/contracts/batch", json={"contracts": [filing]}).status_code == status, role
        assert caller.post("/parties", json=newcomer.enrolment(world.platforms["A"])).status_code == status, (
            role
        )


def test_a_named_case_is_used_as_named(runtime, world):
    investigator = world.callers["investigator case over A"]
    case_a = world.case_of["investigator case over A"]
    contract_a, contract_b = world.contracts["A"], world.contracts["B"]
    second = open_case(investigator, {"platform_id": world.platforms["B"]}, number="2026-0002")

    def read(contract_id, case_id):
        return investigator.get(f"/contracts/{contract_id}", headers={"Notary-Case": case_id})

    assert read(contract_a, case_a).status_code == 200
    assert read(contract_b, second).status_code == 403  # named, its own, not approved yet
    approve(runtime, second)
    assert read(contract_b, second).status_code == 200
    assert read(contract_b, case_a).status_code == 404  # the named case does not cover it
    assert read(contract_a, world.case_of["investigator case over B"]).status_code == 404  # another's case
    assert read(MISSING, case_a).status_code == 404
