"""The certificate's QR code, scanned: a browser gets the contract's public facts, an API client
gets the JSON proof, from the very same address."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.support.browser import PageProblems, axe_violations, screenshot
from tests.support.live_api import LivePlatform, call


def qr_address(certificate: bytes, folder: Path) -> str:
    """Decode the QR code printed on the certificate PDF, as a phone camera would."""
    pdf = folder / "certificate.pdf"
    pdf.write_bytes(certificate)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(pdf), str(folder / "page")], check=True
    )
    png = next(folder.glob("page*.png"))
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    )
    return decoded.stdout.strip()


def test_scanning_the_certificate_opens_its_public_facts(
    page: Any,
    platform: LivePlatform,
    sealed: dict[str, Any],
    site: str,
    axe: str,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    certificate = platform.get(f"/contracts/{sealed['contract_id']}/certificate")
    assert certificate.status == 200
    address = qr_address(certificate.body, tmp_path)
    record = sealed["evidence"]["record_sha256"]
    assert address == f"{site}/api/v1/r/{record}"

    # An API client at that address: the JSON proof.
    answer = call("GET", address, headers={"Accept": "application/json"})
    assert answer.status == 200
    assert answer.json()["leaf_index"] == sealed["evidence"]["leaf_index"]
    assert call("GET", address).json()["record_sha256"] == record  # no Accept at all: JSON too

    # A browser at that address: the page, in Chinese first.
    page.goto(address)
    assert page.url == f"{site}/r/{record}"
    main = page.locator("main")
    assert "这条记录在公证日志中" in main.inner_text()
    facts = main.locator("dl.facts").inner_text()
    assert "已封存" in facts
    assert "示例借贷平台" in facts
    assert "张*" in facts
    assert "李*" in facts
    assert "张三" not in main.inner_text()
    assert "李四" not in main.inner_text()
    assert "123456" not in main.inner_text()  # the amount is not a public fact
    assert sealed["contract_id"] in facts
    assert axe_violations(page, axe) == []
    screenshot(page, "record-zh-CN")

    page.get_by_role("link", name="English").click()
    assert "This record is in the notary's log" in page.locator("main").inner_text()
    assert axe_violations(page, axe) == []
    screenshot(page, "record-en")
    page.get_by_role("link", name="Verify the evidence bundle").click()
    assert page.url.startswith(f"{site}/verify?")
    assert record in page.url


def test_an_unknown_record_says_the_certificate_may_be_forged(page: Any, site: str, axe: str) -> None:
    response = page.goto(f"{site}/api/v1/r/{'ab' * 32}")
    assert response.status == 404
    assert "公证日志中没有这条记录" in page.locator("main").inner_text()
    assert axe_violations(page, axe) == []
    screenshot(page, "record-unknown-zh-CN")
