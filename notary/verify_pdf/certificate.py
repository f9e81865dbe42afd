"""Verify a certificate PDF from the PDF alone, or with its bundle, a document, a newer checkpoint.

What can be established depends on what is at hand, and the report says which:

* the PDF alone: the notary's signature over the whole file, its timestamp, and, when the
  certificate carries its record and proofs (certificates of ``notary-record/2`` contracts),
  the record it names, the parties' signatures, the record's timestamp and its inclusion in a
  signed checkpoint of the log, and that every printed value is the signed one;
* ``bundle``: the same from the evidence bundle, and the document it holds;
* ``document``: the document a person holds, against the record;
* ``newer_checkpoint`` and ``consistency_proof`` (what ``--online`` fetches): that the log
  still holds the record in a later tree.

The checks of the record and the log are :func:`notary.verify.evidence.verifier.verify_evidence`'s,
run on the carried files as on a bundle without its manifest and document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from notary.verify.canonical import canonical_json, parse_json
from notary.verify.errors import NotaryError
from notary.verify.evidence.bundle import EvidenceBundle
from notary.verify.evidence.checks import Anchors, Passed
from notary.verify.evidence.record import parse_record
from notary.verify.evidence.verifier import verify_evidence
from notary.verify.identity import IdentityOpening
from notary.verify.payloads import format_time
from notary.verify.report import (
    FAILED,
    INTEGRITY_ONLY_BASIS,
    NOT_RUN,
    PASSED,
    TRUST_FILE,
    Check,
    VerificationReport,
    WitnessFacts,
    render_text,
)
from notary.verify.trust import TrustChoice, TrustFile, anchoring_file, trust_basis
from notary.verify_pdf.checks import (
    check_document,
    check_no_later_updates,
    check_pdf_facts,
    check_pdf_record,
    check_pdf_signature,
    check_pdf_timestamp,
)
from notary.verify_pdf.document import CERTIFICATE_MEMBER, CertificatePdf

SUBJECT = "notary-certificate/1"
RECORD = "record.json"
TERMS = "terms.json"
INCLUSION = "log/inclusion.json"
#: Checks a bundle's verification makes that have no meaning for files carried in a PDF: the
#: PDF carries neither the bundle's manifest nor the document (its signature covers them all).
_NOT_CARRIED = frozenset({"manifest", "document_digest"})
#: The checks a certificate adds to its bundle's (:data:`~notary.verify.report.CHECK_NAMES`),
#: in the order they run. The report may carry only these and the bundle's: a reader (the
#: /verify page) gives each of them words.
PDF_CHECK_NAMES = (
    "pdf_no_later_updates",
    "pdf_timestamp",
    "pdf_signature",
    "pdf_record",
    "pdf_facts",
    "document_digest",
)
_SOURCE_NAMES = {"carried": "carried", "bundle": "bundle's", "notary_log": "notary's"}


class _Runner:
    """Runs checks in order, keeps what each established; any failure becomes a failed check."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.values: dict[str, Any] = {}

    def run(self, name: str, check: Callable[[], Passed[Any]], *, needs: tuple[str, ...] = ()) -> Any:
        if name not in PDF_CHECK_NAMES:  # a new check must be named there first
            raise ValueError(f"{name!r} is not in PDF_CHECK_NAMES")
        blocked = [need for need in needs if need not in self.values]
        if blocked:
            self.checks.append(
                Check(
                    name,
                    NOT_RUN,
                    f"not run: needs {', '.join(blocked)}, which did not pass",
                    {"needs": blocked},
                )
            )
            return None
        try:
            outcome = check()
        except NotaryError as exc:
            self.checks.append(Check(name, FAILED, exc.message, exc.details or {}, exc.code))
            return None
        except Exception as exc:  # fail closed on anything unforeseen
            self.checks.append(
                Check(name, FAILED, f"the check could not complete: {type(exc).__name__}", {}, "check_error")
            )
            return None
        self.checks.append(Check(name, PASSED, outcome.reason, outcome.details))
        self.values[name] = outcome.value
        return outcome.value


