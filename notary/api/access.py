"""Access without the platform: key holders' login and ``/me/contracts``, investigators' cases."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from notary.api.access_schemas import (
    CaseCreatedSchema,
    CaseRequestSchema,
    CaseSchema,
    ChallengeRequestSchema,
    ChallengeSchema,
    MyContractsQuerySchema,
    MyContractsSchema,
    TokenRequestSchema,
    TokenSchema,
)
from notary.api.common import Blueprint, authenticated, caller_of, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.services import auth
from notary.services.access import key_holders
from notary.services.access.login import Login
from notary.services.audit import trail as audit
from notary.services.clock import now_text

blp = Blueprint(
    "access", __name__, url_prefix="/api/v1", description="Key holders' login, their contracts, and cases"
)


@blp.route("/auth/challenge", methods=["POST"])
@blp.arguments(ChallengeRequestSchema)
@blp.alt_response(200, schema=ChallengeSchema, description="a single-use challenge")
def challenge(body: dict[str, Any]) -> Response:
    """A single-use, short-lived login challenge (answered alike for keys that are not enrolled)."""
    rt = runtime()
    issued = Login(rt.db, rt.clock, rt.settings).challenge(body["key_fingerprint"])
    return json_response({"challenge_base64": issued.challenge_base64, "expires_at": issued.expires_at})


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.alt_response(200, schema=TokenSchema, description="a party token")
@blp.alt_response(401, schema=ErrorSchema, description="bad_challenge, or unauthenticated (the signature)")
def token(body: dict[str, Any]) -> Response:
    """A party token for the holder of the key, in exchange for its signature over the login payload."""
    rt = runtime()
    issued = Login(rt.db, rt.clock, rt.settings).token(
        body["key_fingerprint"], body["challenge_base64"], body["signature"]
    )
    return json_response({"token": issued.token, "expires_at": issued.expires_at})


@blp.route("/me/contracts", methods=["GET"])
@authenticated(auth.PARTY)
@blp.arguments(MyContractsQuerySchema, location="query")
@blp.alt_response(200, schema=MyContractsSchema, description="one page, by contract id")
def my_contracts(query: dict[str, Any]) -> Response:
    """Every contract filed in the key holder's name, on every platform (defunct ones included)."""
    key_fingerprint = caller_of(auth.PARTY)
    rt = runtime()
    with rt.db.read() as session:
        page = key_holders.contracts_of_key(
            session, key_fingerprint, now=now_text(rt.clock), cursor=query.get("cursor"), limit=query["limit"]
        )
    return json_response({"contracts": page.items, "next_cursor": page.next_cursor})


@blp.route("/me/parties/<party_id>/opening", methods=["GET"])
@blp.alt_response(200, description="the opening file (application/json), for notary verify --opening")
@blp.alt_response(404, schema=ErrorSchema, description="not a party this key answers for, or none")
def my_opening(party_id: str) -> Response:
    """The opening of the identity commitment the key holder's records carry (docs/formats.md):
    exactly the bytes ``notary verify --opening`` reads. Only the party itself gets it."""
    key_fingerprint = caller_of(auth.PARTY)
    rt = runtime()
    with rt.db.write() as session:
        opening = key_holders.identity_opening(
            session,
            rt.identity_secrets,
            key_fingerprint=key_fingerprint,
            party_id=party_id,
            now=now_text(rt.clock),
        )
    return Response(
        opening,
        mimetype="application/json",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="opening-{party_id}.json"',
        },
    )


@blp.route("/cases", methods=["POST"])
@authenticated(auth.INVESTIGATOR)
@blp.arguments(CaseRequestSchema)
@blp.alt_response(201, schema=CaseCreatedSchema, description="opened, awaiting an operator's approval")
@blp.alt_response(422, schema=ErrorSchema, description="validation_failed or bad_id_number")
def open_case(body: dict[str, Any]) -> Response:
    """Open a case: case number, legal basis and one scope (a platform, a party or a person)."""
    opened = runtime().cases.open(
        caller_of(auth.INVESTIGATOR),
        case_number=body["case_number"],
        legal_basis=body["legal_basis"],
        scope=body["scope"],
    )
    return json_response({"case_id": opened.case_id, "status": opened.status}, 201)


