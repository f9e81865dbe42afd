"""A verification report as the pages show it: the verdict, each check in words, the facts.

The report itself is the verifier's (``notary.verify``): this only arranges it for a person
and never decides anything. Each check gets a title and a line on what it means from the
message catalogue; a check this page does not know yet is shown by its name and reason.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from notary.verify.canonical import canonical_json, parse_json
from notary.verify.errors import MalformedInput
from notary.verify.evidence.bundle import EvidenceBundle
from notary.verify.export.report import ExportReport
from notary.verify.report import BELOW_WITNESS_POLICY, TRUST_FILE, VerificationReport
from notary.verify_pdf import CertificateReport

VALID, INTEGRITY_ONLY, BELOW_WITNESSES, INVALID = "valid", "integrity_only", "below_witness_policy", "invalid"


def check_words() -> dict[str, tuple[str, str]]:
    """Check name → (what it is, what passing it means)."""
    return {
        "trust": (
            _("Trust anchors"),
            _(
                "The keys the checks rely on: this notary's published trust file, or only the keys inside the file."
            ),
        ),
        "manifest": (
            _("Contents of the bundle"),
            _("Every file in the bundle is listed with its SHA-256 fingerprint, and nothing else is in it."),
        ),
        "record_fields": (
            _("Evidence record"),
            _("The record (the entry in the log) is complete and well formed."),
        ),
        "document_digest": (
            _("Contract document"),
            _("The document in the bundle is byte for byte the one both parties signed."),
        ),
        "terms_digest": (
            _("Terms"),
            _("The terms (amount, rate, term, dates) are exactly the ones both parties signed."),
        ),
        "signature_investor": (
            _("Investor's signature"),
            _("The investor's own key signed this contract, this document and these terms."),
        ),
        "signature_borrower": (
            _("Borrower's signature"),
            _("The borrower's own key signed this contract, this document and these terms."),
        ),
        "signing_times": (
            _("Signing times"),
            _(
                "Each party signed after the contract was filed, before it was sealed, and not after its sign-by date."
            ),
        ),
        "identity_investor": (
            _("Investor's identity"),
            _(
                "The identity the record names for the investor is bound to the investor's key; it is proven only when the investor's opening is given."
            ),
        ),
        "identity_borrower": (
            _("Borrower's identity"),
            _(
                "The identity the record names for the borrower is bound to the borrower's key; it is proven only when the borrower's opening is given."
            ),
        ),
        "openings": (
            _("Identity openings"),
            _("Every identity opening given (a file only its holder has) matches a party to the contract."),
        ),
        "record_timestamp": (
            _("Trusted timestamp"),
            _("A timestamp authority certified when the record existed (RFC 3161)."),
        ),
        "log_key": (_("Log key"), _("The log's public key in the bundle is well formed.")),
        "checkpoint_signature": (
            _("Signed log checkpoint"),
            _("The log's checkpoint (its size and root) is signed by the log key."),
        ),
        "inclusion_proof": (
            _("Inclusion in the log"),
            _("The record is provably in the log at that checkpoint (Merkle inclusion proof)."),
        ),
        "checkpoint_timestamp": (
            _("Checkpoint timestamp"),
            _("A timestamp authority certified when the checkpoint existed."),
        ),
        "consistency": (
            _("Consistency with a newer checkpoint"),
            _("The log only grew since: nothing in it was changed or removed."),
        ),
        "key_events": (
            _("Later key events"),
            _(
                "A revocation or replacement of a signer's key after signing, if the bundle carries one, is in the log; none carried proves nothing."
            ),
        ),
        "witness_cosignatures": (
            _("Witness cosignatures"),
            _(
                "Enough independent witnesses cosigned the log's checkpoint: the log shows them all the same history."
            ),
        ),
        "notary_certificate": (
            _("Notary's certificate"),
            _("The notary's signing certificate chains to the trusted notary root."),
        ),
        "export_manifest": (
            _("Export manifest"),
            _("The export's list of bundles is complete and well formed."),
        ),
        "manifest_signature": (
            _("Notary's signature on the export"),
            _("The notary signed this export's manifest."),
        ),
        "manifest_timestamp": (
            _("Export timestamp"),
            _("A timestamp authority certified when the notary signed this export (RFC 3161)."),
        ),
        "members": (
            _("Contents of the export"),
            _("The export holds exactly the bundles its manifest lists."),
        ),
        "bundle_digests": (
            _("Bundle fingerprints"),
            _("Every bundle is byte for byte the one the manifest lists."),
        ),
        "bundles": (_("Every bundle"), _("Every bundle in the export verifies on its own.")),
        "scope": (_("Case scope"), _("Every bundle belongs to the case's scope.")),
        "pdf_no_later_updates": (
            _("Nothing added after signing"),
            _(
                "The notary's signature covers the whole PDF: nothing was added or changed after it was signed."
            ),
        ),
        "pdf_timestamp": (
            _("Certificate's timestamp"),
            _("A timestamp authority certified when the notary signed the certificate (RFC 3161)."),
        ),
        "pdf_signature": (
            _("Notary's signature on the certificate"),
            _(
                "The certificate is signed by the notary's document-signing key, which chains to the trusted notary root."
            ),
        ),
        "pdf_record": (
            _("Record the certificate names"),
            _("The evidence record checked is exactly the one the certificate names."),
        ),
        "pdf_facts": (
            _("Printed values"),
            _(
                "Every value the certificate prints (amount, rate, dates, parties, times, log position) is the signed one."
            ),
        ),
    }


def _checks(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    words = check_words()
    shown = []
    for check in checks:
        title, meaning = words.get(check["name"], (check["name"], check["reason"]))
        shown.append({**check, "title": title, "meaning": meaning})
    return shown


def _verdict(report: dict[str, Any]) -> str:
    if report.get("verdict") == BELOW_WITNESS_POLICY:
        return BELOW_WITNESSES
    if not report["valid"]:
        return INVALID
    return VALID if report["trust_basis"] == TRUST_FILE else INTEGRITY_ONLY


def bundle_view(report: VerificationReport, data: bytes, document_sha256: str | None) -> dict[str, Any]:
    """The view of a bundle's report. The terms are read from the bundle only when their
    digest check passed (they are then what the parties signed)."""
    as_dict = report.to_dict()
    terms = None
    terms_check = report.check("terms_digest")
    if terms_check is not None and terms_check.passed:
        terms = _bundle_terms(data)
    your_copy = _your_copy(report, document_sha256)
    return {
        "kind": "bundle",
        "verdict": _verdict(as_dict),
        "report": as_dict,
        "checks": _checks(as_dict["checks"]),
        "failed": [check for check in _checks(as_dict["checks"]) if check["status"] == "failed"],
        "terms": terms,
        "your_copy": your_copy,
        "report_json": canonical_json(as_dict).decode("utf-8"),
    }


def _your_copy(report: VerificationReport, document_sha256: str | None) -> dict[str, Any] | None:
    """The reader's own document (its fingerprint) against the one the parties signed."""
    if document_sha256 is None:
        return None
    return {
        "sha256": document_sha256,
        "matches": report.document_sha256 is not None and document_sha256 == report.document_sha256,
        "known": report.document_sha256 is not None,
    }