@dataclass(frozen=True)
class CertificateReport:
    """The outcome of verifying a certificate PDF: the checks, and what stayed unestablished.

    ``report`` holds every check that ran (subject ``notary-certificate/1``); ``record_source``
    is ``carried`` (the PDF's own files), ``bundle`` or ``None`` (no record at hand);
    ``not_established`` says, in words, what the inputs could not prove and what would.
    ``valid`` is the report's: every check that ran passed. ``printed`` is the certificate's own
    ``certificate.json`` (the values it prints), vouched for only when ``pdf_facts`` passed;
    it is not part of the report's JSON.
    """

    report: VerificationReport
    certificate_number: str | None
    record_source: str | None
    not_established: tuple[str, ...]
    printed: Mapping[str, Any] | None = None

    @property
    def printed_values_checked(self) -> Mapping[str, Any] | None:
        """The values the certificate prints, when ``pdf_facts`` showed them equal to the
        signed record's, terms' and timestamp's; ``None`` otherwise."""
        check = self.report.check("pdf_facts")
        return self.printed if check is not None and check.passed else None

    @property
    def valid(self) -> bool:
        """Every check ran and passed (what was not established is listed, not guessed)."""
        return self.report.valid

    @property
    def origin_established(self) -> bool:
        """Valid, and anchored in the trust file the verifier chose."""
        return self.report.origin_established

    @property
    def verdict(self) -> str:
        """The report's verdict (``valid``, ``valid_integrity_only``, ``invalid``...)."""
        return self.report.verdict

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON object, with the certificate's number, the record's source and
        what was not established."""
        return {
            **self.report.to_dict(),
            "certificate_number": self.certificate_number,
            "record_source": self.record_source,
            "not_established": list(self.not_established),
        }

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785): equal reports are equal bytes."""
        return canonical_json(self.to_dict())


