"""核验 in the browser: a person checks a copy (fingerprinted in the page, never uploaded), finds
one not filed and reports it, signed with the key file; sees the platforms followed and the
report; the platforms' public pages and their feed."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.support.browser import axe_violations, screenshot
from tests.support.live_api import DOCUMENT, LivePlatform, call, operator
from tests.support.people import Person, resident_id
from tests.support.server import notary


def _key_file_person(service: Any, platform: LivePlatform, folder: Path, name: str) -> str:
    notary(["keygen", "--out", str(folder)], service.env)
    body = json.loads(
        notary(
            ["enrol", "--key", str(folder), "--platform-id", platform.platform_id, "--name", name,
             "--id-number", resident_id()],
            service.env,
        )
    )  # fmt: skip
    return platform.enrol_body(body)


def test_check_a_copy_and_report_what_was_not_filed(
    page: Any, site: str, service: Any, platform: LivePlatform, borrower: Person, axe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "key"
    party_id = _key_file_person(service, platform, folder, "周八")
    filed = platform.file(party_id, str(borrower.party_id))
    (tmp_path / "filed.pdf").write_bytes(DOCUMENT)
    hidden = b"%PDF-1.4\n% a contract the platform kept to itself\n"
    (tmp_path / "hidden.pdf").write_bytes(hidden)

    page.goto(f"{site}/me?lang=en")
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))  # noqa: PLW0108 - Playwright needs a Python function
    page.set_input_files("#key-file", str(folder / "private.pem"))
    page.get_by_role("button", name="Log in with this key file").click()
    page.locator('#contracts[data-ready="yes"]').wait_for()
    page.locator('#my-reports[data-ready="yes"]').wait_for()
    assert page.locator(f'#follows [data-followed="{platform.platform_id}"]').count() == 1

    # The copy the platform filed: found, awaiting signatures.
    page.set_input_files("#check-file", str(tmp_path / "filed.pdf"))
    page.get_by_role("button", name="Check", exact=True).click()
    page.locator('#check-answer [data-result="filed"]').wait_for()
    assert page.locator(f'#check-answer [data-checked="{filed["contract_id"]}"]').count() == 1
    assert axe_violations(page, axe) == []
    screenshot(page, "check-filed-en")

    # A copy nobody filed: not filed, reported with the key, then listed as open.
    page.set_input_files("#check-file", str(tmp_path / "hidden.pdf"))
    page.locator("summary", has_text="What the platform told you").click()
    page.fill("#check-amount", "50000.00")
    page.fill("#check-start", "2026-12-01")
    page.get_by_role("button", name="Check", exact=True).click()
    page.locator('#check-answer [data-result="not_filed"]').wait_for()
    page.select_option("#report-platform", platform.platform_id)
    page.check("#report-attach")
    screenshot(page, "check-not-filed-en")
    page.get_by_role("button", name="Sign and lodge the report").click()
    page.locator('#my-reports [data-report-status="open"]').wait_for()
    assert "is lodged" in page.locator("#check-message").inner_text()
    assert axe_violations(page, axe) == []
    screenshot(page, "report-lodged-en")

    # Only the fingerprint of a checked file left the page; the attachment went with the report only.
    secret = hidden.decode()
    checks = [r for r in requests if r.url.endswith("/me/check?lang=en")]
    assert checks
    assert all(secret not in (r.post_data or "") for r in checks)
    assert all(
        (folder / "private.pem").read_text().splitlines()[1] not in (r.post_data or "") for r in requests
    )

    # The same report again is refused, in words.
    page.get_by_role("button", name="Check", exact=True).click()
    page.locator('#check-answer [data-result="not_filed"]').wait_for()
    page.select_option("#report-platform", platform.platform_id)
    page.get_by_role("button", name="Sign and lodge the report").click()
    page.wait_for_function("() => document.getElementById('check-message').textContent.includes('already')")

    # The platform's public record counts it (after its minute of cache at most).
    figures = call("GET", f"{service.base}/platforms/{platform.platform_id}/transparency").json()
    assert figures["platform"]["platform_id"] == platform.platform_id
    digest = hashlib.sha256(hidden).hexdigest()
    mine = call("GET", f"{service.base}/me/reports", token=page.evaluate(
        "() => sessionStorage.getItem('notary.token.party')")).json()["reports"]  # fmt: skip
    assert [report["document_sha256"] for report in mine] == [digest]
    assert mine[0]["document_attached"] is True


def test_the_platforms_pages_and_feed(page: Any, site: str, service: Any, axe: str) -> None:
    lending = LivePlatform.add(service, "透明借贷平台")
    investor, borrower = Person("吴九"), Person("郑十")
    lending.enrol(investor)
    lending.enrol(borrower)
    lending.file(str(investor.party_id), str(borrower.party_id))
    collapsed = LivePlatform.add(service, "倒闭借贷平台")
    operator(service, "platform", "defunct", collapsed.platform_id)

    page.goto(f"{site}/platforms")
    page.locator(f'[data-platform="{lending.platform_id}"]').wait_for()
    assert axe_violations(page, axe) == []
    screenshot(page, "platforms-zh-CN")

    page.goto(f"{site}/platforms/{collapsed.platform_id}")
    page.locator('[data-notice="defunct"]').wait_for()
    assert axe_violations(page, axe) == []
    screenshot(page, "platform-defunct-zh-CN")

    page.goto(f"{site}/platforms/{lending.platform_id}?lang=en")
    assert page.locator('[data-figure="filed"]').first.inner_text() == "1"
    assert page.locator("table.months tbody tr").count() == 1
    assert page.locator("#follow-login").is_visible()
    assert axe_violations(page, axe) == []
    screenshot(page, "platform-en")
    feed = call("GET", f"{site}/platforms/{collapsed.platform_id}/feed.atom")
    assert feed.status == 200
    entries = ET.fromstring(feed.body).findall("{http://www.w3.org/2005/Atom}entry")
    assert any(entry.findtext("{http://www.w3.org/2005/Atom}id").endswith("#defunct") for entry in entries)
