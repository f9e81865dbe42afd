"""``/verify``: drop an evidence bundle, a case export or a certificate PDF, read the report
in plain words.

The page's script hashes the reader's own copy of the document in the browser and sends only
its SHA-256: the hash is all the check needs, so the document never leaves the machine. The
bundle is verified by the pure verifier (``notary.verify``; a certificate by
``notary.verify_pdf``, completed from this notary's log when this notary signed it), exactly as
``notary verify`` and ``POST /api/v1/verify`` do, against this notary's published trust file
unless the reader brings one. Nothing uploaded is stored: the files live in the request and are dropped with it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.datastructures import FileStorage

from notary import __version__
from notary.errors import RateLimited
from notary.pages import report_view
from notary.pages.common import HEX64, personal, runtime
from notary.services.evidence.verification_report import ReportFacts, signed_report
from notary.services.rate_limits import SIGNED_REPORT, VERIFY, address_key
from notary.signing.keystore import KeysUnusable
from notary.verify.archive import MalformedBundle
from notary.verify.canonical import canonical_json
from notary.verify.errors import MalformedInput
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.export.verifier import EXPORT, archive_kind, verify_export
from notary.verify.trust import CallerSupplied, TrustChoice, TrustFile
from notary.verify.witness_policy import BadWitnessRequirement, WitnessRequirementUnmeetable
from notary.verify_pdf import MalformedCertificate

blp = Blueprint("verify", __name__)


def count(rule: str) -> None:
    """Count a costly request against its client address (``NOTARY_RATE_LIMIT_<RULE>``), in the
    counters every process shares; raises ``rate_limited``."""
    limits = runtime().rate_limits
    if limits is None:
        raise RuntimeError("rate limits are counted by a web runtime (Runtime(..., web=True))")
    limits.hit(rule, address_key(request.remote_addr))


class Unusable(Exception):
    """The upload cannot be verified at all; ``problem`` names the message the page shows."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@blp.get("/verify")
def index() -> str:
    """The form: a bundle, an export or a certificate, optionally the document (hashed in the
    browser)."""
    expected = request.args.get("record", "").lower()
    return render_template(
        "pages/verify.html",
        expected_record=expected if HEX64.fullmatch(expected) else None,
        root_sha256=runtime().published.notary_root_sha256(),
    )


@blp.post("/verify")
def report() -> Response:
    """Verify the upload and answer the report: a fragment for the page's script (which asks
    with ``X-Notary-Fragment``), a whole page when the form was posted without script."""
    fragment = request.headers.get("X-Notary-Fragment") == "1"
    expected = request.form.get("expected_record", "").lower() or None
    retry_after = None
    try:
        count(VERIFY)
        view = verify_upload(
            request.files.get("bundle"),
            request.form.get("document_sha256"),
            request.files.get("trust"),
            require_witnesses=request.form.get("require_witnesses"),
        )
        status = 200
    except Unusable as exc:
        view, status = {"problem": exc.problem}, 422
    except RateLimited as exc:
        view, status, retry_after = {"problem": "rate_limited"}, 429, exc.retry_after
    template = "pages/_report.html" if fragment else "pages/verify.html"
    answer = Response(
        render_template(
            template,
            view=view,
            expected_record=expected,
            root_sha256=runtime().published.notary_root_sha256(),
        ),
        status=status,
    )
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return personal(answer)


@blp.post("/verify/report.pdf")
def signed_pdf() -> Response:
    """The signed PDF verification report (验证报告) of a bundle: the bundle is verified again
    here (the service signs only what it checked itself), rate-limited per client address."""
    count(SIGNED_REPORT)  # rate_limited: 429 in the error format, with Retry-After
    try:
        upload = read_upload(
            request.files.get("bundle"), request.form.get("document_sha256"), request.files.get("trust")
        )
        if upload.is_export or upload.is_certificate:
            raise Unusable("not_a_bundle")
        verified = verify_bundle(
            upload.data,
            trust=upload.choice,
            now=runtime().clock(),
            require_witnesses=_requirement(request.form.get("require_witnesses")),
        )
    except (BadWitnessRequirement, WitnessRequirementUnmeetable) as exc:
        answer = jsonify({"error": {"code": exc.code, "message": exc.message}})
        answer.status_code = 400
        return answer
    except (Unusable, MalformedBundle) as exc:
        problem = exc.problem if isinstance(exc, Unusable) else "not_a_bundle"
        answer = jsonify({"error": {"code": "malformed_bundle", "message": problem}})
        answer.status_code = 400
        return answer
    facts = ReportFacts.of(
        verified.to_dict(),
        bundle_sha256=hashlib.sha256(upload.data).hexdigest(),
        trust=upload.trust,
        trust_is_own=upload.trust_is_own,
        your_document_sha256=upload.document_sha256,
        tool_version=__version__,
    )
    try:
        pdf = signed_report(facts, runtime().report_signer())
    except KeysUnusable:
        answer = jsonify(
            {"error": {"code": "unavailable", "message": "the report key is missing: run notary init"}}
        )
        answer.status_code = 503
        return answer
    response = Response(pdf, mimetype="application/pdf")
    name = f"{facts.contract_id or 'bundle'}-verification-report.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return personal(response)


