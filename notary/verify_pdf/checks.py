"""The checks of a certificate PDF: each returns :class:`Passed` or raises one typed error.

``pdf_no_later_updates``: the signature's byte ranges cover the whole file.
``pdf_timestamp``: the signature carries an RFC 3161 token over its own value, by a trusted
authority (the project's own timestamp verifier, strict EKU included).
``pdf_signature``: the CMS signature verifies over the byte ranges (pyHanko), by a
document-signing certificate that chains to a trusted notary root *at the token's time*, so
a certificate stays checkable after the notary's certificate has expired.
``pdf_record``: the record carried (or the bundle's) is the one the certificate names.
``pdf_facts``: every value the certificate prints (``certificate.json``) equals the signed
record's, terms' and timestamp's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from notary.verify.canonical import parse_json
from notary.verify.evidence.checks import CLOCK_SKEW, DOCUMENT_SIGNING, Anchors, Passed
from notary.verify.evidence.errors import DigestMismatch, TimestampInFuture
from notary.verify.evidence.record import EvidenceRecord
from notary.verify.payloads import format_time
from notary.verify.report import LogPosition, SigningTime
from notary.verify.timestamp.chain import CertificateNotValidAt, UntrustedChain, validate_path
from notary.verify.timestamp.verifier import TimestampInfo, verify_timestamp
from notary.verify_pdf.document import CertificatePdf
from notary.verify_pdf.errors import (
    PdfFactsMismatch,
    PdfLaterUpdates,
    PdfRecordMismatch,
    PdfSignatureInvalid,
    PdfTimestampMissing,
    UntrustedPdfSigner,
)

_TIMESTAMP_ATTRIBUTE = "signature_time_stamp_token"


def _certificates(pdf: CertificatePdf) -> list[x509.Certificate]:
    return [
        x509.load_der_x509_certificate(cert.chosen.dump())
        for cert in pdf.signature.signed_data["certificates"]
        if cert.name == "certificate"
    ]


def check_no_later_updates(pdf: CertificatePdf) -> Passed[None]:
    """Raises :class:`PdfLaterUpdates` unless the signed byte ranges end at the file's end."""
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    signature = pdf.signature
    signature.compute_integrity_info(skip_diff=True)
    if signature.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        signed_until = signature.byte_range[2] + signature.byte_range[3]
        raise PdfLaterUpdates(
            f"the signature covers the first {signed_until} bytes of {len(pdf.data)}: something was "
            "added to the file after the notary signed it",
            details={"signed_bytes": signed_until, "file_bytes": len(pdf.data)},
        )
    return Passed(
        f"the signature covers the whole file ({len(pdf.data)} bytes): nothing was added after signing",
        {"file_bytes": len(pdf.data)},
    )


def check_pdf_timestamp(pdf: CertificatePdf, anchors: Anchors, now: dt.datetime) -> Passed[TimestampInfo]:
    """The signature timestamp: a valid token over the signature value, by a trusted authority.

    Raises :class:`PdfTimestampMissing`, :class:`TimestampInFuture` and what
    :func:`~notary.verify.timestamp.verifier.verify_timestamp` raises.
    """
    signer_info = pdf.signature.signer_info
    unsigned = signer_info["unsigned_attrs"].native or []
    tokens = [
        attribute
        for attribute in signer_info["unsigned_attrs"]
        if attribute["type"].native == _TIMESTAMP_ATTRIBUTE
    ]
    if not tokens or not unsigned:
        raise PdfTimestampMissing("the signature carries no signature timestamp")
    token = tokens[0]["values"][0].dump()
    # Without a trust file, the roots are the self-signed certificates the PDF itself carries
    # (in the token and beside the signer): integrity, not origin.
    chain = [*_token_certificates(token), *_certificates(pdf)]
    info = verify_timestamp(
        token,
        message=signer_info["signature"].native,
        trust_roots=anchors.tsa_roots(chain),
        intermediates=chain,
    )
    if info.gen_time > now + CLOCK_SKEW:
        raise TimestampInFuture(
            "the signature timestamp claims a time after the verifier's clock",
            details={"gen_time": format_time(info.gen_time), "now": format_time(now)},
        )
    return Passed(
        f"the signature was timestamped at {format_time(info.gen_time)} by {info.signer_subject}",
        {
            "gen_time": format_time(info.gen_time),
            "authority": info.signer_subject,
            "serial_number": str(info.serial_number),
        },
        info,
    )


