"""``/contracts``: filing, reading, and the signing ceremony."""

from __future__ import annotations

import base64
from typing import Any

import marshmallow as ma
from flask import Request, Response, request

from notary.api.batch_json import batch_items
from notary.api.common import (
    Blueprint,
    authenticated,
    json_response,
    named_case,
    platform_id,
    principal,
    runtime,
    strict_json,
)
from notary.api.errors import MalformedJson, MalformedMultipart, UnsupportedMediaType, status_of
from notary.api.schemas import (
    MAX_BATCH,
    BatchResultsSchema,
    BatchSignatureItemSchema,
    BatchSignaturesSchema,
    ContractSchema,
    DeclineSchema,
    ErrorSchema,
    FiledSchema,
    JsonFilingSchema,
    SignatureSchema,
    SigningPayloadAnswerSchema,
    SigningPayloadQuerySchema,
    StatusSchema,
)
from notary.errors import NotaryError, TooLarge, ValidationFailed
from notary.services import auth
from notary.services.access.contracts import Download
from notary.services.ceremony.signatures import Act
from notary.services.filing.service import Filed, Filing, payload_answer, served_type
from notary.verify import payloads
from notary.verify.encoding import b64decode
from notary.verify.errors import MalformedInput
from notary.verify.evidence.bundle import document_extension

blp = Blueprint("contracts", __name__, url_prefix="/api/v1", description="Filing and signing contracts")

_JSON_FILING = JsonFilingSchema()
_SIGNATURE_ITEM = BatchSignatureItemSchema()

_FILING_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["document", "terms"],
                "properties": {
                    "document": {"type": "string", "format": "binary"},
                    "terms": {"type": "string", "description": "the terms as JSON (TermsSchema)"},
                    "media_type": {"type": "string", "description": "defaults to the part's Content-Type"},
                },
            }
        },
        "application/json": {"schema": "JsonFilingSchema"},
    },
}


def _idempotency_key(req: Request) -> str | None:
    key = req.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not key.isprintable() or not key.isascii():
        raise ValidationFailed("Idempotency-Key must be 1 to 128 printable ASCII characters")
    return key


def _filing_from_json(item: Any, idempotency_key: str | None) -> Filing:
    try:
        body = _JSON_FILING.load(item)
    except ma.ValidationError as exc:
        raise ValidationFailed("the filing is not valid", details=exc.normalized_messages()) from exc
    try:
        document = b64decode(body["document_base64"], what="document_base64")
    except MalformedInput as exc:
        raise ValidationFailed(exc.message, details={"document_base64": [exc.message]}) from exc
    return Filing(document, body["media_type"], body["terms"], idempotency_key)


def _filing_from_multipart(req: Request, idempotency_key: str | None, max_document: int) -> Filing:
    if not req.mimetype_params.get("boundary"):
        raise MalformedMultipart("multipart/form-data needs a boundary")
    upload = req.files.get("document")
    if upload is None:
        raise ValidationFailed("the document part is missing", details={"document": ["missing"]})
    document = upload.stream.read(max_document + 1)
    if len(document) > max_document:
        raise TooLarge(
            f"the document is larger than the document limit: at most {max_document} bytes",
            details={"limit_bytes": max_document},
        )
    terms_text = req.form.get("terms")
    if terms_text is None and "terms" in req.files:
        terms_text = req.files["terms"].stream.read(1024 * 1024).decode("utf-8", "replace")
    if terms_text is None:
        raise ValidationFailed("the terms part is missing", details={"terms": ["missing"]})
    terms = strict_json(terms_text)
    media_type = req.form.get("media_type") or upload.mimetype or "application/octet-stream"
    return Filing(document, media_type, terms, idempotency_key)


@blp.route("/contracts", methods=["POST"])
@authenticated(auth.PLATFORM)
@blp.doc(requestBody=_FILING_BODY)
@blp.alt_response(201, schema=FiledSchema, description="filed")
@blp.alt_response(200, schema=FiledSchema, description="a replay (Idempotent-Replayed: true)")
@blp.alt_response(409, schema=ErrorSchema, description="idempotency_conflict")
@blp.alt_response(413, schema=ErrorSchema, description="too_large")
@blp.alt_response(422, schema=ErrorSchema, description="validation_failed, unknown_party, empty_document")
def file_contract() -> Response:
    """File a contract: the document and its terms. Idempotent by ``external_ref`` or ``Idempotency-Key``."""
    platform = platform_id()
    rt = runtime()
    key = _idempotency_key(request)
    if request.mimetype == "multipart/form-data":
        filing = _filing_from_multipart(request, key, rt.settings.max_document_bytes)
    elif request.is_json:
        filing = _filing_from_json(strict_json(request.get_data()), key)
    else:
        raise UnsupportedMediaType("send multipart/form-data or application/json")
    filed = rt.filing.file_one(platform, filing)
    headers = {"Idempotent-Replayed": "true"} if filed.replayed else {}
    return json_response(filed.body, _filing_status(filed), headers)


