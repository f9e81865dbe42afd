"""marshmallow schemas of login, ``/me/contracts`` and cases."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

_FINGERPRINT = {"description": "lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo"}


class ChallengeRequestSchema(ma.Schema):
    key_fingerprint = fields.String(required=True, validate=validate.Length(64, 64), metadata=_FINGERPRINT)


class ChallengeSchema(ma.Schema):
    challenge_base64 = fields.String(
        metadata={"description": "32 random bytes; sign them in the login payload"}
    )
    expires_at = fields.String()


class TokenRequestSchema(ma.Schema):
    key_fingerprint = fields.String(required=True, validate=validate.Length(64, 64), metadata=_FINGERPRINT)
    challenge_base64 = fields.String(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"description": "exactly as received from /auth/challenge"},
    )
    signature = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "base64 signature over the login payload (payloads.md)"},
    )


class TokenSchema(ma.Schema):
    token = fields.String(metadata={"description": "a party token: Authorization: Bearer <token>"})
    expires_at = fields.String()


class MyContractsQuerySchema(ma.Schema):
    cursor = fields.String(
        validate=validate.Length(1, 40), metadata={"description": "next_cursor of the last page"}
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class PlatformBriefSchema(ma.Schema):
    platform_id = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "active or defunct"})


class MyContractSchema(ma.Schema):
    contract_id = fields.String()
    platform = fields.Nested(PlatformBriefSchema)
    role = fields.String()
    party_id = fields.String()
    status = fields.String()
    signed_with_your_key = fields.Boolean(
        metadata={"description": "false: the contract names your verified identity under another key"}
    )
    received_at = fields.String()
    document_sha256 = fields.String()
    amount = fields.String()
    currency = fields.String()
    annual_rate = fields.String()
    term_months = fields.Integer()
    start_date = fields.String()
    sign_by = fields.String()
    title = fields.String()


class MyContractsSchema(ma.Schema):
    contracts = fields.List(fields.Nested(MyContractSchema))
    next_cursor = fields.String(allow_none=True)


class CaseRequestSchema(ma.Schema):
    case_number = fields.String(required=True, validate=validate.Length(1, 100))
    legal_basis = fields.String(required=True, validate=validate.Length(1, 2000))
    scope = fields.Dict(
        required=True,
        metadata={
            "description": "{platform_id} or {party_id} or {id_type?, id_number} (a person, on every platform)"
        },
    )


class CaseSchema(ma.Schema):
    case_id = fields.String()
    investigator_id = fields.String()
    case_number = fields.String()
    legal_basis = fields.String()
    scope = fields.Dict()
    status = fields.String(validate=validate.OneOf(["pending", "approved"]))
    created_at = fields.String()
    approved_at = fields.String()
    approved_by = fields.String()


class CaseCreatedSchema(ma.Schema):
    case_id = fields.String()
    status = fields.String()
