"""Fictitious certificate facts for tests and the sample certificate in docs/.

The digests of the document, terms and investor key are those of the worked examples in
shared/payloads.md; names, ID numbers and the remaining digests are made up.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from notary.services.evidence.pdf import (
    CertificateFacts,
    PartyFacts,
    SignatureFacts,
    TimestampFacts,
    mask_id_number,
)

DOCUMENT_SHA256 = "38265e2640a01327493f2e57f51912be272e9cc812ed031dbd1390c4302c3ea0"
TERMS_SHA256 = "d95fa995b02a300d95c291458bd4491b9524bacb31d1dd4d064b704a3dc33992"
RECORD_SHA256 = "00da351b16451447e96c923924cf49d4010d0358ea2144a42fe4823a4adb9ce5"
ROOT_HASH = "f2051986af72e1ffc0b611b47bd18dc3f630201f181925d6d530ec0c92651979"
CONTRACT_ID = "ct_01JF8Z6Q4M7X2V9K3B5N8R1T0W"


def sample_facts(**changes: Any) -> CertificateFacts:
    """A complete, valid set of facts; keyword arguments replace fields."""
    facts = CertificateFacts(
        certificate_number="NC-2026-000000123",
        issued_at="2026-12-01T08:00:09.500Z",
        contract_id=CONTRACT_ID,
        platform_id="pl_01JF8Z5W0E3S6H2Q7D4C9A1Y8P",
        platform_name="示例网贷信息中介有限公司",
        investor=PartyFacts(
            party_id="pa_01JF8Z6A2B3C4D5E6F7G8H9J0K",
            name="张三",
            masked_id_number=mask_id_number("11010519491231002X"),
        ),
        borrower=PartyFacts(
            party_id="pa_01JF8Z6B9Z8Y7X6W5V4T3S2R1Q",
            name="李四",
            masked_id_number=mask_id_number("440524188001010014"),
        ),
        amount="10000.00",
        currency="CNY",
        annual_rate="0.0800",
        term_months=12,
        start_date="2026-12-01",
        sign_by="2026-12-08T00:00:00Z",
        filed_at="2026-12-01T08:00:00.000Z",
        sealed_at="2026-12-01T08:00:05.000Z",
        document_sha256=DOCUMENT_SHA256,
        document_size=33,
        media_type="application/pdf",
        terms_sha256=TERMS_SHA256,
        record_sha256=RECORD_SHA256,
        signatures=(
            SignatureFacts(
                role="investor",
                algorithm="ed25519",
                key_fingerprint="06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9",
                signed_at="2026-12-01T08:00:01.250Z",
                identity_assurance="platform",
            ),
            SignatureFacts(
                role="borrower",
                algorithm="ecdsa-p256-sha256",
                key_fingerprint="5d1e0c4b7a9f8e3d2c1b0a99887766554433221100ffeeddccbbaa0099887766",
                signed_at="2026-12-01T08:00:03.875Z",
                identity_assurance="verified",
            ),
        ),
        timestamp=TimestampFacts(
            authority="CN=Example Notary Timestamp Authority, O=Example Notary",
            gen_time="2026-12-01T08:00:05.120Z",
            serial_number=0x1F3A5C7E9B2D4F60,
        ),
        leaf_index=0,
        tree_size=1,
        root_hash=ROOT_HASH,
        checkpoint_origin="notary.example/contracts/v1",
        checkpoint_verifier_key="notary.example/contracts/v1+6acdd069+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM",
        public_url="https://notary.example",
        notary_version="0.1.0",
    )
    return dataclasses.replace(facts, **changes) if changes else facts


def facts_for_bundle(log: Any, index: int, size: int, **changes: Any) -> tuple[CertificateFacts, bytes]:
    """Facts that tell the truth about contract ``index`` of a ``SampleLog`` (tree ``size``),
    carrying its bundle's members, and the bundle itself. Keyword arguments replace fields."""
    from notary.services.evidence.pdf import bundle_attachments
    from notary.verify.canonical import parse_json
    from notary.verify.evidence.bundle import build_bundle, bundle_members
    from notary.verify.evidence.record import parse_record
    from notary.verify.payloads import format_time
    from notary.verify.timestamp.verifier import verify_timestamp

    parts = log.parts(index, size)
    record = parse_record(parts.record)
    terms = parse_json(parts.terms, what="terms")
    notary = log.notary
    stamp = verify_timestamp(parts.record_token, message=parts.record, trust_roots=[notary.keys.root_cert])
    signatures = tuple(
        SignatureFacts(
            role, entry.algorithm, entry.key_fingerprint, entry.signed_at, entry.identity_assurance
        )
        for role, entry in record.signatures.items()
    )
    facts = sample_facts(
        contract_id=record.contract_id,
        platform_id=record.platform_id,
        investor=dataclasses.replace(
            sample_facts().investor, party_id=record.signatures["investor"].party_id
        ),
        borrower=dataclasses.replace(
            sample_facts().borrower, party_id=record.signatures["borrower"].party_id
        ),
        amount=terms["amount"],
        currency=terms["currency"],
        annual_rate=terms["annual_rate"],
        term_months=terms["term_months"],
        start_date=terms["start_date"],
        sign_by=terms["sign_by"],
        title=terms.get("title"),
        external_ref=terms.get("external_ref"),
        filed_at=record.received_at,
        sealed_at=record.sealed_at,
        document_sha256=record.document_sha256,
        document_size=record.document_size,
        media_type=record.media_type,
        terms_sha256=record.terms_sha256,
        record_sha256=record.sha256,
        signatures=signatures,
        timestamp=TimestampFacts(stamp.signer_subject, format_time(stamp.gen_time), stamp.serial_number),
        leaf_index=index,
        tree_size=size,
        root_hash=log.root(size).hex(),
        checkpoint_origin=notary.origin,
        checkpoint_verifier_key=notary.signer.verifier_key,
        attachments=bundle_attachments(bundle_members(parts)),
    )
    return (dataclasses.replace(facts, **changes) if changes else facts), build_bundle(parts)
