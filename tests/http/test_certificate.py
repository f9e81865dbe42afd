"""The certificate route: made once from stored evidence, the same bytes every time, reproducible."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from sqlalchemy import select

from notary.services.evidence.pdf import facts_from_json
from notary.storage.models import IssuedCertificate
from tests.support.sealing import ready_contract, sealed


@pytest.mark.slow
def test_certificate_is_made_once_and_reproducible(
    platform, investor, borrower, runtime, client, make_platform
):
    cid = ready_contract(platform, investor, borrower, runtime, client)
    early = platform.get(f"/contracts/{cid}/certificate")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "evidence_not_ready"
    assert early.headers["Retry-After"]
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()

    first = platform.get(f"/contracts/{cid}/certificate")
    assert first.status_code == 200, first.get_json()
    assert first.mimetype == "application/pdf"
    again = platform.get(f"/contracts/{cid}/certificate")
    assert again.data == first.data
    digest = hashlib.sha256(first.data).hexdigest()
    assert first.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    with runtime.db.read() as session:
        issued = session.execute(select(IssuedCertificate)).scalar_one()
    assert issued.pdf_sha256 == digest
    assert runtime.certificates.reproduce(cid) is True

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(first.data))
    assert len(reader.embedded_signatures) == 1
    # Masked identities only: never a full ID number.
    assert investor.id_number.encode() not in first.data

    other = make_platform("Other Lending")
    assert other.get(f"/contracts/{cid}/certificate").status_code == 404


@pytest.mark.slow
def test_the_certificate_names_the_title_and_reference_and_is_pdf_a(
    platform, investor, borrower, runtime, client
):
    import page

    cid = ready_contract(
        platform, investor, borrower, runtime, client, title="车辆抵押借款合同", external_ref="LOAN-2026-0042"
    )
    sealed(runtime)
    answer = platform.get(f"/contracts/{cid}/certificate")
    assert answer.status_code == 200, answer.get_json()
    with runtime.db.read() as session:
        issued = session.get(IssuedCertificate, cid)
    facts = facts_from_json(issued.facts)
    assert (facts.title, facts.external_ref, facts.platform_defunct_at) == (
        "车辆抵押借款合同",
        "LOAN-2026-0042",
        None,
    )
    report = page.validate_pdf_bytes(answer.data, profile="3b")
    assert [f"{failure.rule_id}: {failure.message}" for failure in report.failures] == []


@pytest.mark.slow
def test_a_defunct_platforms_contract_gets_a_certificate_saying_so(
    platform, investor, borrower, runtime, client
):
    issued_before = ready_contract(platform, investor, borrower, runtime, client)
    issued_after = ready_contract(platform, investor, borrower, runtime, client, external_ref="LATE-1")
    sealed(runtime)
    assert platform.get(f"/contracts/{issued_before}/certificate").status_code == 200
    defunct_at = runtime.platforms.mark_defunct(platform.platform_id).defunct_at
    runtime.certificates.certificate(issued_after)
    with runtime.db.read() as session:
        after = facts_from_json(session.get(IssuedCertificate, issued_after).facts)
        before = facts_from_json(session.get(IssuedCertificate, issued_before).facts)
    assert after.platform_defunct_at == defunct_at
    assert before.platform_defunct_at is None  # issued before the collapse, and kept as issued
    assert runtime.certificates.reproduce(issued_before) is True
    assert runtime.certificates.reproduce(issued_after) is True
