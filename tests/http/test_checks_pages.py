"""The pages of 核验 through the test client: the platforms' public pages, and the fragments
``/me`` asks for with a party token (a check's answer, followed platforms, one's reports)."""

from __future__ import annotations

import hashlib

from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from tests.http.test_reports import lodge, report_body
from tests.support.access import login
from tests.support.people import Person
from tests.support.platforms import DOCUMENT


def test_the_platforms_pages_in_both_languages(runtime, client, platform, investor, borrower):
    platform.file(investor, borrower)
    page = client.get("/platforms")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Example Lending" in text
    assert f'data-platform="{platform.platform_id}"' in text
    assert "<script>" not in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]

    one = client.get(f"/platforms/{platform.platform_id}")
    assert one.status_code == 200
    text = one.get_data(as_text=True)
    assert "已备案" in text  # Chinese first
    assert 'data-figure="filed">1<' in text
    assert f'href="/platforms/{platform.platform_id}/feed.atom"' in text
    assert 'type="application/atom+xml"' in text
    english = client.get(f"/platforms/{platform.platform_id}?lang=en").get_data(as_text=True)
    assert "Principal filed per month" in english
    assert investor.name not in english
    assert client.get("/platforms/pl_NOSUCH").status_code == 404


def test_a_defunct_platform_says_so_on_its_page(runtime, client, platform):
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, now=now_text(runtime.clock))
    runtime.clock.advance(minutes=2)  # past the figures' minute
    text = client.get(f"/platforms/{platform.platform_id}?lang=en").get_data(as_text=True)
    assert 'data-notice="defunct"' in text
    assert "Marked defunct" in text


def _fragment(client, path, token, **kwargs):
    method = client.post if "json" in kwargs else client.get
    return method(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_the_check_fragment(client, platform, investor, borrower):
    platform.file(investor, borrower)
    token = login(client, investor)
    filed = _fragment(
        client, "/me/check?lang=en", token, json={"document_sha256": hashlib.sha256(DOCUMENT).hexdigest()}
    )
    assert filed.status_code == 200
    assert filed.headers["Cache-Control"] == "no-store"
    text = filed.get_data(as_text=True)
    assert 'data-result="filed"' in text
    assert 'data-report="yes"' not in text
    assert "人民币壹万元整" in text

    missing = _fragment(client, "/me/check?lang=en", token, json={"document_sha256": "0" * 64})
    text = missing.get_data(as_text=True)
    assert 'data-result="not_filed"' in text
    assert 'data-report="yes"' in text
    assert f'value="{platform.platform_id}"' in text

    bad = _fragment(client, "/me/check?lang=en", token, json={"document_sha256": "xyz"})
    assert bad.status_code == 422
    assert 'data-problem="validation_failed"' in bad.get_data(as_text=True)
    assert client.post("/me/check", json={"document_sha256": "0" * 64}).status_code == 401


def test_the_follows_and_reports_fragments(runtime, client, platform, investor, borrower):
    platform.file(investor, borrower)
    reporter = Person("赵六")
    platform.enrol(reporter)
    lodge(client, reporter, report_body(reporter, platform.platform_id, runtime=runtime, document=b"hidden"))
    token = login(client, reporter)
    follows = _fragment(client, "/me/follows?lang=en", token).get_data(as_text=True)
    assert 'data-empty="yes"' in follows  # no contract of the reporter's: nothing followed yet
    reports = _fragment(client, "/me/reports?lang=en", token).get_data(as_text=True)
    assert 'data-report-status="open"' in reports

    investor_follows = _fragment(client, "/me/follows?lang=en", login(client, investor)).get_data(
        as_text=True
    )
    assert f'data-followed="{platform.platform_id}"' in investor_follows
    assert 'data-how="automatic"' in investor_follows
    assert client.get("/me/follows").status_code == 401
