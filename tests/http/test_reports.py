"""瞒报 reports over HTTP: lodged signed, refused replayed, forged or against no platform, logged as a
leaf, marked filed late when the platform files the document, and read by investigators of
that platform."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from sqlalchemy import delete, select

from notary.services.audit.integrity import run_audit
from notary.services.audit.reports import ReportAuditor, ReportLeafAuditor
from notary.storage.access_models import AuditEntry
from notary.storage.models import LogLeaf
from notary.storage.report_models import Report
from notary.verify import payloads
from notary.verify.reports import parse_report_leaf, parse_stored_report
from tests.support.access import Caller, approve, login, new_investigator, open_case
from tests.support.people import Person
from tests.support.platforms import DOCUMENT
from tests.support.reports import lodge, report_body

DIGEST = hashlib.sha256(DOCUMENT).hexdigest()


@pytest.fixture
def reporter(client, platform):
    person = Person("赵六")
    platform.enrol(person)
    return person


def error_of(response, status):
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]["code"]


def test_a_signed_report_is_stored_logged_and_listed(runtime, client, platform, reporter):
    response = lodge(
        client, reporter, report_body(reporter, platform.platform_id, runtime=runtime, attach=True)
    )
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["status"] == "open"
    assert report["leaf_index"] is None
    assert report["document_sha256"] == DIGEST
    assert report["document_attached"] is True
    assert report["claimed"] == {"amount": "10000.00", "start_date": "2026-12-01"}

    runtime.worker().run_once()
    with runtime.db.read() as session:
        row = session.get(Report, report["report_id"])
        leaf = session.get(LogLeaf, row.leaf_sequence)
        stored = parse_stored_report(row.report)
        stored.verify()
        logged = parse_report_leaf(leaf.record)
        actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert (logged.report_id, logged.report_sha256) == (row.id, hashlib.sha256(row.report).hexdigest())
    assert leaf.format == "notary-report/1"
    assert "report.lodge" in actions

    mine = Caller(client, login(client, reporter)).get("/me/reports").get_json()["reports"]
    assert [item["report_id"] for item in mine] == [report["report_id"]]
    assert mine[0]["leaf_index"] == row.leaf_sequence


def test_refusals_each_have_their_own_code_and_store_nothing(runtime, client, platform, reporter):
    # One login for the whole test: a login per attempt would meet the login rate limit.
    as_reporter = Caller(client, login(client, reporter))

    def lodge_once(body):
        return as_reporter.post("/reports", json=body)

    body = report_body(reporter, platform.platform_id, runtime=runtime)
    assert lodge_once(body).status_code == 201

    # Replayed: the same report again, or a new signature over another time for the same document.
    assert error_of(lodge_once(body), 409) == "report_replayed"
    runtime.clock.advance(seconds=5)
    again = report_body(reporter, platform.platform_id, runtime=runtime)
    assert error_of(lodge_once(again), 409) == "report_replayed"

    # Forged: a signature by another key, or over other bytes.
    other = Person("钱七")
    forged = report_body(reporter, platform.platform_id, runtime=runtime, document=b"another contract")
    forged["signature"] = other.sign_b64(base64.b64decode(forged["payload_base64"]))
    assert error_of(lodge_once(forged), 422) == "bad_report_signature"
    flipped = report_body(reporter, platform.platform_id, runtime=runtime, document=b"another contract")
    flipped["payload_base64"] = base64.b64encode(
        base64.b64decode(flipped["payload_base64"]).replace(b"10000.00", b"90000.00")
    ).decode()
    assert error_of(lodge_once(flipped), 422) == "bad_report_signature"

    # A platform that does not exist.
    nowhere = report_body(reporter, "pl_NOSUCHPLATFORM", runtime=runtime, document=b"another contract")
    assert error_of(lodge_once(nowhere), 422) == "unknown_platform"

    # Not a report payload, another key's payload, an old one, bad claims, an attachment that is not the document.
    login_bytes = payloads.login_payload(challenge_base64="AAAA", key_fingerprint=reporter.public.fingerprint)
    assert (
        error_of(
            lodge_once(
                {
                    "payload_base64": base64.b64encode(login_bytes).decode(),
                    "signature": reporter.sign_b64(login_bytes),
                },
            ),
            400,
        )
        == "malformed_report"
    )
    theirs = report_body(other, platform.platform_id, runtime=runtime, document=b"x")
    assert error_of(lodge_once(theirs), 422) == "validation_failed"
    old = payloads.format_time(runtime.clock() - dt.timedelta(days=2))
    stale = report_body(reporter, platform.platform_id, runtime=runtime, document=b"y", reported_at=old)
    assert error_of(lodge_once(stale), 422) == "validation_failed"
    bad_claim = report_body(
        reporter, platform.platform_id, runtime=runtime, document=b"z", claimed={"amount": "1,0"}
    )
    assert error_of(lodge_once(bad_claim), 422) == "validation_failed"
    wrong_file = report_body(reporter, platform.platform_id, runtime=runtime, document=b"w")
    wrong_file["document_base64"] = base64.b64encode(b"not w").decode()
    assert error_of(lodge_once(wrong_file), 422) == "validation_failed"

    with runtime.db.read() as session:
        assert session.execute(select(Report.id)).scalars().all() == [body_id(client, reporter)]


def body_id(client, person):
    return Caller(client, login(client, person)).get("/me/reports").get_json()["reports"][0]["report_id"]


def test_a_document_the_platform_filed_in_your_name_is_not_reported(
    runtime, client, platform, investor, borrower
):
    platform.file(investor, borrower)
    response = lodge(client, investor, report_body(investor, platform.platform_id, runtime=runtime))
    assert error_of(response, 409) == "document_filed"
    # Somebody else filed with that document is no match: the report is the stranger's own.
    stranger = Person("孙八")
    platform.enrol(stranger)
    assert (
        lodge(client, stranger, report_body(stranger, platform.platform_id, runtime=runtime)).status_code
        == 201
    )


def test_filed_late_with_the_delay(runtime, client, platform, investor, borrower):
    response = lodge(client, investor, report_body(investor, platform.platform_id, runtime=runtime))
    report_id = response.get_json()["report_id"]
    runtime.clock.advance(days=3, hours=2)
    filed = platform.file(investor, borrower)
    assert runtime.report_ledger.mark_filed_late() == 1

    (report,) = Caller(client, login(client, investor)).get("/me/reports").get_json()["reports"]
    assert report["report_id"] == report_id
    assert report["status"] == "filed_late"
    assert report["filed_late"]["contract_id"] == filed["contract_id"]
    assert 3 * 86400 + 2 * 3600 <= report["filed_late"]["delay_seconds"] < 3 * 86400 + 2 * 3600 + 60
    assert runtime.report_ledger.mark_filed_late() == 0


def test_a_contract_naming_someone_else_does_not_mark_the_report(
    runtime, client, platform, investor, borrower
):
    reporter = Person("周九")
    platform.enrol(reporter)
    lodge(client, reporter, report_body(reporter, platform.platform_id, runtime=runtime))
    platform.file(investor, borrower)  # the same document, for other people
    assert runtime.report_ledger.mark_filed_late() == 0


def test_investigators_of_the_platform_see_its_reports(runtime, client, platform, reporter):
    lodged = lodge(
        client, reporter, report_body(reporter, platform.platform_id, runtime=runtime, attach=True)
    )
    report_id = lodged.get_json()["report_id"]
    wang = new_investigator(runtime, client)
    case_id = open_case(wang, {"platform_id": platform.platform_id})
    assert error_of(wang.get(f"/cases/{case_id}/reports"), 403) == "forbidden"  # not approved yet
    approve(runtime, case_id)

    listed = wang.get(f"/cases/{case_id}/reports")
    assert listed.status_code == 200
    assert [r["report_id"] for r in listed.get_json()["reports"]] == [report_id]
    document = wang.get(f"/cases/{case_id}/reports/{report_id}/document")
    assert document.status_code == 200
    assert document.data == DOCUMENT

    person_case = open_case(wang, {"id_number": reporter.id_number}, number="2026-0002")
    approve(runtime, person_case)
    assert error_of(wang.get(f"/cases/{person_case}/reports"), 403) == "forbidden"
    li = new_investigator(runtime, client, "Officer Li")
    assert error_of(li.get(f"/cases/{case_id}/reports"), 404) == "not_found"
    with runtime.db.read() as session:
        actions = (
            session.execute(select(AuditEntry.action).where(AuditEntry.case_id == case_id)).scalars().all()
        )
    assert "case.reports.read" in actions
    assert "report.document.read" in actions


def test_audit_finds_a_deleted_report(runtime, client, platform, reporter):
    lodge(client, reporter, report_body(reporter, platform.platform_id, runtime=runtime))
    runtime.worker().run_once()
    auditors = [ReportAuditor(runtime.blobs), ReportLeafAuditor()]
    assert run_audit(runtime.db, auditors).clean

    with runtime.db.write() as session:
        session.execute(delete(Report))
    report = run_audit(runtime.db, auditors)
    assert not report.clean
    assert report.divergence.check == "report_leaves"
    assert "is missing from the database" in report.divergence.message


def test_audit_finds_a_changed_report(runtime, client, platform, reporter):
    lodge(client, reporter, report_body(reporter, platform.platform_id, runtime=runtime))
    runtime.worker().run_once()
    with runtime.db.write() as session:
        row = session.execute(select(Report)).scalar_one()
        row.report = row.report.replace(b"10000.00", b"90000.00")
        row.report_sha256 = hashlib.sha256(row.report).hexdigest()
    report = run_audit(runtime.db, [ReportAuditor(runtime.blobs), ReportLeafAuditor()])
    assert report.divergence.check == "reports"
    assert "bad_report_signature" in report.divergence.message
