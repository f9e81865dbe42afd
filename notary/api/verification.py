"""``POST /verify``: the offline verifier, online. The report is the one ``notary verify`` prints."""

from __future__ import annotations

from flask import Response, request

from notary.api.common import Blueprint, json_response, runtime
from notary.api.errors import MalformedMultipart, UnsupportedMediaType
from notary.errors import ValidationFailed
from notary.verify.canonical import canonical_json
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.export.verifier import EXPORT, archive_kind, verify_export
from notary.verify.identity import MAX_OPENING_BYTES, parse_opening
from notary.verify.trust import CallerSupplied, TrustChoice, TrustFile

blp = Blueprint("verification", __name__, url_prefix="/api/v1", description="Verifying evidence")

_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["bundle"],
                "properties": {
                    "bundle": {
                        "type": "string",
                        "format": "binary",
                        "description": "a notary-evidence/1 zip, a notary-export/1 case export, or a "
                        "certificate PDF",
                    },
                    "document": {
                        "type": "string",
                        "format": "binary",
                        "description": "your copy of the document",
                    },
                    "trust": {
                        "type": "string",
                        "format": "binary",
                        "description": "a trust file of your own, checked against instead of this notary's; "
                        "the report then says trust_basis caller_supplied and never origin_established",
                    },
                    "opening": {
                        "type": "string",
                        "format": "binary",
                        "description": "an identity opening (repeatable) proving a party's identity",
                    },
                    "require_witnesses": {
                        "type": "string",
                        "pattern": "^[0-9]+$",
                        "description": "K: demand at least K witness cosignatures on the bundle's checkpoint "
                        "(raises the trust file's k, never lowers it; for an evidence bundle). Not a positive "
                        "integer: 400 bad_witness_requirement; more than the trust file's policies list: 400 "
                        "witness_requirement_unmeetable",
                    },
                },
            }
        }
    },
}


@blp.route("/verify", methods=["POST"])
@blp.doc(requestBody=_BODY)
@blp.alt_response(200, description="the verification report (notary-verification/2), valid or not")
def post_verify() -> Response:
    """Verify an evidence bundle, a case export or a certificate PDF; the report names every check.

    A case export (``docs/export.md``) is answered with its own report
    (``notary-export-verification/2``); exports larger than the request limit need ``notary verify``.
    A certificate PDF (``docs/certificate.md``) is answered with the certificate's report: its
    signature, timestamp and record, completed from this notary's log when it signed it.

    The evidence is checked against this notary's own published keys (``GET /trust``): only
    then does the report say ``trust_basis: "trust_file"`` and ``origin_established``. A
    ``trust`` part of the caller's is checked against instead, reported ``caller_supplied``:
    this endpoint never vouches for keys its caller brought. ``opening`` parts (identity
    openings) prove the parties' identities; they are neither stored nor echoed.
    ``require_witnesses`` (a form field, K) holds a bundle to at least K witness cosignatures,
    as ``notary verify --require-witnesses K``. Invalid evidence, or evidence below the
    witness policy, is a 200 with ``valid: false`` and its ``verdict``: the request succeeded.
    """
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data with a 'bundle' part")
    if not request.mimetype_params.get("boundary"):
        raise MalformedMultipart("multipart/form-data needs a boundary")
    bundle = request.files.get("bundle")
    if bundle is None:
        raise ValidationFailed("the bundle part is missing", details={"bundle": ["missing"]})
    document = request.files.get("document")
    trust_part = request.files.get("trust")
    trust: TrustChoice = (
        CallerSupplied(TrustFile.from_json(trust_part.read()))
        if trust_part
        else TrustFile.from_json(canonical_json(runtime().published.trust_file()))
    )
    openings = tuple(
        parse_opening(part.read(MAX_OPENING_BYTES + 1)) for part in request.files.getlist("opening")
    )
    require_witnesses = request.form.get("require_witnesses") or None
    stream = bundle.stream
    is_pdf = stream.read(5) == b"%PDF-"
    stream.seek(0)
    if require_witnesses is not None and (is_pdf or archive_kind(stream) == EXPORT):
        raise ValidationFailed(
            "require_witnesses is for an evidence bundle: a certificate's or an export's bundles follow "
            "the trust file's witness policy",
            details={"require_witnesses": ["only with an evidence bundle"]},
        )
    stream.seek(0)
    if is_pdf:
        if openings:
            raise ValidationFailed("an opening is checked against a bundle, not a certificate PDF")
        stream.seek(0)
        report = runtime().certificates.verify(
            stream.read(),
            trust=trust,
            document=document.read() if document else None,
        )
        return json_response(report.to_dict())
    stream.seek(0)
    if archive_kind(stream) == EXPORT:
        if document is not None or openings:
            raise ValidationFailed("a document or an opening is checked against a bundle, not a case export")
        return json_response(verify_export(stream, trust=trust, now=runtime().clock()).to_dict())
    stream.seek(0)
    report = verify_bundle(
        stream.read(),
        trust=trust,
        document=document.read() if document else None,
        openings=openings,
        now=runtime().clock(),
        require_witnesses=require_witnesses,
    )
    return json_response(report.to_dict())