def verify_certificate(
    data: bytes,
    *,
    trust: TrustChoice,
    bundle: bytes | None = None,
    document: bytes | None = None,
    openings: Sequence[IdentityOpening] = (),
    newer_checkpoint: str | bytes | None = None,
    consistency_proof: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    bundle_source: str = "bundle",
) -> CertificateReport:
    """Verify the certificate PDF ``data``; see the module's docstring for what each input adds.

    ``bundle_source`` names where ``bundle`` came from in the report (``bundle``: the caller's;
    ``notary_log``: built by the notary from its own log, for ``POST /verify``).
    ``trust`` anchors the notary's, the authorities' and the log's keys, as for a bundle: a
    :class:`TrustFile` (origin established when valid), ``CallerSupplied(trust_file)`` (checked
    against, origin not established) or ``INTEGRITY_ONLY`` (the keys the certificate itself
    carries: integrity, not origin); there is no default. ``openings`` (identity openings)
    prove the parties' identities against the record, carried or in ``bundle``. Raises
    :class:`~notary.verify_pdf.errors.MalformedCertificate` for a file that is no certificate
    PDF, :class:`~notary.verify.archive.MalformedBundle` for an unusable ``bundle``, and
    ``TypeError`` when only one of ``newer_checkpoint`` and ``consistency_proof`` is given.
    """
    if (newer_checkpoint is None) != (consistency_proof is None):
        raise TypeError("give both newer_checkpoint and consistency_proof, or neither")
    basis = trust_basis(trust)  # refuses a missing choice before anything is opened
    trust_file = anchoring_file(trust)
    moment = now or dt.datetime.now(dt.UTC)
    pdf = CertificatePdf.from_bytes(data)
    evidence, source = _evidence(pdf, bundle)
    if source == "bundle":
        source = bundle_source
    anchors = Anchors(trust_file)
    runner = _Runner()
    runner.run("pdf_no_later_updates", lambda: check_no_later_updates(pdf))
    stamp = runner.run("pdf_timestamp", lambda: check_pdf_timestamp(pdf, anchors, moment))
    runner.run("pdf_signature", lambda: check_pdf_signature(pdf, anchors, stamp), needs=("pdf_timestamp",))

    inner: VerificationReport | None = None
    if evidence is not None:
        record_bytes = evidence.get(RECORD) or b""
        runner.run(
            "pdf_record",
            lambda: check_pdf_record(pdf, record_bytes, _SOURCE_NAMES[source or "bundle"]),
            needs=("pdf_no_later_updates", "pdf_signature"),
        )
        inner = verify_evidence(
            evidence,
            document=document if source != "carried" else None,
            openings=openings,
            trust=trust,
            newer_checkpoint=newer_checkpoint,
            consistency_proof=consistency_proof,
            now=moment,
        )
        # pdf_facts reads the record and terms, so it waits for the bundle checks that vouch for them.
        runner.values.update({check.name: None for check in inner.checks if check.passed})
        if pdf.facts is not None:
            runner.run(
                "pdf_facts",
                lambda: _facts(pdf, evidence, inner),
                needs=("pdf_record", "record_fields", "terms_digest"),
            )
        if source == "carried" and document is not None:
            runner.run(
                "document_digest",
                lambda: check_document(parse_record(record_bytes), document),
                needs=("pdf_record",),
            )
    checks = [
        Check("trust", PASSED, *_describe_trust(trust_file, basis)),
        *runner.checks,
        *(
            check
            for check in (inner.checks if inner else ())
            if check.name != "trust" and not (source == "carried" and check.name in _NOT_CARRIED)
        ),
    ]
    report = VerificationReport(
        checks=tuple(checks),
        trust_basis=basis,
        verified_at=format_time(moment),
        subject=SUBJECT,
        contract_id=pdf.contract_id,
        record_sha256=pdf.named_record_sha256 or (inner.record_sha256 if inner else None),
        document_sha256=runner.values.get("document_digest")
        or (inner.document_sha256 if inner else None)
        or _signed_document(evidence, runner, inner),
        signing_time=inner.signing_time if inner else None,
        log=inner.log if inner else None,
        newer_checkpoint=inner.newer_checkpoint if inner else None,
        parties=inner.parties if inner else (),
        # Who cosigned the record's checkpoint (or the newer one proven consistent with it).
        witnesses=inner.witnesses if inner else WitnessFacts(status="not_checked"),
    )
    facts = pdf.facts or {}
    number = facts.get("certificate_number")
    return CertificateReport(
        report=report,
        certificate_number=number if isinstance(number, str) else None,
        record_source=source,
        not_established=_not_established(pdf, source, basis, document, newer_checkpoint, bool(openings)),
        printed=pdf.facts,
    )


def _evidence(pdf: CertificatePdf, bundle: bytes | None) -> tuple[EvidenceBundle | None, str | None]:
    if bundle is not None:
        return EvidenceBundle.from_zip(bundle), "bundle"
    if RECORD in pdf.carried:
        members = [(name, content) for name, content in pdf.carried.items() if name != CERTIFICATE_MEMBER]
        return EvidenceBundle.of(members), "carried"
    return None, None


def _signed_document(
    evidence: EvidenceBundle | None, runner: _Runner, inner: VerificationReport | None
) -> str | None:
    """The SHA-256 of the document the parties signed, as the record the certificate names and
    carries says, once that record is shown to be the named one and well formed: what a
    reader's own copy is compared with when no document was given here."""
    fields = inner.check("record_fields") if inner is not None else None
    if evidence is None or "pdf_record" not in runner.values or fields is None or not fields.passed:
        return None
    return parse_record(evidence.get(RECORD) or b"").document_sha256


def _facts(pdf: CertificatePdf, evidence: EvidenceBundle, inner: VerificationReport) -> Passed[None]:
    record = parse_record(evidence.get(RECORD) or b"")
    terms = parse_json(evidence.get(TERMS) or b"", what=TERMS)
    return check_pdf_facts(pdf, record, terms, inner.signing_time, inner.log)


