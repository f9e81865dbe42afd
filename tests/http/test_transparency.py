"""Each platform's public record, checked on a population built here: counts per status, principal
per month, the median start-to-filing delay, reports, defunct; CSV equal to JSON; aggregated in
SQL; nothing personal; the notices; following; the Atom feed."""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import io
import statistics
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import event

from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from notary.services.transparency.feed import platform_feed
from notary.services.transparency.service import Transparency
from notary.verify.times import parse_rfc3339
from tests.http.test_reports import lodge, report_body
from tests.support.access import Caller, login
from tests.support.people import Person
from tests.support.platforms import new_platform, sign_body

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def figures(runtime):
    """The service's figures, kept for no time (the default is a minute)."""
    settings = dataclasses.replace(runtime.settings, transparency_cache=0.0, report_notice_threshold=2)
    runtime.transparency = Transparency(runtime.db, runtime.clock, settings)
    return runtime.transparency


def beijing_month(received_at: str) -> str:
    return (parse_rfc3339(received_at) + dt.timedelta(hours=8)).strftime("%Y-%m")


def delay_days(received_at: str, start_date: str) -> int:
    filed = (parse_rfc3339(received_at) + dt.timedelta(hours=8)).date()
    return (filed - dt.date.fromisoformat(start_date)).days