@blp.route("/contracts/batch", methods=["POST"])
@authenticated(auth.PLATFORM)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": "BatchSchema"}}})
@blp.alt_response(200, schema=BatchResultsSchema, description="one result per item, in order")
def file_batch() -> Response:
    """File up to 1000 contracts (JSON items) in one call; one bad item does not spoil the others."""
    platform = platform_id()
    rt = runtime()
    if not request.is_json:
        raise UnsupportedMediaType("this endpoint takes application/json")
    # Read item by item from the body's bytes (batch_json): each item's base64 is decoded and
    # dropped before the next is parsed, so the worker holds the body and the documents, not
    # also the body's text and every base64 string.
    body = _read_body(request)
    if not body:
        raise MalformedJson("the request body is empty")
    items: list[Filing | NotaryError] = []
    for item in batch_items(body, "contracts", max_items=MAX_BATCH):
        try:
            items.append(_filing_from_json(item, None))
        except NotaryError as exc:
            items.append(exc)
    del body
    results = [
        _batch_result(outcome)
        if isinstance(outcome, NotaryError)
        else {"status": _filing_status(outcome), "body": outcome.body}
        for outcome in rt.filing.file_batch(platform, items)
    ]
    return json_response({"results": results})


def _read_body(req: Request) -> bytes | bytearray:
    """The request body, read in 1 MiB chunks into one buffer of its announced length (reading
    it whole makes the server's buffer and the result coexist: twice the body)."""
    length = req.content_length
    if length is None:
        return req.get_data(cache=False)
    body = bytearray(length)
    view = memoryview(body)
    filled = 0
    while filled < length:
        chunk = req.stream.read(min(1 << 20, length - filled))
        if not chunk:
            break
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    view.release()
    del body[filled:]
    return body


def _filing_status(filed: Filed) -> int:
    """201 when stored now, 200 for a replay of an earlier filing."""
    return 200 if filed.replayed else 201


def _act_result(outcome: str | NotaryError) -> dict[str, Any]:
    if isinstance(outcome, NotaryError):
        return _batch_result(outcome)
    return {"status": 200, "body": {"status": outcome}}


def _batch_result(error: NotaryError) -> dict[str, Any]:
    """A batch item's error: the status and body the single call would have answered."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return {"status": status_of(error), "body": {"error": body}}


_CASE_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Notary-Case",
            "required": False,
            "schema": {"type": "string"},
            "description": "investigators: the case this read is made under (docs/access.md)",
        }
    ]
}


@blp.route("/contracts/<contract_id>", methods=["GET"])
@authenticated()
@blp.doc(**_CASE_HEADER)
@blp.alt_response(200, schema=ContractSchema, description="the contract")
@blp.alt_response(
    403, schema=ErrorSchema, description="forbidden: the investigator's case is not approved yet"
)
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also when it is not yours)")
def get_contract(contract_id: str) -> Response:
    """A contract: status, digests, terms, signatures and the evidence's progress."""
    return json_response(runtime().reads.view(principal(), contract_id, case_id=named_case()))


@blp.route("/contracts/<contract_id>/signing-payload", methods=["GET"])
@authenticated()
@blp.doc(**_CASE_HEADER)
@blp.arguments(SigningPayloadQuerySchema, location="query")
@blp.alt_response(
    200,
    schema=SigningPayloadAnswerSchema,
    description="the exact bytes to sign, and the terms they commit to",
)
def get_signing_payload(query: dict[str, Any], contract_id: str) -> Response:
    """The signing (or decline) payload of one role."""
    purpose = payloads.PURPOSE_DECLINE if query["purpose"] == "decline" else payloads.PURPOSE_SIGN
    read = runtime().reads.signing_payload(
        principal(), contract_id, query["role"], purpose, case_id=named_case()
    )
    return json_response(
        {
            **payload_answer(read.payload),
            "terms": read.terms,
            "platform": read.platform,
            "counterparty": read.counterparty,
        }
    )