def _describe_trust(trust: TrustFile | None, basis: str) -> tuple[str, dict[str, Any]]:
    if trust is None:
        return (
            "integrity only, as chosen: the keys the certificate carries were used, which proves "
            "integrity but not origin",
            {"trust_basis": INTEGRITY_ONLY_BASIS},
        )
    whose = "trust file" if basis == TRUST_FILE else "the caller's trust file (not this notary's)"
    return (
        f"{whose}: {len(trust.notary_roots)} notary root(s), {len(trust.tsa_roots)} TSA root(s), "
        f"{len(trust.logs)} log key(s); the certificate's own keys were not relied on",
        {"trust_basis": basis},
    )


def _not_established(
    pdf: CertificatePdf,
    source: str | None,
    basis: str,
    document: bytes | None,
    newer_checkpoint: str | bytes | None,
    openings_given: bool,
) -> tuple[str, ...]:
    missing = []
    if basis == INTEGRITY_ONLY_BASIS:
        missing.append("origin: integrity only was chosen, so the keys inside the certificate were trusted")
    elif basis != TRUST_FILE:
        missing.append(
            "origin: the trust file was the caller's, not one this verifier vouches for; verify with the "
            "notary's own trust file (--trust) to establish who signed"
        )
    if source is None:
        missing.append(
            "the record itself, the parties' signatures, the record's timestamp and its place in the "
            "log: this certificate does not carry its record (certificates of notary-record/1 contracts "
            "never do: their unsalted identity hashes must not sit beside the masked ID numbers); give "
            "the evidence bundle (--bundle)"
        )
    if source is None and openings_given:
        missing.append("the parties' identities in the openings given: they are checked against the record")
    if pdf.facts is None:
        missing.append(
            "that each printed value is the signed one: this certificate predates certificate.json"
        )
    if source in (None, "carried") and document is None:
        missing.append("the document itself: give it (--document) or the evidence bundle (--bundle)")
    if source is not None and newer_checkpoint is None:
        missing.append(
            "that the log still holds the record today: give --online URL (or a newer checkpoint and "
            "its consistency proof)"
        )
    return tuple(missing)


def carries_record(data: bytes) -> bool:
    """Whether the certificate PDF ``data`` carries its evidence record (certificates of
    ``notary-record/2`` contracts do): what ``--opening`` and ``--online`` need when no bundle
    is given. Raises :class:`MalformedCertificate` for an unreadable PDF."""
    return RECORD in CertificatePdf.from_bytes(data).carried


def online_tree_size(data: bytes, bundle: bytes | None = None) -> int | None:
    """The tree size of the checkpoint the certificate (or ``bundle``) proves inclusion in:
    what a newer checkpoint's consistency proof must start from. ``None`` when neither
    carries an inclusion proof. Raises :class:`MalformedCertificate` for an unreadable PDF."""
    evidence, _ = _evidence(CertificatePdf.from_bytes(data), bundle)
    proof = evidence.get(INCLUSION) if evidence is not None else None
    if proof is None:
        return None
    size = parse_json(proof, what=INCLUSION).get("tree_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def render_certificate_text(result: CertificateReport) -> str:
    """The report for a person: the verdict and facts, each check, then what was not established."""
    body = render_text(result.report).replace("Evidence bundle", "Certificate PDF", 1)
    if result.certificate_number:
        body = body.replace("Certificate PDF", f"Certificate PDF {result.certificate_number}", 1)
    lines = [body.rstrip("\n")]
    source = {
        "carried": "carried inside the PDF",
        "bundle": "from the evidence bundle given",
        "notary_log": "from the notary's own log (its bundle for the record the certificate names)",
    }
    if result.record_source:
        lines.append(f"The record checked was {source[result.record_source]}.")
    if result.not_established:
        lines.append("NOT ESTABLISHED by these inputs:")
        lines += [f"  - {item}" for item in result.not_established]
    return "\n".join(lines) + "\n"
