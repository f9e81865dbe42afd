"""`POST /verify` with a certificate PDF: what `notary verify --online` does, the notary's own log
standing in for the fetch, and nothing looked up for a PDF the notary did not sign."""

from __future__ import annotations

import io

import pytest

from tests.support.certificate_pki import make_keys, make_signer
from tests.support.platforms import DOCUMENT
from tests.support.sealing import ready_contract, sealed


def post(client, pdf: bytes, **parts: bytes):
    data = {"bundle": (io.BytesIO(pdf), "certificate.pdf")}
    data.update({name: (io.BytesIO(content), name) for name, content in parts.items()})
    return client.post("/api/v1/verify", data=data, content_type="multipart/form-data")


@pytest.fixture
def certificate(platform, investor, borrower, runtime, client, monkeypatch) -> bytes:
    """A certificate that does not carry its record (as record/1 certificates never do): the
    one a lookup in the notary's log would complete, so the one a forger would probe with."""
    from notary.services.evidence import certificates

    monkeypatch.setattr(certificates, "carries_record", lambda record: False)
    cid = ready_contract(platform, investor, borrower, runtime, client)
    sealed(runtime)
    answer = platform.get(f"/contracts/{cid}/certificate")
    assert answer.status_code == 200, answer.get_json()
    return answer.data


def statuses(report) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("carried", "source"),
    [(True, "carried"), (False, "notary_log")],
    ids=["record-2-carried", "record-not-carried"],
)
def test_a_certificate_is_completed_from_the_notarys_log(
    carried, source, client, platform, investor, borrower, runtime, clock, monkeypatch
):
    """A record/2 certificate carries its record: the log adds today's checkpoint and the
    consistency proof. One that does not (record/1's unsalted identities are never carried;
    here the rule is forced for a record/2) is checked in the bundle the notary builds."""
    from notary.services.evidence import certificates

    monkeypatch.setattr(certificates, "carries_record", lambda record: carried)
    cid = ready_contract(platform, investor, borrower, runtime, client)
    sealed(runtime)
    certificate = platform.get(f"/contracts/{cid}/certificate").data
    # A later contract grows the log, so "still in today's tree" is a real consistency proof.
    ready_contract(platform, investor, borrower, runtime, client)
    clock.advance(seconds=runtime.settings.checkpoint_interval + 1)  # the next checkpoint is due
    sealed(runtime)
    answer = post(client, certificate, document=DOCUMENT)
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["valid"] is True, report
    assert report["verdict"] == "valid"
    assert report["origin_established"] is True
    assert report["subject"] == "notary-certificate/1"
    assert report["record_source"] == source
    checks = statuses(report)
    for name in ("pdf_signature", "pdf_timestamp", "pdf_no_later_updates", "pdf_record", "pdf_facts"):
        assert checks[name] == "passed", name
    for name in ("inclusion_proof", "document_digest", "consistency", "signature_investor"):
        assert checks[name] == "passed", name
    assert report["not_established"] == []
    assert report["newer_checkpoint"]["tree_size"] > report["log"]["tree_size"]


@pytest.mark.slow
def test_a_tampered_certificate_is_invalid_and_nothing_is_looked_up(certificate, client):
    tampered = bytearray(certificate)
    tampered[certificate.index(b"/Contents", 1000) - 300] ^= 0x01
    answer = post(client, bytes(tampered))
    assert answer.status_code == 200
    report = answer.get_json()
    assert report["valid"] is False
    assert statuses(report)["pdf_signature"] == "failed"
    assert report["record_source"] is None
    assert report["parties"] == {}


@pytest.mark.slow
def test_a_certificate_signed_by_someone_else_learns_nothing(certificate, client, runtime, tmp_path):
    """A forger's own root in the trust part makes their PDF verify, but the notary looks nothing up."""
    from notary.services.evidence.pdf import facts_from_json, render_certificate
    from notary.storage.models import IssuedCertificate

    with runtime.db.read() as session:
        facts = facts_from_json(session.query(IssuedCertificate).one().facts)
    forger = make_keys(tmp_path / "forger")
    forged = make_signer(forger)[0].sign(render_certificate(facts))
    from cryptography.hazmat.primitives.serialization import Encoding

    from notary.verify.canonical import canonical_json

    root = forger.root_cert.public_bytes(Encoding.PEM).decode()
    published = client.get("/api/v1/trust").get_json()
    trust = canonical_json({**published, "notary_roots_pem": [root], "tsa_roots_pem": [root]})
    answer = post(client, forged, trust=trust)
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert statuses(report)["pdf_signature"] == "passed"  # by the forger's own root
    assert report["record_source"] is None
    assert report["parties"] == {}
    assert report["log"] is None
    own = post(client, forged).get_json()
    assert own["valid"] is False
    assert own["record_source"] is None


def test_a_pdf_that_is_no_certificate_is_a_400(client):
    answer = post(client, b"%PDF-1.7\n not really")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "malformed_certificate"


@pytest.mark.slow
def test_the_services_own_facts_and_carried_files_verify_from_the_pdf_alone(
    platform, investor, borrower, runtime, client, monkeypatch
):
    """The service's facts mapping, checked by pdf_facts against the real record and terms:
    a record/2 certificate carries its record, terms and proofs, never the document."""
    from notary.services.clock import now_text
    from notary.services.evidence import certificates
    from notary.storage.models import Contract
    from notary.verify.canonical import canonical_json
    from notary.verify.trust import TrustFile
    from notary.verify_pdf import verify_certificate

    cid = ready_contract(platform, investor, borrower, runtime, client, external_ref="LOAN-7")
    sealed(runtime)
    with runtime.db.read() as session:
        facts = runtime.certificates.facts(
            session, session.get(Contract, cid), issued_at=now_text(runtime.clock)
        )
    names = [attachment.name for attachment in facts.attachments]
    assert "record.json" in names
    assert "document.pdf" not in names
    assert "manifest.json" not in names
    pdf = runtime.certificates.signer.sign(certificates.render_certificate(facts))
    trust = TrustFile.from_json(canonical_json(runtime.published.trust_file()))
    result = verify_certificate(pdf, trust=trust, document=DOCUMENT, now=runtime.clock())
    assert result.valid, result.to_dict()
    assert result.record_source == "carried"
    assert {check.name for check in result.report.checks if check.passed} >= {
        "pdf_facts",
        "pdf_record",
        "inclusion_proof",
        "document_digest",
    }
