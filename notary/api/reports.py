"""瞒报 reports: a key holder lodges one and reads its own; an investigator reads those of the
platform an approved case is scoped to."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import fields, validate

from notary.api.common import Blueprint, caller_of, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.errors import Unprocessable
from notary.services import auth

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1", description="瞒报: report a contract a platform did not file"
)


class ReportRequestSchema(ma.Schema):
    payload_base64 = fields.String(
        required=True,
        validate=validate.Length(1, 8192),
        metadata={"description": "the notary.report.v1 payload's exact bytes (payloads.md), base64"},
    )
    signature = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "your key's signature over them, base64"},
    )
    document_base64 = fields.String(metadata={"description": "optional: the document itself, base64"})


class FiledLateSchema(ma.Schema):
    contract_id = fields.String()
    filed_at = fields.String()
    delay_seconds = fields.Integer()


class ReportSchema(ma.Schema):
    report_id = fields.String()
    platform_id = fields.String()
    key_fingerprint = fields.String()
    document_sha256 = fields.String()
    claimed = fields.Dict()
    reported_at = fields.String()
    lodged_at = fields.String()
    report_sha256 = fields.String(
        metadata={"description": "SHA-256 of the stored report, logged in its leaf"}
    )
    document_attached = fields.Boolean()
    leaf_index = fields.Integer(allow_none=True, metadata={"description": "null until written into the log"})
    status = fields.String(metadata={"description": "open or filed_late"})
    filed_late = fields.Nested(FiledLateSchema)


class ReportListSchema(ma.Schema):
    reports = fields.List(fields.Nested(ReportSchema))


@blp.route("/reports", methods=["POST"])
@blp.arguments(ReportRequestSchema)
@blp.alt_response(201, schema=ReportSchema, description="stored; logged as a leaf within seconds")
@blp.alt_response(
    400, schema=ErrorSchema, description="malformed_report: not a notary.report.v1 payload in canonical JSON"
)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="report_replayed (reported already), document_filed (nothing to report)",
)
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="bad_report_signature, unknown_platform, validation_failed (another key, claims, an old reported_at)",
)
def lodge(body: dict[str, Any]) -> Response:
    """Lodge a signed report that a platform did not file a contract you hold (瞒报)."""
    key_fingerprint = caller_of(auth.PARTY)
    document = None
    if "document_base64" in body:
        try:
            document = base64.b64decode(body["document_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Unprocessable(
                "document_base64 is not base64", details={"document_base64": ["standard base64"]}
            ) from exc
    lodged = runtime().report_desk.lodge(key_fingerprint, body["payload_base64"], body["signature"], document)
    return json_response(lodged.report, 201)


@blp.route("/me/reports", methods=["GET"])
@blp.alt_response(200, schema=ReportListSchema, description="your reports, newest first")
def my_reports() -> Response:
    """The reports lodged with your key, and whether each platform filed the contract since."""
    key_fingerprint = caller_of(auth.PARTY)
    return json_response(
        {"reports": runtime().report_reads.mine(key_fingerprint)}, headers={"Cache-Control": "no-store"}
    )


@blp.route("/cases/<case_id>/reports", methods=["GET"])
@blp.alt_response(
    200, schema=ReportListSchema, description="the reports of the case's platform, oldest first"
)
@blp.alt_response(403, schema=ErrorSchema, description="forbidden: not approved, or not scoped to a platform")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another investigator's case)")
def case_reports(case_id: str) -> Response:
    """The reports lodged against the platform of an approved case (recorded in the audit trail)."""
    investigator_id = caller_of(auth.INVESTIGATOR)
    views = runtime().report_reads.for_case(investigator_id, case_id)
    return json_response({"reports": views}, headers={"Cache-Control": "no-store"})


@blp.route("/cases/<case_id>/reports/<report_id>/document", methods=["GET"])
@blp.alt_response(200, description="the document the reporter attached, byte for byte")
@blp.alt_response(404, schema=ErrorSchema, description="not_found")
def case_report_document(case_id: str, report_id: str) -> Response:
    """The document a reporter attached (recorded in the audit trail)."""
    investigator_id = caller_of(auth.INVESTIGATOR)
    report, data = runtime().report_reads.case_document(investigator_id, case_id, report_id)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{report.id}-document"'
    response.headers["Cache-Control"] = "no-store"
    return response
