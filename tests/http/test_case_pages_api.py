"""What the investigators' page needs from the API: their cases, the contracts in a case's
scope (audited), and single-use, short-lived download tickets for the export."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from sqlalchemy import select

from notary.storage.access_models import AuditEntry
from tests.http.test_pages_verify import ready_contract
from tests.support.access import approve, open_case


def error_of(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.get_json()["error"]["code"]


def test_an_investigator_lists_own_cases_only(
    runtime: Any, client: Any, platform: Any, make_investigator
) -> None:
    wang = make_investigator()
    li = make_investigator("Officer Li")
    first = open_case(wang, {"platform_id": platform.platform_id}, "2026-0001")
    second = open_case(wang, {"platform_id": platform.platform_id}, "2026-0002")
    open_case(li, {"platform_id": platform.platform_id}, "2026-0009")
    listed = wang.get("/cases").get_json()["cases"]
    assert {case["case_id"] for case in listed} == {first, second}
    assert all(case["status"] == "pending" for case in listed)
    assert error_of(platform.get("/cases")) == (403, "forbidden")


def test_contracts_in_scope_need_approval_and_are_audited(
    runtime: Any, client: Any, platform: Any, investor: Any, borrower: Any, make_investigator
) -> None:
    view = ready_contract(platform, investor, borrower, runtime, client)
    platform.file(investor, borrower)  # a second, unsigned
    wang = make_investigator()
    li = make_investigator("Officer Li")
    case = open_case(wang, {"platform_id": platform.platform_id})
    assert error_of(wang.get(f"/cases/{case}/contracts")) == (403, "forbidden")
    approve(runtime, case)
    assert error_of(li.get(f"/cases/{case}/contracts")) == (404, "not_found")
    listing = wang.get(f"/cases/{case}/contracts").get_json()
    assert (listing["in_scope"], listing["sealed"]) == (2, 1)
    ready = {item["contract_id"]: item["evidence_ready"] for item in listing["contracts"]}
    assert ready[view["contract_id"]] is True
    assert sum(ready.values()) == 1
    with runtime.db.read() as session:
        actions = list(session.execute(select(AuditEntry.action).where(AuditEntry.case_id == case)).scalars())
    assert "case.contracts" in actions


def test_a_download_ticket_works_once_for_its_case_and_expires(
    runtime: Any, client: Any, clock: Any, platform: Any, investor: Any, borrower: Any, make_investigator
) -> None:
    ready_contract(platform, investor, borrower, runtime, client)
    wang = make_investigator()
    case = open_case(wang, {"platform_id": platform.platform_id})
    assert error_of(wang.post(f"/cases/{case}/export/ticket")) == (403, "forbidden")
    approve(runtime, case)
    other = open_case(wang, {"platform_id": platform.platform_id}, "2026-0002")
    approve(runtime, other)

    issued = wang.post(f"/cases/{case}/export/ticket").get_json()
    assert issued["ticket"].startswith("ntd_")
    assert issued["url"] == f"/api/v1/cases/{case}/export?ticket={issued['ticket']}"
    # Not a bearer token, and not for another case.
    assert error_of(client.get("/api/v1/cases", headers={"Authorization": f"Bearer {issued['ticket']}"})) == (
        401,
        "unauthenticated",
    )
    assert error_of(client.get(f"/api/v1/cases/{other}/export?ticket={issued['ticket']}")) == (
        401,
        "unauthenticated",
    )

    issued = wang.post(f"/cases/{case}/export/ticket").get_json()
    answer = client.get(issued["url"])
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(answer.data)) as export:
        assert sum(name.startswith("bundles/") for name in export.namelist()) == 1
    assert error_of(client.get(issued["url"])) == (401, "unauthenticated")  # used up

    late = wang.post(f"/cases/{case}/export/ticket").get_json()
    clock.advance(seconds=61)
    assert error_of(client.get(late["url"])) == (401, "unauthenticated")


def test_a_revoked_investigator_s_tickets_stop(
    runtime: Any, client: Any, platform: Any, make_investigator
) -> None:
    wang = make_investigator()
    case = open_case(wang, {"platform_id": platform.platform_id})
    approve(runtime, case)
    issued = wang.post(f"/cases/{case}/export/ticket").get_json()
    investigator_id = wang.get(f"/cases/{case}").get_json()["investigator_id"]
    runtime.investigators.revoke(investigator_id, operator="op")
    assert error_of(client.get(issued["url"])) == (401, "unauthenticated")
