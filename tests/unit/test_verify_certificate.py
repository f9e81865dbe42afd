"""Verifying a certificate PDF: from the PDF alone, with its bundle, a document, a newer checkpoint.

Every attack is a certificate the real signer signed or a genuine one changed afterwards; each
expects the check that names it to fail and nothing else to be claimed.

The sample evidence and the certificates' timestamps are on the fixed timeline
(tests/support/evidence.py): issued at ``READY``, verified at ``VERIFIED_AT`` unless a test
says otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from notary.services.evidence.pdf import render_certificate
from notary.verify.report import CALLER_SUPPLIED, FAILED, INTEGRITY_ONLY_BASIS, NOT_RUN, TRUST_FILE
from notary.verify.trust import INTEGRITY_ONLY, CallerSupplied
from notary.verify_pdf import (
    SUBJECT,
    MalformedCertificate,
    online_tree_size,
    render_certificate_text,
    verify_certificate,
)
from tests.support.certificate_facts import facts_for_bundle
from tests.support.certificate_pki import make_signer
from tests.support.clock import FixedClock
from tests.support.evidence import READY, VERIFIED_AT, SampleLog, SampleNotary

SIZE = 3
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
verify = functools.partial(verify_certificate, now=VERIFIED_AT)


@pytest.fixture(scope="module")
def notary(tmp_path_factory: pytest.TempPathFactory) -> SampleNotary:
    return SampleNotary.create(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def log(notary) -> SampleLog:
    return SampleLog(notary, SIZE)


@pytest.fixture(scope="module")
def signer(notary):
    return make_signer(notary.keys, clock=FixedClock(READY))[0]


@pytest.fixture(scope="module")
def genuine(log, signer) -> tuple:
    facts, bundle = facts_for_bundle(log, 1, SIZE)
    return facts, bundle, signer.sign(render_certificate(facts))


def statuses(result) -> dict[str, str]:
    return {check.name: check.status for check in result.report.checks}


def failed(result) -> dict[str, str | None]:
    return {check.name: check.code for check in result.report.checks if check.status == FAILED}


def test_the_pdf_alone_establishes_the_certificate_the_record_and_its_place_in_the_log(
    genuine, notary
) -> None:
    facts, _, pdf = genuine
    result = verify(pdf, trust=notary.trust())
    assert result.valid, render_certificate_text(result)
    assert result.origin_established
    assert result.record_source == "carried"
    checks = statuses(result)
    for name in (
        "pdf_no_later_updates",
        "pdf_timestamp",
        "pdf_signature",
        "pdf_record",
        "pdf_facts",
        "signature_investor",
        "signature_borrower",
        "record_timestamp",
        "checkpoint_signature",
        "inclusion_proof",
    ):
        assert checks[name] == "passed", name
    assert "manifest" not in checks  # not carried, so not claimed
    assert "document_digest" not in checks
    document = result.to_dict()
    assert document["subject"] == SUBJECT
    assert document["record_sha256"] == facts.record_sha256
    assert document["certificate_number"] == facts.certificate_number
    assert document["log"]["leaf_index"] == 1
    assert any("document itself" in item for item in result.not_established)
    assert any("still holds the record today" in item for item in result.not_established)
    text = render_certificate_text(result)
    assert "NOT ESTABLISHED" in text
    assert "carried inside the PDF" in text


def test_the_document_and_a_newer_checkpoint_establish_the_rest(genuine, notary, log) -> None:
    _, _, pdf = genuine
    filed = log.filed[1]
    result = verify(
        pdf,
        trust=notary.trust(),
        document=filed.document,
        newer_checkpoint=log.checkpoint(SIZE),
        consistency_proof=log.consistency(SIZE, SIZE),
    )
    assert result.valid, render_certificate_text(result)
    assert statuses(result)["document_digest"] == "passed"
    assert statuses(result)["consistency"] == "passed"
    assert result.not_established == ()
    wrong = verify(pdf, trust=notary.trust(), document=filed.document + b" ")
    assert failed(wrong) == {"document_digest": "digest_mismatch"}


def test_its_bundle_establishes_the_same_and_the_document(genuine, notary) -> None:
    _, bundle, pdf = genuine
    result = verify(pdf, trust=notary.trust(), bundle=bundle)
    assert result.valid, render_certificate_text(result)
    assert result.record_source == "bundle"
    assert statuses(result)["manifest"] == statuses(result)["document_digest"] == "passed"


def test_the_bundle_of_another_contract_is_not_the_named_record(genuine, notary, log) -> None:
    _, _, pdf = genuine
    result = verify(pdf, trust=notary.trust(), bundle=log.bundle(0, SIZE))
    assert failed(result) == {"pdf_record": "pdf_record_mismatch"}
    assert statuses(result)["pdf_facts"] == NOT_RUN


def test_an_update_appended_after_signing_is_refused(genuine, notary) -> None:
    _, _, pdf = genuine
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    result = verify(out.getvalue(), trust=notary.trust())
    assert failed(result) == {"pdf_no_later_updates": "pdf_later_updates"}
    assert statuses(result)["pdf_record"] == NOT_RUN
    assert not result.valid


def test_a_changed_byte_breaks_the_signature(genuine, notary) -> None:
    _, _, pdf = genuine
    at = pdf.index(b"/Contents", 200)
    page = pdf.index(b"stream\n", pdf.index(b" 0 obj", at - 40)) + 200
    tampered = bytearray(pdf)
    tampered[page] ^= 0x01
    result = verify(bytes(tampered), trust=notary.trust())
    assert failed(result).get("pdf_signature") == "pdf_signature_invalid"
    assert not result.valid


def test_another_notarys_signature_is_untrusted(genuine, notary, tmp_path: Path) -> None:
    facts, _, _ = genuine
    stranger = SampleNotary.create(tmp_path / "stranger")
    pdf = make_signer(stranger.keys, clock=FixedClock(READY))[0].sign(render_certificate(facts))
    result = verify(pdf, trust=notary.trust())
    assert failed(result)["pdf_timestamp"] == "untrusted_timestamp_chain"
    assert statuses(result)["pdf_signature"] == NOT_RUN
    assert not result.valid


def test_a_certificate_carrying_another_record_than_it_names(genuine, log, notary, signer) -> None:
    facts, _, _ = genuine
    other, _ = facts_for_bundle(log, 0, SIZE)
    swapped = dataclasses.replace(facts, attachments=other.attachments)
    result = verify(signer.sign(render_certificate(swapped)), trust=notary.trust())
    assert failed(result) == {"pdf_record": "pdf_record_mismatch"}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"amount": "90000.00"}, "amount"),
        ({"sign_by": "2026-12-09T00:00:00Z"}, "sign_by"),
        ({"title": "另一份合同"}, "title"),
        ({"leaf_index": 2}, "leaf_index"),
        ({"root_hash": "00" * 32}, "root_hash"),
        ({"filed_at": "2026-11-30T08:00:00.000Z"}, "filed_at"),
    ],
)
def test_a_printed_value_other_than_the_signed_one_is_named(genuine, signer, notary, changes, named) -> None:
    facts, _, _ = genuine
    pdf = signer.sign(render_certificate(dataclasses.replace(facts, **changes)))
    result = verify(pdf, trust=notary.trust())
    assert failed(result) == {"pdf_facts": "pdf_facts_mismatch"}
    (check,) = [check for check in result.report.checks if check.name == "pdf_facts"]
    assert named in check.details


def test_a_certificate_without_its_record_proves_the_pdf_and_says_what_it_cannot(
    genuine, signer, notary
) -> None:
    facts, bundle, _ = genuine
    pdf = signer.sign(render_certificate(dataclasses.replace(facts, attachments=())))
    result = verify(pdf, trust=notary.trust())
    assert result.valid
    assert result.record_source is None
    assert set(statuses(result)) == {"trust", "pdf_no_later_updates", "pdf_timestamp", "pdf_signature"}
    assert any("does not carry its record" in item for item in result.not_established)
    assert result.report.record_sha256 == facts.record_sha256
    with_bundle = verify(pdf, trust=notary.trust(), bundle=bundle)
    assert with_bundle.valid
    assert statuses(with_bundle)["pdf_facts"] == "passed"


def test_integrity_only_is_a_choice_and_establishes_no_origin(genuine) -> None:
    _, _, pdf = genuine
    with pytest.raises(TypeError, match="choose the trust"):
        verify(pdf, trust=None)
    result = verify(pdf, trust=INTEGRITY_ONLY)
    assert result.valid
    assert not result.origin_established
    assert result.verdict == "valid_integrity_only"
    assert result.report.trust_basis == INTEGRITY_ONLY_BASIS
    assert result.not_established[0].startswith("origin")


def test_a_trust_file_the_caller_brought_is_checked_against_but_vouches_for_nothing(genuine, notary) -> None:
    _, _, pdf = genuine
    result = verify(pdf, trust=CallerSupplied(notary.trust()))
    assert result.valid
    assert result.report.trust_basis == CALLER_SUPPLIED
    assert result.verdict == "valid_integrity_only"
    assert result.not_established[0].startswith("origin: the trust file was the caller's")


def test_the_trust_file_basis(genuine, notary) -> None:
    _, _, pdf = genuine
    result = verify(pdf, trust=notary.trust())
    assert result.report.trust_basis == TRUST_FILE
    assert result.verdict == "valid"


def test_decades_later_the_signer_is_judged_at_the_timestamps_time(genuine, notary) -> None:
    _, _, pdf = genuine
    later = dt.datetime(2066, 1, 1, tzinfo=dt.UTC)  # the notary's certificate expired long ago
    result = verify(pdf, trust=notary.trust(), now=later)
    assert result.valid, render_certificate_text(result)


def test_a_timestamp_after_the_verifiers_clock_is_refused(genuine, notary) -> None:
    _, _, pdf = genuine
    result = verify(pdf, trust=notary.trust(), now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert failed(result)["pdf_timestamp"] == "timestamp_in_future"


def test_a_certificate_issued_before_it_carried_its_facts(notary) -> None:
    """tests/fixtures/certificate-round1.pdf is round 1's docs/sample-certificate.pdf (made by
    scripts/make-sample-certificate.py at 6c32426): no certificate.json, no record carried."""
    result = verify((FIXTURES / "certificate-round1.pdf").read_bytes(), trust=INTEGRITY_ONLY)
    assert result.valid, render_certificate_text(result)
    assert result.report.contract_id == "ct_01JF8Z6Q4M7X2V9K3B5N8R1T0W"
    assert any("predates certificate.json" in item for item in result.not_established)
    untrusted = verify((FIXTURES / "certificate-round1.pdf").read_bytes(), trust=notary.trust())
    assert "pdf_signature" in failed(untrusted) or "pdf_timestamp" in failed(untrusted)


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x03\x04 a zip", b"%PDF-1.7\n garbage", b"%PDF-" + b"0" * 10],
)
def test_what_is_no_certificate_pdf_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedCertificate):
        verify_certificate(data, trust=INTEGRITY_ONLY)


def test_an_unsigned_certificate_is_malformed(genuine) -> None:
    facts, _, _ = genuine
    with pytest.raises(MalformedCertificate, match="exactly one signature"):
        verify_certificate(render_certificate(facts), trust=INTEGRITY_ONLY)


def test_the_online_check_starts_from_the_carried_proofs_tree(genuine, signer) -> None:
    facts, bundle, pdf = genuine
    assert online_tree_size(pdf) == SIZE
    assert online_tree_size(pdf, bundle) == SIZE
    bare = signer.sign(render_certificate(dataclasses.replace(facts, attachments=())))
    assert online_tree_size(bare) is None


def test_equal_reports_are_equal_bytes(genuine, notary) -> None:
    _, _, pdf = genuine
    moment = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    first = verify(pdf, trust=notary.trust(), now=moment).to_json()
    assert verify(pdf, trust=notary.trust(), now=moment).to_json() == first
