"""A court clerk at /verify: a genuine bundle reads VALID in plain words and downloads as JSON
and as a signed PDF; a tampered one reads INVALID with the failing check named; a file that is
no bundle gets a message saying what to do."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from tests.support.browser import PageProblems, axe_violations, screenshot
from tests.support.live_api import DOCUMENT, LivePlatform

TIMINGS: dict[str, int] = {}


def tamper_terms(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "terms.json":
                content = content.replace(b'"123456.78"', b'"923456.78"')
            target.writestr(info.filename, content)
    return out.getvalue()


def verify(page: Any, bundle: Path, document: Path | None = None, button: str = "核验") -> Any:
    page.set_input_files("#bundle", str(bundle))
    if document is not None:
        page.set_input_files("#document", str(document))
    page.get_by_role("button", name=button, exact=True).click()
    article = page.locator("#report [data-verdict]")
    article.wait_for()
    return article


def test_a_genuine_bundle_then_a_tampered_one(
    page: Any,
    site: str,
    platform: LivePlatform,
    sealed: dict[str, Any],
    axe: str,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    evidence = platform.get(f"/contracts/{sealed['contract_id']}/evidence")
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(evidence.body)
    document = tmp_path / "contract.pdf"
    document.write_bytes(DOCUMENT)
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))  # noqa: PLW0108 - Playwright needs a Python function

    page.goto(f"{site}/verify")
    article = verify(page, bundle, document)
    assert article.get_attribute("data-verdict") == "valid"
    TIMINGS["genuine"] = int(page.locator("#report").get_attribute("data-elapsed-ms"))
    text = page.locator("#report").inner_text()
    assert "有效" in text
    assert "123456.78 CNY" in text
    assert "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分" in text
    assert "您手中的文件与双方签署的文件完全一致" in text
    assert page.locator('[data-status="passed"]').count() == page.locator("[data-check]").count() >= 12
    # Only the document's fingerprint is in the form, never the document: its input has no name.
    assert page.locator("#document").get_attribute("name") is None
    assert page.locator("#document_sha256").input_value() == hashlib.sha256(DOCUMENT).hexdigest()
    assert any(r.method == "POST" and r.url.endswith("/verify") for r in requests)
    assert axe_violations(page, axe) == []
    screenshot(page, "verify-valid-zh-CN")

    with page.expect_download() as downloaded:
        page.get_by_role("button", name="下载报告（JSON）").click()
    report = json.loads(Path(downloaded.value.path()).read_bytes())
    assert report["valid"] is True
    assert report["contract_id"] == sealed["contract_id"]
    assert report["record_sha256"] == sealed["evidence"]["record_sha256"]
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="下载带签名的验证报告（PDF）").click()
    pdf = Path(downloaded.value.path())
    signature = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False).stdout
    assert "Verification Reports" in signature
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "验证报告" in text
    assert sealed["evidence"]["record_sha256"][:40] in text.replace("\n", "")

    forged = tmp_path / "forged.zip"
    forged.write_bytes(tamper_terms(evidence.body))
    article = verify(page, forged)
    assert article.get_attribute("data-verdict") == "invalid"
    banner = page.locator("#report .banner.bad").inner_text()
    assert "无效" in banner
    assert "合同条款" in banner
    assert page.locator('[data-check="terms_digest"]').get_attribute("data-status") == "failed"
    assert axe_violations(page, axe) == []
    screenshot(page, "verify-invalid-zh-CN")


def test_a_certificate_pdf_reads_like_a_bundle(
    page: Any,
    site: str,
    platform: LivePlatform,
    sealed: dict[str, Any],
    axe: str,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    """A clerk holding only the certificate PDF (and the paper contract's file): the same
    answer page, completed from this notary's log; a tampered PDF names the signature."""
    answer = platform.get(f"/contracts/{sealed['contract_id']}/certificate")
    assert answer.status == 200
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(answer.body)
    document = tmp_path / "contract.pdf"
    document.write_bytes(DOCUMENT)

    page.goto(f"{site}/verify")
    article = verify(page, certificate, document)
    assert article.get_attribute("data-verdict") == "valid"
    assert article.get_attribute("data-kind") == "certificate"
    text = page.locator("#report").inner_text()
    assert "证书完整，由本公证服务签署" in text
    assert "证书编号" in text
    assert "证书内附带" in text  # record/2: the certificate carries its record
    assert "123456.78 CNY" in text
    assert "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分" in text
    assert "您手中的文件与双方签署的文件完全一致" in text
    for name in ("pdf_signature", "pdf_timestamp", "pdf_no_later_updates", "pdf_record", "pdf_facts"):
        assert page.locator(f'[data-check="{name}"]').get_attribute("data-status") == "passed", name
    assert page.locator('[data-status="passed"]').count() == page.locator("[data-check]").count() >= 15
    assert page.locator("[data-gaps]").count() == 0  # nothing left unestablished
    assert page.get_by_role("button", name="下载带签名的验证报告（PDF）").count() == 0  # bundles only
    assert axe_violations(page, axe) == []
    screenshot(page, "verify-certificate-zh-CN")
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="下载报告（JSON）").click()
    report = json.loads(Path(downloaded.value.path()).read_bytes())
    assert report["subject"] == "notary-certificate/1"
    assert report["record_sha256"] == sealed["evidence"]["record_sha256"]

    tampered = bytearray(answer.body)
    tampered[answer.body.index(b"/Contents", 1000) - 300] ^= 0x01
    forged = tmp_path / "tampered.pdf"
    forged.write_bytes(bytes(tampered))
    article = verify(page, forged)
    assert article.get_attribute("data-verdict") == "invalid"
    assert "公证方对证书的签名" in page.locator("#report .banner.bad").inner_text()
    assert page.locator('[data-check="pdf_signature"]').get_attribute("data-status") == "failed"
    assert axe_violations(page, axe) == []
    screenshot(page, "verify-certificate-tampered-zh-CN")


def test_a_file_that_is_no_bundle_gets_told_what_to_do(
    page: Any, site: str, tmp_path: Path, axe: str
) -> None:
    notes = tmp_path / "notes.zip"
    notes.write_bytes(b"these are my notes, not a zip")
    page.goto(f"{site}/verify?lang=en")
    page.set_input_files("#bundle", str(notes))
    page.get_by_role("button", name="Verify", exact=True).click()
    page.locator('#report [data-verdict="unusable"]').wait_for()
    assert "Choose the .zip file you downloaded" in page.locator("#report").inner_text()
    assert axe_violations(page, axe) == []
    screenshot(page, "verify-not-a-bundle-en")


def test_time_to_verify_a_typical_bundle(
    page: Any, site: str, platform: LivePlatform, sealed: dict[str, Any], tmp_path: Path
) -> None:
    """The figure for the closing note: submit to report on screen, five runs (median printed)."""
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(platform.get(f"/contracts/{sealed['contract_id']}/evidence").body)
    page.goto(f"{site}/verify?lang=en")
    runs = []
    for _ in range(5):
        verify(page, bundle, button="Verify")
        runs.append(int(page.locator("#report").get_attribute("data-elapsed-ms")))
    runs.sort()
    print(
        f"\nverify page: bundle {bundle.stat().st_size} bytes, submit-to-report ms {runs}, median {runs[2]}"
    )
    assert runs[2] < 10_000