@dataclass(frozen=True)
class Upload:
    data: bytes
    is_export: bool
    trust: TrustFile
    trust_is_own: bool
    document_sha256: str | None

    @property
    def is_certificate(self) -> bool:
        """A PDF (``%PDF-``): verified as a certificate."""
        return self.data.startswith(b"%PDF-")

    @property
    def choice(self) -> TrustChoice:
        """What the checks are anchored in: the notary's own trust file, or the requester's,
        which the page checks against but never vouches for (issue 15.6: the origin is then
        not established, and neither the page nor the signed report says it is)."""
        return self.trust if self.trust_is_own else CallerSupplied(self.trust)


def read_upload(
    bundle: FileStorage | None, document_sha256: str | None, trust_part: FileStorage | None
) -> Upload:
    """The parts of a verify form; raises :class:`Unusable` for a missing file, a digest that is
    not 64 hex digits or a trust file that is not one."""
    if bundle is None or not bundle.filename:
        raise Unusable("no_file")
    given_digest = (document_sha256 or "").strip().lower() or None
    if given_digest is not None and not HEX64.fullmatch(given_digest):
        raise Unusable("bad_document_digest")
    own = trust_part is None or not trust_part.filename
    try:
        trust = TrustFile.from_json(
            canonical_json(runtime().published.trust_file()) if own else trust_part.read()
        )  # type: ignore[union-attr]
    except MalformedInput as exc:
        raise Unusable("bad_trust_file") from exc
    data = bundle.read()
    return Upload(data, archive_kind(io.BytesIO(data)) == EXPORT, trust, own, given_digest)


def _requirement(value: str | None) -> str | None:
    """The form's ``require_witnesses`` as typed (an empty field: not given)."""
    value = (value or "").strip()
    return value or None


def verify_upload(
    bundle: FileStorage | None,
    document_sha256: str | None,
    trust_part: FileStorage | None,
    *,
    require_witnesses: str | None = None,
) -> dict[str, Any]:
    """Verify an uploaded bundle, export or certificate; the report's view for the templates.
    ``require_witnesses`` (the form's field, as typed) holds a bundle to at least K witness
    cosignatures.

    Raises :class:`Unusable` for an upload that is no bundle, export, certificate or trust file
    at all, and for a ``require_witnesses`` that is not a positive integer, more than the trust
    file's policies list, or given with a certificate or an export.
    """
    upload = read_upload(bundle, document_sha256, trust_part)
    require = _requirement(require_witnesses)
    if require is not None and (upload.is_certificate or upload.is_export):
        raise Unusable("witnesses_need_a_bundle")
    if upload.is_certificate:
        certificates = runtime().certificates
        if certificates is None:
            raise RuntimeError("certificates are verified by a web runtime (Runtime(..., web=True))")
        try:
            result = certificates.verify(upload.data, trust=upload.choice)
        except MalformedCertificate as exc:
            raise Unusable("not_a_certificate") from exc
        return report_view.certificate_view(result, upload.document_sha256)
    try:
        if upload.is_export:
            return report_view.export_view(
                verify_export(io.BytesIO(upload.data), trust=upload.choice, now=runtime().clock())
            )
        verified = verify_bundle(
            upload.data, trust=upload.choice, now=runtime().clock(), require_witnesses=require
        )
    except MalformedBundle as exc:
        raise Unusable("not_a_bundle") from exc
    except (BadWitnessRequirement, WitnessRequirementUnmeetable) as exc:
        raise Unusable(exc.code) from exc
    return report_view.bundle_view(verified, upload.data, upload.document_sha256)
