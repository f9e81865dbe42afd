"""Investigators and their cases, called directly: the acts the API, the pages and the
operator's commands are each one call of."""

from __future__ import annotations

import datetime as dt

import pytest

from notary.errors import NotFound, Unauthenticated, Unprocessable
from notary.services import auth
from notary.services.access.cases import CasePending, CaseStatus, ScopeNotAsShown, ScopeUnknown
from notary.verify.payloads import format_time
from tests.support.access import audit_actions


def bearer(token: str) -> str:
    return f"Bearer {token}"


@pytest.fixture
def wang(runtime):
    return runtime.investigators.add("Officer Wang", agency="Example City Police", operator="op")


def open_platform_case(runtime, investigator_id, platform_id):
    return runtime.cases.open(
        investigator_id, case_number="2026-0001", legal_basis="law", scope={"platform_id": platform_id}
    )


def test_investigators_are_added_given_tokens_and_revoked_with_their_tickets(runtime, platform, wang):
    assert runtime.authenticator.principal(bearer(wang.token)) == auth.Principal(
        auth.INVESTIGATOR, wang.investigator_id
    )
    second = runtime.investigators.new_token(wang.investigator_id, operator="op")
    case = open_platform_case(runtime, wang.investigator_id, platform.platform_id)
    shown = runtime.cases.for_approval(case.case_id)
    runtime.cases.approve(case.case_id, operator="op", shown_scope=shown.summary["scope"])
    ticket = runtime.cases.export_ticket(case.case_id, investigator_id=wang.investigator_id)

    assert runtime.investigators.revoke(wang.investigator_id, operator="op") == 2
    for token in (wang.token, second):
        with pytest.raises(Unauthenticated):
            runtime.authenticator.principal(bearer(token))
    with pytest.raises(Unauthenticated):
        runtime.cases.redeem_ticket(ticket.ticket, case_id=case.case_id)
    assert audit_actions(runtime, wang.investigator_id) == [
        "investigator.add",
        "investigator.token",
        "investigator.revoke",
    ]


@pytest.mark.parametrize(("name", "agency"), [("", "Police"), ("Wang", " "), ("W" * 201, "Police")])
def test_an_investigator_needs_a_name_and_an_agency(runtime, name, agency):
    with pytest.raises(Unprocessable):
        runtime.investigators.add(name, agency=agency, operator="op")


def test_unknown_investigators_are_not_found(runtime):
    with pytest.raises(NotFound):
        runtime.investigators.revoke("iv_missing", operator="op")
    with pytest.raises(NotFound):
        runtime.investigators.new_token("iv_missing", operator="op")


def test_a_case_opens_nothing_until_approved_as_shown(runtime, platform, investor, borrower, wang):
    filed = platform.file(investor, borrower)
    case = open_platform_case(runtime, wang.investigator_id, platform.platform_id)
    assert case.status == CaseStatus.PENDING
    with pytest.raises(CasePending):
        runtime.cases.contracts(case.case_id, investigator_id=wang.investigator_id)
    with pytest.raises(CasePending):
        runtime.cases.export_ticket(case.case_id, investigator_id=wang.investigator_id)
    assert [view["case_id"] for view in runtime.cases.listing(status=CaseStatus.PENDING)] == [case.case_id]

    shown = runtime.cases.for_approval(case.case_id)
    assert shown.investigator == {"name": "Officer Wang", "agency": "Example City Police"}
    assert (shown.summary["known"], shown.summary["contracts"]) == (True, 1)
    with pytest.raises(ScopeNotAsShown):
        runtime.cases.approve(case.case_id, operator="op", shown_scope={"platform_id": "pl_other"})
    approved = runtime.cases.approve(case.case_id, operator="op", shown_scope=shown.summary["scope"])
    assert (approved["status"], approved["approved_by"]) == ("approved", "op")
    assert runtime.cases.listing(status=CaseStatus.PENDING) == []

    listing = runtime.cases.contracts(case.case_id, investigator_id=wang.investigator_id)
    assert [item["contract_id"] for item in listing["contracts"]] == [filed["contract_id"]]
    assert audit_actions(runtime, case.case_id) == ["case.open", "case.approve", "case.contracts"]


def test_a_scope_naming_nothing_cannot_be_approved(runtime, wang):
    case = open_platform_case(runtime, wang.investigator_id, "pl_nobody")  # answered as a known one
    shown = runtime.cases.for_approval(case.case_id)
    assert (shown.summary["known"], shown.summary["contracts"]) == (False, 0)
    with pytest.raises(ScopeUnknown):
        runtime.cases.approve(case.case_id, operator="op", shown_scope=shown.summary["scope"])


def test_another_investigators_case_is_not_found(runtime, platform, wang):
    li = runtime.investigators.add("Officer Li", agency="Example City Police", operator="op")
    case = open_platform_case(runtime, wang.investigator_id, platform.platform_id)
    assert runtime.cases.view(case.case_id, investigator_id=wang.investigator_id)["case_id"] == case.case_id
    assert runtime.cases.own(li.investigator_id) == []
    for call in (runtime.cases.view, runtime.cases.contracts, runtime.cases.export_ticket):
        with pytest.raises(NotFound):
            call(case.case_id, investigator_id=li.investigator_id)


def test_a_download_ticket_lives_a_minute_and_works_once(runtime, clock, platform, wang):
    case = open_platform_case(runtime, wang.investigator_id, platform.platform_id)
    runtime.cases.approve(
        case.case_id, operator="op", shown_scope=runtime.cases.for_approval(case.case_id).summary["scope"]
    )
    before = runtime.clock()
    first = runtime.cases.export_ticket(case.case_id, investigator_id=wang.investigator_id)
    after = runtime.clock()
    one_minute = dt.timedelta(seconds=60)
    assert format_time(before + one_minute) <= first.expires_at <= format_time(after + one_minute)
    with pytest.raises(Unauthenticated):
        runtime.cases.redeem_ticket(first.ticket, case_id="cs_another")
    assert runtime.cases.redeem_ticket(first.ticket, case_id=case.case_id) == wang.investigator_id
    with pytest.raises(Unauthenticated):
        runtime.cases.redeem_ticket(first.ticket, case_id=case.case_id)

    late = runtime.cases.export_ticket(case.case_id, investigator_id=wang.investigator_id)
    clock.advance(seconds=61)
    with pytest.raises(Unauthenticated):
        runtime.cases.redeem_ticket(late.ticket, case_id=case.case_id)
