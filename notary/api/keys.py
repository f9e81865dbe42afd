"""``/me/keys``: a key holder's keys, revoking one, and replacing one by a new key."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import fields, validate

from notary.api.common import Blueprint, caller_of, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.services import auth
from notary.services.keys.lifecycle import NewKey
from notary.verify.key_events import REVOCATION_REASONS

blp = Blueprint(
    "keys", __name__, url_prefix="/api/v1", description="A key holder's keys: list, revoke, rotate"
)

_SIGNATURE = validate.Length(1, 200)
_FINGERPRINT = validate.Regexp(r"\A[0-9a-f]{64}\Z")


class RevokeRequestSchema(ma.Schema):
    key_fingerprint = fields.String(
        required=True, validate=_FINGERPRINT, metadata={"description": "the key to revoke"}
    )
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    signatures = fields.Dict(
        keys=fields.String(validate=validate.Length(1, 40)),
        values=fields.String(validate=_SIGNATURE),
        required=True,
        validate=validate.Length(1, 100),
        metadata={
            "description": "party_id → base64 notary.revoke.v1 signature by the caller's key, "
            "one for every party the revoked key acts for (GET /me/keys lists them)"
        },
    )


class RotateRequestSchema(ma.Schema):
    party_id = fields.String(required=True, validate=validate.Length(1, 40))
    new_public_key = fields.String(
        required=True, validate=validate.Length(1, 2000), metadata={"description": "PEM SubjectPublicKeyInfo"}
    )
    new_enrolment_proof = fields.String(
        required=True,
        validate=_SIGNATURE,
        metadata={
            "description": "base64: the new key's notary.enrol.v2 signature over the party's commitment"
        },
    )
    signature = fields.String(
        required=True,
        validate=_SIGNATURE,
        metadata={"description": "base64: the caller's (old) key's notary.rotate.v1 signature"},
    )


@blp.route("/me/keys", methods=["GET"])
@blp.alt_response(
    200,
    description="{parties: [{party_id, platform, name, id_type, id_number_masked, identity_commitment, keys: [...]}]}",
)
def my_keys() -> Response:
    """Every party the caller's key acts for, each with every key it has had (newest first):
    ``key_fingerprint``, ``algorithm``, ``status`` (``active``, ``rotated``, ``revoked``),
    ``added_at``, ``retired_at``?, ``reason``?, ``current``, ``yours``."""
    holder = caller_of(auth.PARTY)
    return json_response({"parties": runtime().keys_lifecycle.keys_of_holder(holder)})


@blp.route("/me/keys/revoke", methods=["POST"])
@blp.arguments(RevokeRequestSchema)
@blp.alt_response(
    200,
    description="{key_fingerprint, status: revoked, revoked_at, parties: [{party_id, leaf_index}], identity_unbound}",
)
@blp.alt_response(
    404, schema=ErrorSchema, description="not_found: the key acts for none of the caller's parties"
)
@blp.alt_response(
    422, schema=ErrorSchema, description="validation_failed, revocation_incomplete or bad_signature"
)
def revoke(body: dict[str, Any]) -> Response:
    """Revoke a key (the caller's own, typically: lost or compromised) for every party it acts
    for, each approved by a ``notary.revoke.v1`` signature of the caller's key. The key stops
    logging in and signing at once; its tokens are revoked (the caller's too, when it revokes
    itself). Logged as ``notary-key-revocation/1`` leaves; bundles of earlier contracts say so."""
    holder = caller_of(auth.PARTY)
    revoked = runtime().keys_lifecycle.revoke_by_holder(
        holder, key_fingerprint=body["key_fingerprint"], reason=body["reason"], signatures=body["signatures"]
    )
    return json_response(revoked.answer())


@blp.route("/me/keys/rotate", methods=["POST"])
@blp.arguments(RotateRequestSchema)
@blp.alt_response(200, description="{party_id, old_key_fingerprint, key_fingerprint, rotated_at, leaf_index}")
@blp.alt_response(
    404, schema=ErrorSchema, description="not_found: not a party the caller's key is the key of"
)
@blp.alt_response(409, schema=ErrorSchema, description="key_in_use or key_revoked (the new key)")
@blp.alt_response(
    422, schema=ErrorSchema, description="validation_failed, weak_key, bad_proof or bad_signature"
)
def rotate(body: dict[str, Any]) -> Response:
    """Replace the caller's key, for one party, by a new key: the same party and identity
    commitment, the new key proving itself with its ``notary.enrol.v2`` proof, the old key
    approving with ``notary.rotate.v1``. Logged as a ``notary-key-rotation/1`` leaf."""
    holder = caller_of(auth.PARTY)
    rotated = runtime().keys_lifecycle.rotate_by_old_key(
        holder,
        party_id=body["party_id"],
        new_key=NewKey(body["new_public_key"], body["new_enrolment_proof"]),
        signature=body["signature"],
    )
    return json_response(rotated.answer())
