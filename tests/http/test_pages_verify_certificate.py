"""The verify page with a certificate PDF: the same answer page as a bundle's, completed from
this notary's log, with what was not established in words; a tampered, a foreign and a
non-certificate PDF each read as what they are."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import subprocess
from typing import Any

import pytest

from notary.verify.canonical import parse_json
from tests.support.certificate_pki import make_keys, make_signer
from tests.support.platforms import DOCUMENT
from tests.support.sealing import ready_contract, sealed


def post_page(client: Any, pdf: bytes, **form: Any) -> Any:
    return client.post(
        "/verify",
        data={"bundle": (io.BytesIO(pdf), "certificate.pdf"), **form},
        headers={"X-Notary-Fragment": "1", "Accept-Language": "en"},
        content_type="multipart/form-data",
    )


@pytest.fixture
def certificate(platform: Any, investor: Any, borrower: Any, runtime: Any, client: Any) -> bytes:
    cid = ready_contract(
        platform, investor, borrower, runtime, client, amount="123456.78", external_ref="LOAN-2026-7"
    )
    sealed(runtime)
    answer = platform.get(f"/contracts/{cid}/certificate")
    assert answer.status_code == 200, answer.get_json()
    return bytes(answer.data)


def statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="([a-z_]+)" data-status="([a-z_]+)"', page))


@pytest.mark.slow
def test_a_genuine_certificate_reads_valid_with_its_number_terms_and_your_copy(
    certificate: bytes, client: Any
) -> None:
    answer = post_page(client, certificate, document_sha256=hashlib.sha256(DOCUMENT).hexdigest())
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'data-verdict="valid" data-kind="certificate"' in page
    checks = statuses(page)
    for name in ("pdf_no_later_updates", "pdf_timestamp", "pdf_signature", "pdf_record", "pdf_facts"):
        assert checks[name] == "passed", name
    for name in ("signature_investor", "signature_borrower", "inclusion_proof", "record_timestamp"):
        assert checks[name] == "passed", name
    assert set(checks.values()) == {"passed"}
    assert "the record it names checks out" in page
    assert re.search(r"NC\d{4}-\d{10}", page)  # the certificate's number
    assert "carried inside the certificate" in page  # record/2: the PDF carries its record
    assert "123456.78 CNY" in page  # the printed value, vouched for by pdf_facts
    assert "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分" in page
    assert "LOAN-2026-7" in page
    assert 'data-your-copy="matches"' in page
    assert "What this check did not establish" not in page  # nothing left open
    embedded = re.search(r'<template class="report-json">(.*?)</template>', page, re.S)
    report = parse_json(embedded.group(1).encode())
    api = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(certificate), "certificate.pdf")},
        content_type="multipart/form-data",
    ).get_json()
    # The API's very report (the page sends only the document's fingerprint, so neither has it).
    assert {**report, "verified_at": None} == {**api, "verified_at": None}


@pytest.mark.slow
def test_without_your_copy_the_page_says_what_is_left_to_check(certificate: bytes, client: Any) -> None:
    page = post_page(client, certificate).get_data(as_text=True)
    assert 'data-verdict="valid"' in page
    assert 'data-gaps="document"' in page
    assert "That your copy of the contract document is the one signed" in page
    page = post_page(client, certificate, document_sha256="00" * 32).get_data(as_text=True)
    assert 'data-your-copy="differs"' in page


@pytest.mark.slow
def test_a_tampered_certificate_reads_invalid_naming_the_signature(certificate: bytes, client: Any) -> None:
    tampered = bytearray(certificate)
    tampered[certificate.index(b"/Contents", 1000) - 300] ^= 0x01
    page = post_page(client, bytes(tampered)).get_data(as_text=True)
    assert 'data-verdict="invalid" data-kind="certificate"' in page
    assert statuses(page)["pdf_signature"] == "failed"
    failed = page.split("What failed:")[1].split("</ul>")[0]
    assert "Notary&#39;s signature on the certificate" in failed
    assert "123456.78" not in page  # nothing printed by a PDF that does not verify


@pytest.mark.slow
def test_a_certificate_signed_by_someone_else_is_invalid_and_learns_nothing(
    certificate: bytes, client: Any, runtime: Any, tmp_path: Any
) -> None:
    from notary.services.evidence.pdf import facts_from_json, render_certificate
    from notary.storage.models import IssuedCertificate

    with runtime.db.read() as session:
        facts = facts_from_json(session.query(IssuedCertificate).one().facts)
    # Naming a record without carrying it: what a forger probing the log for its parties would send.
    probe = dataclasses.replace(facts, attachments=())
    forged = make_signer(make_keys(tmp_path / "forger"))[0].sign(render_certificate(probe))
    page = post_page(client, forged).get_data(as_text=True)
    assert 'data-verdict="invalid"' in page
    # The forger's own authority stamped it: neither the timestamp nor the signature chains here.
    assert statuses(page)["pdf_timestamp"] == "failed"
    assert statuses(page)["pdf_signature"] != "passed"
    assert "record" in page.split('data-gaps="')[1].split('"')[0].split()
    assert "none at hand" in page
    assert "signature_investor" not in statuses(page)


@pytest.mark.parametrize("content", [b"%PDF-1.7\n not really", b"%PDF-1.4\n%%EOF\n"])
def test_a_pdf_that_is_no_certificate_is_explained(client: Any, content: bytes) -> None:
    answer = post_page(client, content)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'data-verdict="unusable"' in page
    assert "not an evidence certificate this notary signs" in page


def test_the_signed_pdf_report_is_for_bundles_only(client: Any) -> None:
    answer = client.post(
        "/verify/report.pdf",
        data={"bundle": (io.BytesIO(b"%PDF-1.7\n"), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "malformed_bundle"


@pytest.mark.slow
@pytest.mark.wallclock  # pdfsig judges the certificates at the machine's present
def test_the_notary_root_for_pdf_readers_is_the_trust_files_and_pdfsig_trusts_it(
    certificate: bytes, client: Any, tmp_path: Any
) -> None:
    """Step 3 of the clerk's how-to (docs/certificate.md): the root downloaded as a file, its
    fingerprint as openssl shows it and as the verify page prints it, and pdfsig trusting a
    real certificate with an NSS database holding that file."""
    answer = client.get("/api/v1/trust/notary-root.pem")
    assert answer.status_code == 200
    assert answer.mimetype == "application/x-pem-file"
    assert 'filename="notary-root.pem"' in answer.headers["Content-Disposition"]
    pem = answer.get_data(as_text=True)
    assert pem == client.get("/api/v1/trust").get_json()["notary_roots_pem"][0]
    (tmp_path / "notary-root.pem").write_text(pem)
    shown = subprocess.run(
        ["openssl", "x509", "-in", "notary-root.pem", "-noout", "-fingerprint", "-sha256"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fingerprint = answer.headers["X-Notary-Root-SHA256"]
    assert shown.strip().endswith("=" + fingerprint)
    page = client.get("/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert fingerprint in page
    assert 'href="/api/v1/trust/notary-root.pem"' in page

    (tmp_path / "certificate.pdf").write_bytes(certificate)
    for command in (
        "mkdir nss && certutil -N -d sql:nss --empty-password",
        "certutil -A -d sql:nss -n notary-root -t ,C, -i notary-root.pem",
    ):
        subprocess.run(command, shell=True, cwd=tmp_path, check=True, capture_output=True)
    report = subprocess.run(
        ["pdfsig", "-nssdir", "sql:nss", "certificate.pdf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
