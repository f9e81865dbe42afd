"""marshmallow schemas: request bodies are loaded with them, answers are documented by them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from notary.services.ceremony.identity import ID_TYPES
from notary.services.filing.terms import TermsSchema
from notary.verify.payloads import ROLES
from notary.verify.vocabulary import ContractStatus

__all__ = ["TermsSchema"]


class ErrorBodySchema(ma.Schema):
    code = fields.String(required=True, metadata={"description": "stable snake_case error code"})
    message = fields.String(required=True, metadata={"description": "for a person"})
    details = fields.Dict(metadata={"description": "field → messages, or other data"})


class ErrorSchema(ma.Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class EnrolmentSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    id_type = fields.String(load_default="cn_resident", validate=validate.OneOf(ID_TYPES))
    id_number = fields.String(required=True, validate=validate.Length(1, 40))
    phone = fields.String(validate=validate.Length(1, 30))
    public_key = fields.String(
        required=True, validate=validate.Length(1, 4000), metadata={"description": "PEM SubjectPublicKeyInfo"}
    )
    identity_salt = fields.String(
        validate=validate.Length(44, 44),
        metadata={
            "description": "base64 of the 32 random bytes the party's own tool drew for its identity "
            "commitment (docs/formats.md section 1); the proof is then notary.enrol.v2. Without it "
            "(a round-1 client), the proof is notary.enrol.v1 and the notary draws the salt"
        },
    )
    proof = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "base64 signature over the notary.enrol.v2 payload (payloads.md)"},
    )


class PartySchema(ma.Schema):
    party_id = fields.String()
    platform_id = fields.String()
    name = fields.String()
    id_type = fields.String()
    id_number_masked = fields.String()
    phone_masked = fields.String()
    key_fingerprint = fields.String()
    algorithm = fields.String()
    identity_commitment = fields.String()
    created_at = fields.String()


class JsonFilingSchema(ma.Schema):
    document_base64 = fields.String(required=True)
    media_type = fields.String(required=True, validate=validate.Length(3, 255))
    terms = fields.Dict(required=True, metadata={"description": "see TermsSchema"})


MAX_BATCH = 1000


class BatchSchema(ma.Schema):
    """``POST /contracts/batch`` (documentation: the body is read item by item, api.batch_json)."""

    contracts = fields.List(fields.Raw(), required=True, validate=validate.Length(1, MAX_BATCH))


class PayloadSchema(ma.Schema):
    payload_base64 = fields.String()
    payload_sha256 = fields.String()


class SigningPayloadAnswerSchema(PayloadSchema):
    terms = fields.Dict(
        metadata={"description": "the terms as accepted: their canonical JSON hashes to terms_sha256"}
    )
    platform = fields.Dict(metadata={"description": "{platform_id, name}"})
    counterparty = fields.Dict(metadata={"description": "{role, party_id, name (masked)}"})


class SigningPayloadsSchema(ma.Schema):
    investor = fields.Nested(PayloadSchema)
    borrower = fields.Nested(PayloadSchema)


class FiledSchema(ma.Schema):
    contract_id = fields.String()
    status = fields.String()
    document_sha256 = fields.String()
    terms = fields.Nested(TermsSchema)
    terms_sha256 = fields.String()
    signing_payloads = fields.Nested(SigningPayloadsSchema)


class BatchResultSchema(ma.Schema):
    status = fields.Integer()
    body = fields.Dict()


class BatchResultsSchema(ma.Schema):
    results = fields.List(fields.Nested(BatchResultSchema))


class SignatureInfoSchema(ma.Schema):
    signed_at = fields.String()
    key_fingerprint = fields.String()
    algorithm = fields.String()


class EvidenceProgressSchema(ma.Schema):
    record_sha256 = fields.String()
    leaf_index = fields.Integer()
    checkpoint_size = fields.Integer(allow_none=True)
    timestamp = fields.String(validate=validate.OneOf(["pending", "stamped"]))
    ready = fields.Boolean()


class ContractSchema(ma.Schema):
    contract_id = fields.String()
    platform_id = fields.String()
    status = fields.String(validate=validate.OneOf(list(ContractStatus)))
    document_sha256 = fields.String()
    document_size = fields.Integer()
    media_type = fields.String()
    terms = fields.Nested(TermsSchema)
    terms_sha256 = fields.String()
    received_at = fields.String()
    sign_by = fields.String()
    signatures = fields.Dict(keys=fields.String(), values=fields.Nested(SignatureInfoSchema))
    awaiting = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        metadata={"description": "while awaiting_signatures: the roles whose signature is missing"},
    )
    declined = fields.Dict()
    evidence = fields.Nested(EvidenceProgressSchema, allow_none=True)


class SigningPayloadQuerySchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    purpose = fields.String(load_default="sign", validate=validate.OneOf(["sign", "decline"]))


class SignatureSchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    signature = fields.String(required=True, validate=validate.Length(1, 200))


class BatchSignatureItemSchema(SignatureSchema):
    contract_id = fields.String(required=True, validate=validate.Length(1, 40))


class BatchSignaturesSchema(ma.Schema):
    signatures = fields.List(
        fields.Raw(),
        required=True,
        validate=validate.Length(1, 1000),
        metadata={
            "description": "up to 1000 items {contract_id, role, signature} (BatchSignatureItemSchema)"
        },
    )


class DeclineSchema(SignatureSchema):
    reason = fields.String(validate=validate.Length(0, 1000))


class StatusSchema(ma.Schema):
    status = fields.String()


class HealthSchema(ma.Schema):
    status = fields.String()
    database = fields.String()
    keys = fields.String()
    timestamp_backlog = fields.Integer()
    sequencer_lag = fields.Integer()
    checkup = fields.String(metadata={"description": "ok, warning (act soon) or failure (act now)"})
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    certificate_days_left = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))
    disk_free_bytes = fields.Integer(allow_none=True)
    worker_heartbeat_age = fields.Float(allow_none=True)
    oldest_seal_wait = fields.Float(allow_none=True)