@blp.route("/cases", methods=["GET"])
@authenticated(auth.INVESTIGATOR)
@blp.alt_response(200, description="{cases: [case as GET /cases/{id}]}, newest first")
def list_cases() -> Response:
    """The investigator's own cases, newest first, with their status."""
    return json_response({"cases": runtime().cases.own(caller_of(auth.INVESTIGATOR))})


@blp.route("/cases/<case_id>/contracts", methods=["GET"])
@authenticated(auth.INVESTIGATOR)
@blp.alt_response(200, description="{case_id, in_scope, sealed, contracts: [...], next_cursor}")
@blp.alt_response(403, schema=ErrorSchema, description="forbidden: the case is not approved yet")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another investigator's case)")
def case_contracts(case_id: str) -> Response:
    """The contracts in an approved case's scope, by id (``?cursor=`` for the next page), and
    the counts an export is measured against. Recorded in the audit trail (``case.contracts``)."""
    listing = runtime().cases.contracts(
        case_id, investigator_id=caller_of(auth.INVESTIGATOR), after=request.args.get("cursor") or None
    )
    return json_response(listing)


@blp.route("/cases/<case_id>/export/ticket", methods=["POST"])
@authenticated(auth.INVESTIGATOR)
@blp.alt_response(201, description="{ticket, expires_at, url}: a single-use download ticket, valid 60 s")
@blp.alt_response(403, schema=ErrorSchema, description="forbidden: the case is not approved yet")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another investigator's case)")
def export_ticket(case_id: str) -> Response:
    """A single-use, short-lived ticket to download the case's export without a header, so a
    browser can stream a large export straight to disk (``url``; the ticket is used up by it)."""
    issued = runtime().cases.export_ticket(case_id, investigator_id=caller_of(auth.INVESTIGATOR))
    url = url_for("access.export_case", case_id=case_id, ticket=issued.ticket)
    return json_response({"ticket": issued.ticket, "expires_at": issued.expires_at, "url": url}, 201)


@blp.route("/cases/<case_id>", methods=["GET"])
@authenticated(auth.INVESTIGATOR)
@blp.alt_response(200, schema=CaseSchema, description="the case")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another investigator's case)")
def get_case(case_id: str) -> Response:
    """One of the investigator's own cases and its status."""
    return json_response(runtime().cases.view(case_id, investigator_id=caller_of(auth.INVESTIGATOR)))


@blp.route("/cases/<case_id>/export", methods=["GET"])
@authenticated(auth.INVESTIGATOR, ticket=True)
@blp.alt_response(
    200, description="application/zip, streamed: the case export (notary-export/1, docs/export.md)"
)
@blp.alt_response(403, schema=ErrorSchema, description="forbidden: the case is not approved yet")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another investigator's case)")
def export_case(case_id: str) -> Response:
    """Every evidence bundle in the case's scope, as one zip with a manifest signed by the notary.

    Recorded in the audit trail (``case.export``) before a byte is sent. Streamed: the
    answer has no Content-Length; an export cut short is no valid zip. Instead of the
    investigator's token, ``?ticket=`` may carry a download ticket (``POST .../export/ticket``),
    used up by this request.
    """
    rt = runtime()
    ticket = request.args.get("ticket")
    if ticket is not None and "Authorization" not in request.headers:
        investigator_id = rt.cases.redeem_ticket(ticket, case_id=case_id)
    else:
        investigator_id = caller_of(auth.INVESTIGATOR)
    export = rt.exports.begin(
        case_id, actor=audit.Actor(auth.INVESTIGATOR, investigator_id), investigator_id=investigator_id
    )
    response = Response(export.stream(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    return response
