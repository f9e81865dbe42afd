"""Offline checks of the evidence certificate PDF, beside :mod:`notary.verify`.

Checking a certificate means checking a PAdES signature over the whole byte range, that no
incremental update follows it, and its RFC 3161 timestamp; that uses pyHanko, which
:mod:`notary.verify` must not load. So it lives here: the court's offline verifier is the two
packages together. It imports :mod:`notary.verify` and nothing else of the notary.

>>> from notary.verify_pdf import verify_certificate
>>> report = verify_certificate(pdf_bytes, trust=trust_file)      # doctest: +SKIP
>>> report.valid, report.not_established                           # doctest: +SKIP
"""

from notary.verify_pdf.certificate import (
    PDF_CHECK_NAMES,
    SUBJECT,
    CertificateReport,
    carries_record,
    online_tree_size,
    render_certificate_text,
    verify_certificate,
)
from notary.verify_pdf.errors import (
    MalformedCertificate,
    PdfFactsMismatch,
    PdfLaterUpdates,
    PdfRecordMismatch,
    PdfSignatureInvalid,
    PdfTimestampMissing,
    UntrustedPdfSigner,
)

__all__ = [
    "PDF_CHECK_NAMES",
    "SUBJECT",
    "CertificateReport",
    "MalformedCertificate",
    "PdfFactsMismatch",
    "PdfLaterUpdates",
    "PdfRecordMismatch",
    "PdfSignatureInvalid",
    "PdfTimestampMissing",
    "UntrustedPdfSigner",
    "carries_record",
    "online_tree_size",
    "render_certificate_text",
    "verify_certificate",
]
