"""Errors of checking a certificate PDF, one code each."""

from __future__ import annotations

from notary.verify.errors import InvalidSignature, MalformedInput, VerificationError


class MalformedCertificate(MalformedInput):
    """Not a PDF the verifier will open, or a PDF without exactly one notary signature."""

    code = "malformed_certificate"


class PdfSignatureInvalid(InvalidSignature):
    """The PAdES signature does not verify over the PDF's signed byte ranges."""

    code = "pdf_signature_invalid"


class UntrustedPdfSigner(VerificationError):
    """The signer is not a document-signing certificate chaining to a trusted notary root."""

    code = "untrusted_pdf_signer"


class PdfLaterUpdates(VerificationError):
    """Bytes follow the signed revision: the file is not only what the notary signed."""

    code = "pdf_later_updates"


class PdfTimestampMissing(VerificationError):
    """The signature carries no signature timestamp (PAdES B-T)."""

    code = "pdf_timestamp_missing"


class PdfRecordMismatch(VerificationError):
    """The record carried or given is not the one the certificate names."""

    code = "pdf_record_mismatch"


class PdfFactsMismatch(VerificationError):
    """A value the certificate prints differs from the signed record or terms."""

    code = "pdf_facts_mismatch"
