"""The verify page and the QR landing through the test client: the report a person reads, the
signed PDF report, and what is never in it."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from typing import Any

import pytest

from notary.verify.canonical import canonical_json, parse_json
from tests.support.limits import limited_client
from tests.support.platforms import sign_body


def ready_contract(platform: Any, investor: Any, borrower: Any, runtime: Any, client: Any) -> dict[str, Any]:
    filed = platform.file(investor, borrower, title="个人借款合同", amount="123456.78")
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
    view = platform.get(f"/contracts/{filed['contract_id']}").get_json()
    assert view["evidence"]["ready"] is True
    return view


@pytest.fixture
def bundle(
    platform: Any, investor: Any, borrower: Any, runtime: Any, client: Any
) -> tuple[dict[str, Any], bytes]:
    view = ready_contract(platform, investor, borrower, runtime, client)
    answer = platform.get(f"/contracts/{view['contract_id']}/evidence")
    assert answer.status_code == 200
    return view, answer.data


def tampered(data: bytes, member: str, change: Any) -> bytes:
    """The bundle with one member changed (and nothing else: the manifest still lists the old hash)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


def post_verify(client: Any, data: bytes, **form: Any) -> Any:
    return client.post(
        "/verify",
        data={"bundle": (io.BytesIO(data), "evidence.zip"), **form},
        headers={"X-Notary-Fragment": "1", "Accept-Language": "en"},
        content_type="multipart/form-data",
    )


def test_a_genuine_bundle_reads_valid_with_terms_and_derived_forms(client: Any, bundle: Any) -> None:
    view, data = bundle
    answer = post_verify(client, data, document_sha256=view["document_sha256"])
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'data-verdict="valid"' in page
    assert 'data-status="failed"' not in page
    assert 'data-status="not_run"' not in page
    assert "123456.78 CNY" in page  # as signed
    assert "123,456.78" in page
    assert "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分" in page
    assert 'data-your-copy="matches"' in page
    embedded = re.search(r'<template class="report-json">(.*?)</template>', page, re.S)
    report = parse_json(embedded.group(1).encode())
    api = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(data), "evidence.zip")},
        content_type="multipart/form-data",
    ).get_json()
    assert {**report, "verified_at": None} == {**api, "verified_at": None}  # the verifier's own report


def test_the_chinese_page_names_every_check_in_words_not_by_its_code(client: Any, bundle: Any) -> None:
    """signing_times, identity_* and key_events were shown by their code names before."""
    _, data = bundle
    answer = client.post(
        "/verify",
        data={"bundle": (io.BytesIO(data), "evidence.zip")},
        headers={"X-Notary-Fragment": "1", "Accept-Language": "zh-CN"},
        content_type="multipart/form-data",
    )
    page = answer.get_data(as_text=True)
    shown = re.findall(r'data-check="([a-z_]+)"[^>]*>\s*<span class="what">([^<]*)</span>', page)
    assert {name for name, _ in shown} >= {
        "signing_times",
        "identity_investor",
        "identity_borrower",
        "key_events",
    }
    for name, words in shown:
        assert name not in words
    assert "签署时间" in page
    assert "出借人身份" in page


def test_a_tampered_bundle_is_invalid_and_names_the_failing_check_in_words(client: Any, bundle: Any) -> None:
    _, data = bundle
    forged = tampered(data, "terms.json", lambda raw: raw.replace(b'"123456.78"', b'"923456.78"'))
    page = post_verify(client, forged).get_data(as_text=True)
    assert 'data-verdict="invalid"' in page
    assert 'data-check="terms_digest" data-status="failed"' in page
    failed = page.split("What failed:")[1].split("</ul>")[0]
    assert "Terms" in failed
    assert "exactly the ones both parties signed" in failed


def test_another_document_is_told_apart(client: Any, bundle: Any) -> None:
    _, data = bundle
    page = post_verify(client, data, document_sha256="00" * 32).get_data(as_text=True)
    assert 'data-your-copy="differs"' in page


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"not a zip at all", "not an evidence bundle"), (b"PK\x03\x04broken", "not an evidence bundle")],
)
def test_a_file_that_is_no_bundle_is_explained(client: Any, content: bytes, words: str) -> None:
    answer = post_verify(client, content)
    assert answer.status_code == 422
    assert 'data-verdict="unusable"' in answer.get_data(as_text=True)
    assert words in answer.get_data(as_text=True)