@pytest.fixture
def population(runtime, client, platform, investor, borrower, figures):
    """Seven contracts on one platform, over two months: two sealed, one signed, one declined,
    one expired by the sweep, one past its deadline, one awaiting; three reports."""
    filed = []

    def file(amount, start, **terms):
        contract = platform.file(investor, borrower, document=f"contract {len(filed)}".encode(), amount=amount,
                                 start_date=start, **terms)  # fmt: skip
        contract["received_at"] = platform.get(f"/contracts/{contract['contract_id']}").get_json()[
            "received_at"
        ]
        contract["amount"], contract["start_date"] = amount, start
        filed.append(contract)
        return contract

    def sign(contract, *roles):
        for role in roles:
            person = investor if role == "investor" else borrower
            answer = client.post(
                f"/api/v1/contracts/{contract['contract_id']}/signatures",
                json=sign_body(person, contract, role),
            )
            assert answer.status_code == 200, answer.get_json()

    sealed = [file("1000.00", "2026-01-01"), file("2000.50", "2026-01-03")]
    for contract in sealed:
        sign(contract, "investor", "borrower")
    runtime.sequencer.seal_pending()
    declined = file("300.00", "2026-01-05")
    decline = platform.get(
        f"/contracts/{declined['contract_id']}/signing-payload?role=borrower&purpose=decline"
    )
    payload = base64.b64decode(decline.get_json()["payload_base64"])
    answer = client.post(
        f"/api/v1/contracts/{declined['contract_id']}/decline",
        json={"role": "borrower", "signature": borrower.sign_b64(payload), "reason": "no"},
    )
    assert answer.status_code == 200, answer.get_json()
    runtime.clock.advance(days=35)
    soon = (runtime.clock() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    file("5.00", "2026-02-01", sign_by=soon)
    file("7.00", "2026-02-01", sign_by=soon)
    runtime.clock.advance(days=2)
    runtime.chores.expire_overdue()  # swept and expiring both expire; one more is filed after
    signed = file("40.00", "2026-02-10")
    sign(signed, "investor", "borrower")
    waiting = file("50.00", "2026-02-11")
    overdue_soon = (runtime.clock() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    overdue = file("60.00", "2026-02-12", sign_by=overdue_soon)
    runtime.clock.advance(hours=2)  # past its deadline, not swept: counted as expired all the same
    reporters = [Person(f"举报人{i}") for i in range(3)]
    for index, person in enumerate(reporters):
        platform.enrol(person)
        body = report_body(person, platform.platform_id, runtime=runtime, document=f"hidden {index}".encode())
        assert lodge(client, person, body).status_code == 201
    late = platform.file(reporters[0], borrower, document=b"hidden 0")
    assert runtime.report_ledger.mark_filed_late() == 1
    late["received_at"] = platform.get(f"/contracts/{late['contract_id']}").get_json()["received_at"]
    late["amount"], late["start_date"] = "10000.00", "2026-12-01"
    filed.append(late)
    return {
        "filed": filed,
        "statuses": {
            "sealed": 2,
            "declined": 1,
            "expired": 3,
            "signed": 1,
            "awaiting_signatures": 2,
        },
        "waiting": waiting,
        "overdue": overdue,
    }


def test_the_figures_of_a_population_built_here(client, platform, population, figures):
    answer = client.get(f"/api/v1/platforms/{platform.platform_id}/transparency")
    assert answer.status_code == 200
    data = answer.get_json()
    filed = population["filed"]

    assert data["platform"]["platform_id"] == platform.platform_id
    assert data["platform"]["status"] == "active"
    assert data["contracts"] == {"filed": len(filed), **population["statuses"]}

    months: dict[str, list[int]] = {}
    for contract in filed:
        units, cents = contract["amount"].split(".")
        months.setdefault(beijing_month(contract["received_at"]), []).append(int(units) * 100 + int(cents))
    assert [(m["month"], m["currency"], m["contracts"], m["principal_fen"]) for m in data["months"]] == [
        (month, "CNY", len(amounts), sum(amounts)) for month, amounts in sorted(months.items())
    ]
    total = sum(sum(amounts) for amounts in months.values())
    assert data["principal"] == [
        {"currency": "CNY", "principal_fen": total, "principal": f"{total // 100}.{total % 100:02d}"}
    ]
    expected_median = statistics.median(delay_days(c["received_at"], c["start_date"]) for c in filed)
    assert data["filing_delay_days"] == {"median": expected_median}
    assert data["reports"] == {"open": 2, "filed_late": 1, "reporters": 3}
    assert data["last_filing_at"] == max(c["received_at"] for c in filed)
    assert {"kind": "open_reports", "open": 2, "threshold": 2} in data["notices"]


def test_the_list_csv_and_the_month_csv_say_what_the_json_says(client, platform, population, figures):
    listed = client.get("/api/v1/platforms").get_json()["platforms"]
    (mine,) = [item for item in listed if item["platform"]["platform_id"] == platform.platform_id]
    one = client.get(f"/api/v1/platforms/{platform.platform_id}/transparency").get_json()
    assert {k: v for k, v in mine.items() if k != "computed_at"} == {
        k: v for k, v in one.items() if k != "computed_at"
    }

    answer = client.get("/api/v1/platforms.csv")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    (row,) = [r for r in csv.DictReader(io.StringIO(text[1:])) if r["platform_id"] == platform.platform_id]
    assert int(row["contracts_filed"]) == one["contracts"]["filed"]
    for status in ("awaiting_signatures", "signed", "sealed", "declined", "expired"):
        assert int(row[status]) == one["contracts"][status]
    assert int(row["principal_fen"]) == one["principal"][0]["principal_fen"]
    assert float(row["median_filing_delay_days"]) == one["filing_delay_days"]["median"]
    assert (int(row["reports_open"]), int(row["reports_filed_late"])) == (2, 1)

    months_csv = client.get(f"/api/v1/platforms/{platform.platform_id}/transparency.csv").get_data(
        as_text=True
    )
    rows = list(csv.DictReader(io.StringIO(months_csv[1:])))
    assert [(r["month"], int(r["contracts"]), int(r["principal_fen"])) for r in rows] == [
        (m["month"], m["contracts"], m["principal_fen"]) for m in one["months"]
    ]


def test_nothing_personal_and_nothing_per_document(client, platform, population, investor, borrower, figures):
    bodies = [
        client.get("/api/v1/platforms").get_data(),
        client.get(f"/api/v1/platforms/{platform.platform_id}/transparency").get_data(),
        client.get("/api/v1/platforms.csv").get_data(),
        client.get(f"/api/v1/platforms/{platform.platform_id}/transparency.csv").get_data(),
        client.get(f"/platforms/{platform.platform_id}/feed.atom").get_data(),
    ]
    secrets = [
        investor.name,
        borrower.name,
        investor.id_number,
        investor.party_id,
        investor.public.fingerprint,
    ]
    secrets += [contract["contract_id"] for contract in population["filed"]]
    secrets += [contract["document_sha256"] for contract in population["filed"]]
    for body in bodies:
        for secret in secrets:
            assert secret.encode() not in body, secret


def test_figures_are_aggregated_in_sql(runtime, client, platform, population, figures):
    """The statements read counts and sums, never a contract's row, and their number does not
    grow with the contracts."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        figures.platform(platform.platform_id)
        first = len(seen)
        platform.file(*_two_people(platform), document=b"one more")
        seen.clear()
        figures.platform(platform.platform_id)
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", record)
    assert len(seen) == first
    for statement in seen:
        assert "terms_json" not in statement
        assert "document_sha256" not in statement
        if "FROM contracts" in statement:
            assert "count(" in statement or "max(" in statement, statement


def _two_people(platform):
    people = Person("甲"), Person("乙")
    for person in people:
        platform.enrol(person)
    return people


def test_defunct_since_when_and_the_cache(runtime, client):
    other = new_platform(runtime, client, "Collapsed Lending")
    first = client.get(f"/api/v1/platforms/{other.platform_id}/transparency").get_json()
    assert first["notices"] == []
    with runtime.db.write() as session:
        mark_defunct(session, other.platform_id, now=now_text(runtime.clock))
    # The figures are kept for a minute (computed_at says when) ...
    assert client.get(f"/api/v1/platforms/{other.platform_id}/transparency").get_json() == first
    runtime.clock.advance(seconds=61)
    later = client.get(f"/api/v1/platforms/{other.platform_id}/transparency").get_json()
    assert later["platform"]["status"] == "defunct"
    assert later["notices"] == [{"kind": "defunct", "since": later["platform"]["defunct_at"]}]
    assert client.get("/api/v1/platforms/pl_NOSUCH/transparency").status_code == 404


def test_filings_that_stop_for_longer_than_usual(runtime, client, figures):
    platform = new_platform(runtime, client, "Daily Lending")
    people = _two_people(platform)
    for day in range(6):
        platform.file(*people, document=f"day {day}".encode())
        runtime.clock.advance(days=1)
    notices = client.get(f"/api/v1/platforms/{platform.platform_id}/transparency").get_json()["notices"]
    assert notices == []  # a day since the last filing: usual
    runtime.clock.advance(days=2, hours=1)  # more than 3 days (the floor; twice the usual 1 day is less)
    data = client.get(f"/api/v1/platforms/{platform.platform_id}/transparency").get_json()
    (stopped,) = data["notices"]
    assert stopped["kind"] == "filings_stopped"
    assert stopped["usual_gap_days"] == 1
    assert stopped["last_filing_at"] == data["last_filing_at"]


def test_following(runtime, client, platform, investor, borrower, figures):
    platform.file(investor, borrower)
    other = new_platform(runtime, client, "Other Lending")
    caller = Caller(client, login(client, investor))
    followed = caller.get("/me/follows").get_json()["platforms"]
    assert [(p["platform_id"], p["followed"]) for p in followed] == [(platform.platform_id, "automatic")]

    assert (
        caller.client.put(f"/api/v1/me/follows/{other.platform_id}", headers=caller.headers).status_code
        == 201
    )
    assert (
        caller.client.put(f"/api/v1/me/follows/{other.platform_id}", headers=caller.headers).status_code
        == 200
    )
    with runtime.db.write() as session:
        mark_defunct(session, other.platform_id, now=now_text(runtime.clock))
    followed = {p["platform_id"]: p for p in caller.get("/me/follows").get_json()["platforms"]}
    assert followed[other.platform_id]["followed"] == "chosen"
    assert followed[other.platform_id]["notices"][0]["kind"] == "defunct"

    delete = caller.client.delete
    assert delete(f"/api/v1/me/follows/{platform.platform_id}", headers=caller.headers).status_code == 409
    assert delete(f"/api/v1/me/follows/{other.platform_id}", headers=caller.headers).status_code == 204
    assert delete(f"/api/v1/me/follows/{other.platform_id}", headers=caller.headers).status_code == 404
    assert caller.client.put("/api/v1/me/follows/pl_NOSUCH", headers=caller.headers).status_code == 404
    assert client.get("/api/v1/me/follows").status_code == 401


def test_the_atom_feed(runtime, client, platform, population, figures):
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, now=now_text(runtime.clock))
    answer = client.get(f"/platforms/{platform.platform_id}/feed.atom")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(answer.get_data())
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    entries = feed.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        parse_rfc3339(entry.findtext(f"{ATOM}updated"))
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    assert any(i.endswith("#defunct") for i in ids)
    assert any(i.endswith("#open-reports") for i in ids)
    assert sum("#month-" in i for i in ids) == 2
    assert client.get("/platforms/pl_NOSUCH/feed.atom").status_code == 404


def test_a_feed_escapes_what_it_is_given():
    from notary.services.transparency.figures import PlatformFigures

    figures = PlatformFigures("pl_1", "<script>&</script>", "active", "2026-01-01T00:00:00.000Z", None)
    feed = ET.fromstring(platform_feed(figures, public_url="http://127.0.0.1:8000/"))
    assert feed.findtext(f"{ATOM}title").startswith("<script>&</script>")
