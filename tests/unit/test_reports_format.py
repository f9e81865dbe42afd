"""瞒报 reports' bytes (payloads.md, "瞒报 reports") reproduced byte for byte, and every corrupted
report, leaf and evidence refused with its own error."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.note_signer import NoteSigner
from notary.verify.canonical import canonical_json
from notary.verify.keys import PublicKey
from notary.verify.merkle.proofs import RootMismatch, leaf_hash, node_hash
from notary.verify.note import UnknownKey, format_checkpoint_body
from notary.verify.reports import (
    BadReportSignature,
    MalformedReport,
    ReportLeafMismatch,
    parse_report_evidence,
    parse_report_leaf,
    parse_report_payload,
    parse_stored_report,
    report_evidence,
    report_leaf,
    report_payload,
    stored_report,
    verify_report_evidence,
)

RFC8032_TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_TEST2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
ORIGIN = "notary.example/contracts/v1"
FINGERPRINT = "06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9"
DOCUMENT_SHA256 = "38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0"
RECORD2_SHA256 = "fb8e0c8a401eae06b35547023f14379c90168e6911f62cb0fba2e89f38f75485"
RECORD2_LEAF_HASH = bytes.fromhex("40decc6aeab8465817a2cf2252ef30712d4a0e63c2a07df632c46dd56db7b1f4")
LODGED_AT = "2026-12-09T02:00:03.500Z"

PAYLOAD = (
    b'{"claimed":{"amount":"10000.00","currency":"CNY","start_date":"2026-12-01"},'
    b'"document_sha256":"38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0",'
    b'"key_fingerprint":"06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",'
    b'"platform_id":"pl_0001","purpose":"notary.report.v1","reported_at":"2026-12-09T02:00:00.000Z"}'
)
SIGNATURE = "OkoSFh/Oax8kMRR7zOisB/ZClSXWk5Ss9bcaf4tJkN4tBNKuracaeAoGW3ZtbYJQAxZDgsQ/88UztNevTaf6DA=="
REPORT_SHA256 = "e74687ec54df1f637578d2a546e4fda6fb72e6a69249e9287d277bf29bf0d24b"
LEAF = (
    b'{"format":"notary-report/1","lodged_at":"2026-12-09T02:00:03.500Z","platform_id":"pl_0001",'
    b'"previous_record_sha256":"fb8e0c8a401eae06b35547023f14379c90168e6911f62cb0fba2e89f38f75485",'
    b'"report_id":"rp_0001","report_sha256":"e74687ec54df1f637578d2a546e4fda6fb72e6a69249e9287d277bf29bf0d24b",'
    b'"sequence":1}'
)
CHECKPOINT = (
    "notary.example/contracts/v1\n2\nkFU0dXtyDrtIP7EdvO298zG980t68t0vimUOvxwySTE=\n\n"
    "— notary.example/contracts/v1 as3Qaab9pQuc/J1tn9HYMcbRPRqfK2VXdzKn4PxFHAp5V8deedgEMGfA1dQ81KmoJvM1CREtIO4Y3gsfCbf+m/kxvAg=\n"
)
EVIDENCE_SHA256 = "93f5909eb11816285e186c61c5288fb5d2202a9b38afba83553f137d7b60c431"


def _public(private: ed25519.Ed25519PrivateKey) -> PublicKey:
    return PublicKey.from_der(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


PARTY = ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1)
LOG = NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.from_private_bytes(RFC8032_TEST2))


def worked_report() -> bytes:
    return stored_report(
        report_id="rp_0001",
        lodged_at=LODGED_AT,
        payload=PAYLOAD,
        public_key=_public(PARTY),
        signature=base64.b64decode(SIGNATURE),
    )


def worked_evidence(**changes: object) -> bytes:
    parts: dict[str, object] = {
        "report": worked_report(),
        "leaf": LEAF,
        "leaf_index": 1,
        "tree_size": 2,
        "proof": [RECORD2_LEAF_HASH],
        "checkpoint": CHECKPOINT,
    }
    parts.update(changes)
    return report_evidence(**parts)  # type: ignore[arg-type]


def test_the_worked_example_byte_for_byte():
    payload = report_payload(
        platform_id="pl_0001",
        document_sha256=DOCUMENT_SHA256,
        key_fingerprint=FINGERPRINT,
        reported_at="2026-12-09T02:00:00.000Z",
        claimed={"start_date": "2026-12-01", "amount": "10000.00", "currency": "CNY"},
    )
    assert payload == PAYLOAD
    assert base64.b64encode(PARTY.sign(payload)).decode() == SIGNATURE
    report = worked_report()
    assert hashlib.sha256(report).hexdigest() == REPORT_SHA256
    leaf = report_leaf(
        sequence=1,
        previous_record_sha256=RECORD2_SHA256,
        report_id="rp_0001",
        report_sha256=REPORT_SHA256,
        platform_id="pl_0001",
        lodged_at=LODGED_AT,
    )
    assert leaf == LEAF
    assert (
        hashlib.sha256(leaf).hexdigest() == "030b8e6ec3474925a562cc35bbb87b44dc97058c297c54c668e3575d006899f4"
    )
    assert leaf_hash(leaf).hex() == "268bda853653db899b7dad0d642790e6b7ed9b2300957bf6ceca17961754c868"
    body = format_checkpoint_body(ORIGIN, 2, node_hash(RECORD2_LEAF_HASH, leaf_hash(leaf)))
    assert body.decode() + "\n" + LOG.signature_line(body) == CHECKPOINT
    assert hashlib.sha256(worked_evidence()).hexdigest() == EVIDENCE_SHA256


def test_the_worked_example_verifies_offline():
    stored = parse_stored_report(worked_report())
    stored.verify()
    assert stored.sha256 == REPORT_SHA256
    assert stored.payload.claimed["amount"] == "10000.00"
    verify_report_evidence(parse_report_evidence(worked_evidence()), [LOG.verifier], origin=ORIGIN)


def _edited(data: bytes, **fields: object) -> bytes:
    value = json.loads(data)
    value.update(fields)
    return canonical_json(value)


@pytest.mark.parametrize(
    "payload",
    [
        PAYLOAD.replace(b'"reported_at"', b'"extra":1,"reported_at"'),  # a field too many
        _edited(PAYLOAD, purpose="notary.sign.v1"),  # another purpose
        _edited(PAYLOAD, claimed={"investor": "pa_1"}),  # a claim that is no term
        _edited(PAYLOAD, claimed={"term_months": "12"}),  # of the wrong type
        _edited(PAYLOAD, reported_at="2026-12-09 02:00:00Z"),  # not RFC 3339
        _edited(PAYLOAD, document_sha256=DOCUMENT_SHA256.upper()),
        PAYLOAD.replace(b"{", b"{ ", 1),  # not canonical
    ],
)
def test_a_malformed_payload_is_refused(payload):
    with pytest.raises(MalformedReport):
        parse_report_payload(payload)


def test_a_changed_report_no_longer_verifies():
    changed = worked_report().replace(b"10000.00", b"90000.00")
    with pytest.raises(BadReportSignature):
        parse_stored_report(changed).verify()


def test_a_report_whose_key_is_not_the_one_named_is_refused():
    other = _public(ed25519.Ed25519PrivateKey.generate())
    swapped = _edited(worked_report(), public_key=base64.b64encode(other.spki_der).decode())
    with pytest.raises(MalformedReport, match="not the key its payload names"):
        parse_stored_report(swapped)


def test_a_corrupted_leaf_is_refused():
    with pytest.raises(MalformedReport):
        parse_report_leaf(_edited(LEAF, format="notary-record/2"))
    with pytest.raises(MalformedReport):
        parse_report_leaf(_edited(LEAF, sequence=-1))
    with pytest.raises(MalformedReport):
        parse_report_leaf(_edited(LEAF, lodged_at="2026-12-09T02:00:03Z"))


def test_evidence_whose_leaf_names_another_report_is_refused():
    other_leaf = _edited(LEAF, report_sha256="0" * 64)
    evidence = parse_report_evidence(worked_evidence(leaf=other_leaf))
    with pytest.raises(ReportLeafMismatch, match="report_sha256"):
        verify_report_evidence(evidence, [LOG.verifier], origin=ORIGIN)


def test_evidence_with_a_wrong_proof_or_an_untrusted_checkpoint_is_refused():
    evidence = parse_report_evidence(worked_evidence(proof=[b"\x01" * 32]))
    with pytest.raises(RootMismatch):
        verify_report_evidence(evidence, [LOG.verifier], origin=ORIGIN)
    stranger = NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(UnknownKey):
        verify_report_evidence(parse_report_evidence(worked_evidence()), [stranger.verifier], origin=ORIGIN)
    with pytest.raises(MalformedReport, match="leaf_index"):
        parse_report_evidence(worked_evidence(leaf_index=0))
