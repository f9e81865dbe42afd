"""核验: a key holder checks what its platform filed in its name (``POST /me/check``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import fields, validate

from notary.api.common import Blueprint, authenticated, caller_of, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.services import auth

blp = Blueprint(
    "checks", __name__, url_prefix="/api/v1", description="核验: check what was filed in your name"
)


class ClaimedSchema(ma.Schema):
    amount = fields.String(metadata={"description": 'as the platform told you, e.g. "10000.00"'})
    start_date = fields.String(metadata={"description": "YYYY-MM-DD"})
    platform_id = fields.String(validate=validate.Length(1, 40))


class CheckRequestSchema(ma.Schema):
    document_sha256 = fields.String(
        required=True,
        metadata={
            "description": "SHA-256 of your copy of the document (computed on your device), lowercase hex"
        },
    )
    claimed = fields.Nested(ClaimedSchema, metadata={"description": "what the platform told you (optional)"})


class CheckedContractSchema(ma.Schema):
    contract_id = fields.String()
    platform = fields.Dict()
    role = fields.String()
    party_id = fields.String()
    status = fields.String(
        metadata={"description": "awaiting_signatures, signed, sealed, declined or expired"}
    )
    under_another_key = fields.Boolean(
        metadata={"description": "filed for your verified identity under a key that is not yours: ask why"}
    )
    received_at = fields.String()
    document_sha256 = fields.String(
        metadata={"description": "the filed document's (differs for document_differs)"}
    )
    terms = fields.Dict()
    awaiting = fields.List(fields.Dict(), metadata={"description": "whose signatures are missing"})
    evidence = fields.Dict(metadata={"description": "once sealed: progress and the evidence's addresses"})
    claim_differs = fields.List(fields.String(), metadata={"description": "claimed terms the filing lacks"})


class CheckAnswerSchema(ma.Schema):
    result = fields.String(metadata={"description": "filed, document_differs or not_filed"})
    contracts = fields.List(fields.Nested(CheckedContractSchema))
    more = fields.Boolean(metadata={"description": "more contracts matched than are listed (50)"})


@blp.route("/me/check", methods=["POST"])
@authenticated(auth.PARTY)
@blp.arguments(CheckRequestSchema)
@blp.alt_response(200, schema=CheckAnswerSchema, description="the answer, about your contracts only")
@blp.alt_response(401, schema=ErrorSchema, description="unauthenticated: log in with your key first")
@blp.alt_response(422, schema=ErrorSchema, description="validation_failed")
def check(body: dict[str, Any]) -> Response:
    """Was this document filed in my name? Answers only about contracts naming the caller.

    Somebody else's document gets exactly the answer a document nobody filed gets.
    """
    key_fingerprint = caller_of(auth.PARTY)
    answer = runtime().checks.check(key_fingerprint, body["document_sha256"], body.get("claimed"))
    return json_response(answer.as_dict(), headers={"Cache-Control": "no-store"})