def test_without_script_the_form_answers_a_whole_page(client: Any, bundle: Any) -> None:
    _, data = bundle
    answer = client.post(
        "/verify", data={"bundle": (io.BytesIO(data), "e.zip")}, content_type="multipart/form-data"
    )
    assert answer.status_code == 200
    assert "<html" in answer.get_data(as_text=True)
    assert 'data-verdict="valid"' in answer.get_data(as_text=True)


def test_the_signed_report_holds_checks_and_hashes_only(client: Any, bundle: Any, tmp_path: Any) -> None:
    view, data = bundle
    answer = client.post(
        "/verify/report.pdf",
        data={"bundle": (io.BytesIO(data), "evidence.zip"), "document_sha256": view["document_sha256"]},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(answer.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "验证报告" in text
    assert "VALID" in text
    assert view["evidence"]["record_sha256"] in text.replace("\n", "").replace(" ", "")
    assert "个人借款合同" not in text
    assert "123456.78" not in text
    signature = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False).stdout
    assert "Verification Reports" in signature  # the report key, never the evidence signer
    assert "Evidence Signer" not in signature


def test_a_report_cannot_be_made_to_sign_uploaded_words(client: Any, bundle: Any, tmp_path: Any) -> None:
    """A forged bundle whose record carries words of the forger's choosing: the signed report
    says INVALID and prints none of them."""
    _, data = bundle

    def forge(raw: bytes) -> bytes:
        record = parse_json(raw)
        record["contract_id"] = "COURT-ORDER-SAYS-VALID"
        return canonical_json(record)

    answer = client.post(
        "/verify/report.pdf",
        data={"bundle": (io.BytesIO(tampered(data, "record.json", forge)), "evidence.zip")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    pdf = tmp_path / "forged.pdf"
    pdf.write_bytes(answer.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "INVALID" in text
    assert "COURT-ORDER" not in text


def test_signed_reports_are_rate_limited(settings: Any, clock: Any) -> None:
    """Through the counters every process shares (NOTARY_RATE_LIMIT_SIGNED_REPORT)."""
    with limited_client(settings, clock, rate_limit_signed_report="2/minute") as client:
        answers = [
            client.post(
                "/verify/report.pdf",
                data={"bundle": (io.BytesIO(b"x"), "x.zip")},
                content_type="multipart/form-data",
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_the_qr_address_answers_json_to_a_client_and_a_page_to_a_browser(client: Any, bundle: Any) -> None:
    view, _ = bundle
    record = view["evidence"]["record_sha256"]
    api = client.get(f"/api/v1/r/{record}", headers={"Accept": "application/json"})
    assert api.status_code == 200
    assert api.get_json()["leaf_index"] == view["evidence"]["leaf_index"]
    assert "Accept" in api.headers["Vary"]
    assert client.get(f"/api/v1/r/{record}").get_json()["record_sha256"] == record  # curl's */*
    browser = client.get(
        f"/api/v1/r/{record}", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert browser.status_code == 303
    assert browser.headers["Location"].endswith(f"/r/{record}")
    page = client.get(f"/r/{record}").get_data(as_text=True)
    assert view["contract_id"] in page
    assert "张*" in page
    assert "李*" in page
    assert "张三" not in page
    assert "123456.78" not in page
    assert client.get(f"/r/{'0' * 64}").status_code == 404
    assert client.get("/r/not-a-hash").status_code == 404


def test_the_page_never_vouches_for_a_trust_file_its_requester_brought(client: Any, tmp_path: Any) -> None:
    """Issue 15.6 through the pages: a bundle forged under the forger's own keys, verified with
    the forger's trust file. Before, the page said VALID ("comes from this notary") and the
    notary signed a report saying "origin established"; now the requester's file is checked
    against and never vouched for."""
    from tests.support.evidence import SampleLog, SampleNotary

    forger = SampleNotary.create(tmp_path / "forger", organisation="Forger")
    forged = SampleLog(forger, 2).bundle(0, 2)

    def trust() -> dict[str, Any]:
        return {"trust": (io.BytesIO(forger.trust_json()), "trust.json")}

    page = post_verify(client, forged, **trust()).get_data(as_text=True)
    assert 'data-verdict="valid"' not in page
    assert 'data-verdict="integrity_only"' in page
    assert "this notary does not vouch for keys it did not publish" in page

    answer = client.post(
        "/verify/report.pdf",
        data={"bundle": (io.BytesIO(forged), "evidence.zip"), **trust()},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    pdf = tmp_path / "forged.pdf"
    pdf.write_bytes(answer.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "origin established" not in text
    assert "given by the requester" in text.replace("\n", " ")
