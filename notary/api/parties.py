"""``/parties``: platforms enrol the people who sign."""

from __future__ import annotations

from typing import Any

from flask import Response

from notary.api.common import Blueprint, authenticated, json_response, platform_id, runtime
from notary.api.schemas import EnrolmentSchema, ErrorSchema, PartySchema
from notary.services import auth
from notary.services.ceremony import parties
from notary.services.clock import now_text

blp = Blueprint("parties", __name__, url_prefix="/api/v1", description="Enrolling parties (platforms)")


@blp.route("/parties", methods=["POST"])
@authenticated(auth.PLATFORM)
@blp.arguments(EnrolmentSchema)
@blp.alt_response(201, schema=PartySchema, description="enrolled")
@blp.alt_response(200, schema=PartySchema, description="this identity and key were already enrolled here")
@blp.alt_response(409, schema=ErrorSchema, description="party_exists or key_in_use")
@blp.alt_response(422, schema=ErrorSchema, description="validation_failed, bad_id_number or bad_proof")
def enrol(body: dict[str, Any]) -> Response:
    """Enrol a party (a person on this platform) with its public key and proof of possession."""
    platform = platform_id()
    rt = runtime()
    request = parties.Enrolment(
        name=body["name"],
        id_type=body["id_type"],
        id_number=body["id_number"],
        phone=body.get("phone"),
        public_key_pem=body["public_key"],
        identity_salt=body.get("identity_salt"),
        proof=body["proof"],
    )
    with rt.db.write() as session:
        result = parties.enrol(
            session, rt.identity_secrets, platform_id=platform, request=request, now=now_text(rt.clock)
        )
        answer = parties.party_answer(result.party)
    return json_response(answer, 201 if result.created else 200)
