"""Investigators' cases: opening, scopes (platform, party, person), approval, audited reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notary.errors import NotaryError
from notary.services.access.cases import approve_case
from notary.services.clock import now_text
from notary.storage.access_models import AuditEntry, Case
from tests.support.access import approve, open_case
from tests.support.people import Person


def error_of(answer):
    return answer.status_code, answer.get_json()["error"]["code"]


BAD_SCOPES = [
    ({}, "validation_failed"),
    ({"platform_id": "pl_no\npe"}, "validation_failed"),
    ({"party_id": "pa_nope" * 10}, "validation_failed"),
    ({"platform_id": "x", "party_id": "y"}, "validation_failed"),
    ({"id_type": "passport"}, "validation_failed"),
    ({"id_number": 12345}, "validation_failed"),
    ({"id_number": "110105194912310021"}, "bad_id_number"),
    ({"id_type": "nonsense", "id_number": "E12345678"}, "bad_id_number"),
]


def test_bad_cases_are_refused(runtime, client, platform, make_investigator):
    investigator = make_investigator()
    for scope, code in BAD_SCOPES:
        answer = investigator.post("/cases", json={"case_number": "1", "legal_basis": "law", "scope": scope})
        assert error_of(answer) == (422, code), scope
    scope = {"platform_id": platform.platform_id}
    for body in (
        {"legal_basis": "law", "scope": scope},
        {"case_number": " ", "legal_basis": "law", "scope": scope},
    ):
        assert error_of(investigator.post("/cases", json=body)) == (422, "validation_failed")
    with runtime.db.read() as session:
        assert session.execute(select(Case)).first() is None


def test_a_person_scope_keeps_no_clear_id_number(
    runtime, client, platform, investor, borrower, make_investigator
):
    investigator = make_investigator()
    case_id = open_case(investigator, {"id_number": investor.id_number.lower()})
    view = investigator.get(f"/cases/{case_id}").get_json()
    assert view["status"] == "pending"
    assert view["scope"]["id_type"] == "cn_resident"
    masked = view["scope"]["id_number_masked"]
    assert masked[:6] == investor.id_number[:6]
    assert masked[-4:] == investor.id_number[-4:]
    assert "*" in masked
    with runtime.db.read() as session:
        stored = session.execute(select(Case)).scalar_one()
        trail = b"".join(session.execute(select(AuditEntry.entry)).scalars())
    columns = " ".join(str(value) for value in vars(stored).values())
    assert investor.id_number not in columns
    assert investor.id_number.encode() not in trail
    assert stored.scope_id_lookup == runtime.pii.lookup("cn_resident", investor.id_number)


def test_scopes_cover_what_they_name(
    runtime, client, platform, investor, borrower, make_platform, make_investigator
):
    other = make_platform("Other Lending")
    # The investor's ID number on another platform, under a key that platform made up.
    alias = Person("张三", id_number=investor.id_number)
    stranger = Person("Stranger")
    other.enrol(alias)
    other.enrol(stranger)
    own = platform.file(investor, borrower)["contract_id"]
    elsewhere = other.file(alias, stranger)["contract_id"]
    someone = Person("Someone")
    other.enrol(someone)
    unrelated = other.file(stranger, someone)["contract_id"]

    investigator = make_investigator()
    covered = {
        open_case(investigator, {"party_id": borrower.party_id}, "party"): {own},
        open_case(investigator, {"id_number": investor.id_number}, "person"): {own, elsewhere},
        open_case(investigator, {"platform_id": other.platform_id}, "platform"): {elsewhere, unrelated},
    }
    for case_id in covered:
        approve(runtime, case_id)
    for case_id, contracts in covered.items():
        for contract_id in (own, elsewhere, unrelated):
            answer = investigator.get(f"/contracts/{contract_id}/document", headers={"Notary-Case": case_id})
            assert answer.status_code == (200 if contract_id in contracts else 404), (case_id, contract_id)


def test_every_read_through_a_case_is_recorded_with_its_case(
    runtime, client, platform, investor, borrower, make_investigator
):
    filed = platform.file(investor, borrower)["contract_id"]
    investigator = make_investigator()
    case_id = open_case(investigator, {"platform_id": platform.platform_id})
    assert investigator.get(f"/contracts/{filed}").status_code == 403  # refused: not recorded as a read
    approve(runtime, case_id)
    for suffix in ("", "/document", "/signing-payload?role=borrower"):
        assert investigator.get(f"/contracts/{filed}{suffix}").status_code == 200
    platform.get(f"/contracts/{filed}")  # a platform's own working read is not evidence
    platform.get(f"/contracts/{filed}/document")  # its document is
    with runtime.db.read() as session:
        trail = session.execute(select(AuditEntry).order_by(AuditEntry.sequence)).scalars().all()
    reads = [(e.action, e.actor_kind, e.case_id) for e in trail if e.object_id == filed]
    assert reads == [
        ("contract.read", "investigator", case_id),
        ("document.read", "investigator", case_id),
        ("signing_payload.read", "investigator", case_id),
        ("document.read", "platform", None),
    ]
    acts = [e.action for e in trail]
    assert acts[:2] == ["platform.add", "investigator.add"]
    assert "case.open" in acts
    assert "case.approve" in acts


def test_approval_is_idempotent_and_needs_a_case(runtime, client, platform, make_investigator):
    investigator = make_investigator()
    case_id = open_case(investigator, {"platform_id": platform.platform_id})
    approve(runtime, case_id)
    approve(runtime, case_id)
    view = investigator.get(f"/cases/{case_id}").get_json()
    assert view["status"] == "approved"
    assert view["approved_by"] == "op"
    with runtime.db.read() as session:
        approvals = session.execute(select(AuditEntry).where(AuditEntry.action == "case.approve")).all()
    assert len(approvals) == 1
    with runtime.db.write() as session, pytest.raises(NotaryError) as missing:
        approve_case(session, "cs_nope", operator="op", now=now_text(runtime.clock))
    assert missing.value.code == "not_found"


def test_an_unknown_scope_id_is_answered_like_a_known_one_until_approval(
    runtime, client, platform, investor, make_investigator
):
    """round2-notes: a pending case must not tell an investigator which ids exist."""
    investigator = make_investigator()
    answers = {}
    for label, scope in (
        ("known platform", {"platform_id": platform.platform_id}),
        ("unknown platform", {"platform_id": "pl_01ZZZZZZZZZZZZZZZZZZZZZZZZ"}),
        ("known party", {"party_id": investor.party_id}),
        ("unknown party", {"party_id": "pa_01ZZZZZZZZZZZZZZZZZZZZZZZZ"}),
    ):
        opened = investigator.post("/cases", json={"case_number": "1", "legal_basis": "law", "scope": scope})
        shown = investigator.get(f"/cases/{opened.get_json()['case_id']}")
        answers[label] = (
            opened.status_code,
            sorted(opened.get_json()),
            shown.status_code,
            sorted(shown.get_json()),
        )
    assert answers["known platform"] == answers["unknown platform"]
    assert answers["known party"] == answers["unknown party"]
    assert answers["known platform"][0] == 201

    # At approval the operator learns what the scope names, and nothing unknown is approved.
    with runtime.db.read() as session:
        unknown = session.execute(select(Case).where(Case.scope_platform_id.like("pl_01ZZ%"))).scalar_one()
    with runtime.db.write() as session, pytest.raises(NotaryError) as refused:
        approve_case(session, unknown.id, operator="op", now=now_text(runtime.clock))
    assert refused.value.code == "scope_unknown"
    with runtime.db.read() as session:
        assert session.get(Case, unknown.id).status == "pending"


def test_approval_is_of_the_scope_shown(runtime, client, platform, make_investigator):
    investigator = make_investigator()
    case_id = open_case(investigator, {"platform_id": platform.platform_id})
    with runtime.db.write() as session, pytest.raises(NotaryError) as refused:
        approve_case(
            session, case_id, operator="op", now=now_text(runtime.clock), shown_scope={"party_id": "pa_1"}
        )
    assert refused.value.code == "scope_not_as_shown"