@blp.route("/contracts/<contract_id>/document", methods=["GET"])
@authenticated()
@blp.doc(**_CASE_HEADER)
@blp.alt_response(200, description="the document, byte for byte as filed")
def get_document(contract_id: str) -> Response:
    """The document as filed, so a party can read what it signs from the notary itself."""
    download = runtime().reads.document(principal(), contract_id, case_id=named_case())
    contract = download.contract
    extension = document_extension(contract.media_type)
    # Exactly the filed type: Response(mimetype=...) would add "; charset=utf-8" to text/plain,
    # and a GB18030 contract would show garbled to the party checking what it signs.
    return _download(download, served_type(contract.media_type), f"{contract.id}.{extension}")


@blp.route("/contracts/<contract_id>/evidence", methods=["GET"])
@authenticated()
@blp.doc(**_CASE_HEADER)
@blp.alt_response(
    200, description="application/zip: the evidence bundle (notary-evidence/1, docs/evidence-format.md)"
)
@blp.alt_response(409, schema=ErrorSchema, description="evidence_not_ready (with Retry-After)")
def get_evidence(contract_id: str) -> Response:
    """The evidence bundle: everything needed to verify this contract offline."""
    download = runtime().reads.evidence(principal(), contract_id, case_id=named_case())
    return _download(download, "application/zip", f"{download.contract.id}-evidence.zip")


@blp.route("/contracts/<contract_id>/certificate", methods=["GET"])
@authenticated()
@blp.doc(**_CASE_HEADER)
@blp.alt_response(
    200, description="application/pdf: the signed evidence certificate, the same bytes every time"
)
@blp.alt_response(409, schema=ErrorSchema, description="evidence_not_ready (with Retry-After)")
def get_certificate(contract_id: str) -> Response:
    """The evidence certificate: a bilingual PDF signed by the notary (PAdES, timestamped)."""
    download = runtime().reads.certificate(principal(), contract_id, case_id=named_case())
    return _download(download, "application/pdf", f"{download.contract.id}-certificate.pdf")


def _download(download: Download, media_type: str, file_name: str) -> Response:
    response = Response(download.data, content_type=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"  # never sniffed into something runnable
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(download.sha256)).decode()}:"
    return response


@blp.route("/contracts/<contract_id>/signatures", methods=["POST"])
@blp.arguments(SignatureSchema)
@blp.alt_response(200, schema=StatusSchema, description="accepted (or the same signature again)")
@blp.alt_response(409, schema=ErrorSchema, description="already_signed or contract_not_open")
@blp.alt_response(422, schema=ErrorSchema, description="bad_signature or wrong_role")
def post_signature(body: dict[str, Any], contract_id: str) -> Response:
    """A party's signature over its signing payload; the signature is the credential."""
    status = runtime().ceremony.act(contract_id, Act(body["role"], body["signature"]))
    return json_response({"status": status})


@blp.route("/contracts/signatures/batch", methods=["POST"])
@blp.arguments(BatchSignaturesSchema)
@blp.alt_response(200, schema=BatchResultsSchema, description="one result per item, in order")
def post_signatures_batch(body: dict[str, Any]) -> Response:
    """Up to 1000 signatures, of any contracts, in one call: each item answers exactly what
    ``POST /contracts/{id}/signatures`` would have, and one bad item does not spoil the others."""
    acts: list[tuple[str, Act]] = []
    results: list[dict[str, Any] | None] = []
    for item in body["signatures"]:
        try:
            fields = _SIGNATURE_ITEM.load(item)
        except ma.ValidationError as exc:
            error = ValidationFailed("the signature is not valid", details=exc.normalized_messages())
            results.append(_batch_result(error))
            continue
        acts.append((fields["contract_id"], Act(fields["role"], fields["signature"])))
        results.append(None)
    outcomes = iter(runtime().ceremony.act_many(acts))
    answers = [result if result is not None else _act_result(next(outcomes)) for result in results]
    return json_response({"results": answers})


@blp.route("/contracts/<contract_id>/decline", methods=["POST"])
@blp.arguments(DeclineSchema)
@blp.alt_response(200, schema=StatusSchema, description="declined")
def post_decline(body: dict[str, Any], contract_id: str) -> Response:
    """A party's signed refusal (over the decline payload); the contract becomes ``declined``."""
    act = Act(body["role"], body["signature"], payloads.PURPOSE_DECLINE, body.get("reason"))
    status = runtime().ceremony.act(contract_id, act)
    return json_response({"status": status})