def _bundle_terms(data: bytes) -> dict[str, Any] | None:
    try:
        raw = EvidenceBundle.from_zip(data).get("terms.json")
        terms = parse_json(raw, what="terms.json") if raw is not None else None
    except MalformedInput:
        return None
    return terms if isinstance(terms, dict) else None


def certificate_view(result: CertificateReport, document_sha256: str | None) -> dict[str, Any]:
    """The view of a certificate PDF's report: as a bundle's, plus the certificate's number,
    where its record came from and what these inputs could not establish. The terms shown
    are the certificate's printed values, and only when ``pdf_facts`` showed them to be the
    signed ones."""
    report = result.report
    as_dict = result.to_dict()
    your_copy = _your_copy(report, document_sha256)
    gaps = []
    if report.trust_basis != TRUST_FILE:
        gaps.append("origin")
    if result.record_source is None:
        gaps.append("record")
    else:
        if result.printed is None:
            gaps.append("printed_values")
        if report.newer_checkpoint is None:
            gaps.append("still_in_log")
    if report.document_sha256 is not None and document_sha256 is None:
        gaps.append("document")
    checks = _checks(as_dict["checks"])
    return {
        "kind": "certificate",
        "verdict": _verdict(as_dict),
        "report": as_dict,
        "checks": checks,
        "failed": [check for check in checks if check["status"] == "failed"],
        "terms": result.printed_values_checked,
        "your_copy": your_copy,
        "gaps": gaps,
        "report_json": canonical_json(as_dict).decode("utf-8"),
    }


def export_view(report: ExportReport) -> dict[str, Any]:
    """The view of a case export's report: the export's checks and each bundle's outcome."""
    as_dict = report.to_dict()
    bundles = as_dict.get("bundles", [])
    return {
        "kind": "export",
        "verdict": _verdict(as_dict),
        "report": as_dict,
        "checks": _checks(as_dict["checks"]),
        "failed": [check for check in _checks(as_dict["checks"]) if check["status"] == "failed"],
        "bundles": bundles,
        "valid_bundles": sum(1 for bundle in bundles if bundle.get("valid")),
        "report_json": report.to_json().decode("utf-8"),
    }
