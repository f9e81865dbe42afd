"""A police investigator at /cases: log in with the token, open a case, wait for approval, see
the contracts in scope, download the export with progress, and verify it on the verify page."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from tests.support.browser import PageProblems, axe_violations, screenshot
from tests.support.live_api import LivePlatform, operator


def test_open_a_case_and_export_it(
    page: Any,
    site: str,
    service: Any,
    platform: LivePlatform,
    sealed: dict[str, Any],
    axe: str,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    officer = operator(service, "investigator", "add", "王警官", "--agency", "某市公安局经侦支队")
    page.goto(f"{site}/cases")
    page.fill("#investigator-token", "nti_not-a-real-token")
    page.get_by_role("button", name="登录").click()
    page.wait_for_function("() => document.getElementById('cases-message').textContent.includes('未被接受')")
    page.fill("#investigator-token", officer["token"])
    page.get_by_role("button", name="登录").click()
    page.locator('#case-list[data-ready="yes"]').wait_for(state="attached")

    page.fill("#case-number", "京公经侦字〔2026〕001号")
    page.fill("#legal-basis", "《中华人民共和国刑事诉讼法》第五十四条")
    page.select_option("#scope-kind", "platform_id")
    page.fill("#scope-value", platform.platform_id)
    page.get_by_role("button", name="立案").click()
    card = page.locator("#case-list [data-case]").first
    card.wait_for()
    case_id = card.get_attribute("data-case")
    assert card.get_attribute("data-status") == "pending"
    assert "等待" in card.inner_text()
    assert axe_violations(page, axe) == []
    screenshot(page, "cases-pending-zh-CN")

    operator(service, "case", "approve", case_id, "--yes")
    page.reload()
    card = page.locator(f'[data-case="{case_id}"]')
    card.wait_for()
    assert card.get_attribute("data-status") == "approved"
    card.get_by_role("button", name="范围内的合同").click()
    card.locator(f'[data-contract="{sealed["contract_id"]}"]').wait_for()

    with page.expect_download() as downloaded:
        card.get_by_role("button", name="下载导出文件").click()
    export = Path(downloaded.value.path())
    assert card.locator("progress").evaluate("bar => bar.value === bar.max")
    with zipfile.ZipFile(export) as archive:
        names = archive.namelist()
    assert f"bundles/{sealed['contract_id']}.zip" in names
    assert "manifest.sig" in names
    assert axe_violations(page, axe) == []
    screenshot(page, "cases-exported-zh-CN")

    page.goto(f"{site}/verify")
    page.set_input_files("#bundle", str(export))
    page.get_by_role("button", name="核验", exact=True).click()
    report = page.locator("#report [data-verdict]")
    report.wait_for()
    assert report.get_attribute("data-kind") == "export"
    assert report.get_attribute("data-verdict") == "valid"
    screenshot(page, "verify-export-zh-CN")
    # The ticket is spent: its address opens nothing any more.
    assert page.evaluate("() => sessionStorage.getItem('notary.token.investigator')") == officer["token"]