def _token_certificates(token: bytes) -> list[x509.Certificate]:
    from asn1crypto import cms

    signed_data = cms.ContentInfo.load(token)["content"]
    return [
        x509.load_der_x509_certificate(cert.chosen.dump())
        for cert in signed_data["certificates"]
        if cert.name == "certificate"
    ]


def check_pdf_signature(pdf: CertificatePdf, anchors: Anchors, stamp: TimestampInfo) -> Passed[None]:
    """The CMS signature over the byte ranges, by the notary's document-signing certificate,
    trusted at the timestamp's time. Raises :class:`PdfSignatureInvalid`, :class:`UntrustedPdfSigner`."""
    from pyhanko.sign.validation.generic_cms import validate_sig_integrity

    signature = pdf.signature
    signer = x509.load_der_x509_certificate(signature.signer_cert.dump())
    intact, valid = validate_sig_integrity(
        signature.signer_info, signature.signer_cert, "data", signature.compute_digest()
    )
    if not intact:
        raise PdfSignatureInvalid("the signed bytes of the PDF were changed: their digest does not match")
    if not valid:
        raise PdfSignatureInvalid("the signature value does not verify with the signer's key")
    try:
        usages = list(signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound as exc:
        raise UntrustedPdfSigner("the signer's certificate names no extended key usage") from exc
    if DOCUMENT_SIGNING not in usages:
        raise UntrustedPdfSigner("the signer's certificate is not for document signing")
    chain = _certificates(pdf)
    try:
        path = validate_path(
            signer, trust_roots=anchors.notary_roots(chain), intermediates=chain, at=stamp.gen_time
        )
    except (UntrustedChain, CertificateNotValidAt) as exc:
        raise UntrustedPdfSigner(exc.message, details=exc.details) from exc
    fingerprint = hashlib.sha256(signer.public_bytes(Encoding.DER)).hexdigest()
    return Passed(
        f"signed by {signer.subject.rfc4514_string()}, which chains to {path[-1].subject.rfc4514_string()} "
        f"at the timestamp's time",
        {
            "signer": signer.subject.rfc4514_string(),
            "root": path[-1].subject.rfc4514_string(),
            "signer_sha256": fingerprint,
            "subfilter": str(signature.sig_object.get("/SubFilter", "")),
        },
    )


def check_pdf_record(pdf: CertificatePdf, record: bytes, source: str) -> Passed[None]:
    """``record`` (carried in the PDF, or the bundle's) is the record the certificate names.

    Raises :class:`PdfRecordMismatch`.
    """
    digest = hashlib.sha256(record).hexdigest()
    named = pdf.named_record_sha256
    if named is not None:
        if digest != named:
            raise PdfRecordMismatch(
                f"the {source} record has SHA-256 {digest}, the certificate names {named}",
                details={"named": named, "given": digest},
            )
        return Passed(
            f"the {source} record is the one the certificate names ({named[:16]}…)", {"sha256": named}
        )
    # Certificates issued before certificate.json was carried name their contract only.
    contract_id = pdf.contract_id
    try:
        record_contract = parse_json(record, what="record.json").get("contract_id")
    except Exception as exc:  # an unreadable record is the record check's business
        raise PdfRecordMismatch(f"the {source} record cannot be read") from exc
    if contract_id is None or record_contract != contract_id:
        raise PdfRecordMismatch(
            f"the {source} record is of contract {record_contract}, the certificate of {contract_id}",
            details={"named_contract": contract_id, "given_contract": record_contract},
        )
    return Passed(
        f"the {source} record is of contract {contract_id}, the one the certificate names (this "
        "certificate predates certificate.json and names no record digest)",
        {"sha256": digest, "contract_id": contract_id},
    )


def check_pdf_facts(
    pdf: CertificatePdf,
    record: EvidenceRecord,
    terms: Mapping[str, Any],
    signing_time: SigningTime | None,
    log: LogPosition | None,
) -> Passed[None]:
    """Every value in ``certificate.json`` (what the certificate prints) equals the signed one.

    Raises :class:`PdfFactsMismatch` naming each value that differs.
    """
    facts = pdf.facts or {}
    signatures = dict(record.signatures)
    expected: dict[str, Any] = {
        "contract_id": record.contract_id,
        "platform_id": record.platform_id,
        "document_sha256": record.document_sha256,
        "document_size": record.document_size,
        "media_type": record.media_type,
        "terms_sha256": record.terms_sha256,
        "record_sha256": record.sha256,
        "filed_at": record.received_at,
        "sealed_at": record.sealed_at,
        "leaf_index": record.sequence,
    }
    for name in ("amount", "currency", "annual_rate", "term_months", "start_date", "sign_by"):
        expected[name] = terms.get(name)
    for name in ("title", "external_ref"):
        expected[name] = terms.get(name)  # absent in the terms: absent (None) on the certificate
    for role, entry in signatures.items():
        expected[f"{role}.party_id"] = entry.party_id
    shown: dict[str, Any] = {name: facts.get(name) for name in expected if "." not in name}
    for role in signatures:
        shown[f"{role}.party_id"] = (facts.get(role) or {}).get("party_id")
    printed = {entry.get("role"): entry for entry in facts.get("signatures", []) if isinstance(entry, dict)}
    for role, entry in signatures.items():
        for name in ("key_fingerprint", "signed_at", "algorithm", "identity_assurance"):
            expected[f"signatures.{role}.{name}"] = getattr(entry, name)
            shown[f"signatures.{role}.{name}"] = (printed.get(role) or {}).get(name)
    if signing_time is not None:
        timestamp = facts.get("timestamp") or {}
        expected["timestamp.gen_time"] = signing_time.time
        shown["timestamp.gen_time"] = timestamp.get("gen_time")
        expected["timestamp.serial_number"] = format(int(signing_time.serial_number), "x")
        shown["timestamp.serial_number"] = timestamp.get("serial_number")
    if log is not None:
        for name, value in (("tree_size", log.tree_size), ("root_hash", log.root_hash)):
            expected[name] = value
            shown[name] = facts.get(name)
        expected["checkpoint_origin"] = log.origin
        shown["checkpoint_origin"] = facts.get("checkpoint_origin")
    differ = sorted(name for name in expected if shown.get(name) != expected[name])
    if differ:
        raise PdfFactsMismatch(
            f"the certificate prints {len(differ)} value(s) other than the signed ones: {', '.join(differ)}",
            details={name: {"printed": shown.get(name), "signed": expected[name]} for name in differ},
        )
    return Passed(
        f"all {len(expected)} values the certificate prints equal the signed record's, terms' and "
        "timestamp's",
        {"compared": sorted(expected)},
    )


def check_document(record: EvidenceRecord, document: bytes) -> Passed[str]:
    """The document given is the one the record names (SHA-256 and size); raises :class:`DigestMismatch`."""
    digest = hashlib.sha256(document).hexdigest()
    if digest != record.document_sha256 or len(document) != record.document_size:
        raise DigestMismatch(
            f"the document given ({digest[:16]}…, {len(document)} bytes) is not the one signed "
            f"({record.document_sha256[:16]}…, {record.document_size} bytes)",
            details={"given": digest, "signed": record.document_sha256},
        )
    return Passed(f"the document given is the one signed ({digest[:16]}…)", {"sha256": digest}, digest)
