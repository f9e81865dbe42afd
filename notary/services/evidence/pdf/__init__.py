"""The evidence certificate: a bilingual PDF of a sealed contract, signed by the notary (PAdES).

``render_certificate(facts)`` makes the unsigned, reproducible PDF; a :class:`CertificateSigner`
(built once per process) signs it with the notary key and a signature timestamp;
``issue_certificate`` does both and returns the bytes with their SHA-256 for the caller to store.
"""

from notary.services.evidence.pdf.archival import Attachment, bundle_attachments
from notary.services.evidence.pdf.facts import (
    CertificateFacts,
    InvalidCertificateFacts,
    PartyFacts,
    SignatureFacts,
    TimestampFacts,
    certificate_json,
    facts_from_json,
    facts_to_json,
    mask_id_number,
    verification_url,
)
from notary.services.evidence.pdf.fonts import CertificateFontMissing
from notary.services.evidence.pdf.render import qr_payload, render_certificate
from notary.services.evidence.pdf.sign import (
    CallableTimeStamper,
    CertificateSigner,
    CertificateSigningFailed,
    SignedCertificate,
    issue_certificate,
    sign_certificate,
)

__all__ = [
    "Attachment",
    "CallableTimeStamper",
    "CertificateFacts",
    "CertificateFontMissing",
    "CertificateSigner",
    "CertificateSigningFailed",
    "InvalidCertificateFacts",
    "PartyFacts",
    "SignatureFacts",
    "SignedCertificate",
    "TimestampFacts",
    "bundle_attachments",
    "certificate_json",
    "facts_from_json",
    "facts_to_json",
    "issue_certificate",
    "mask_id_number",
    "qr_payload",
    "render_certificate",
    "sign_certificate",
    "verification_url",
]
