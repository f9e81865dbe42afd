"""The public log: checkpoints, the log key, proofs, and record presence. Hashes only."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, redirect, request, url_for
from marshmallow import fields, validate

from notary.api.common import Blueprint, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.services.tlog import public as log

blp = Blueprint("log", __name__, url_prefix="/api/v1", description="The public transparency log")

_SIZE = validate.Range(min=0, max=2**63 - 1)


class InclusionQuery(ma.Schema):
    leaf_index = fields.Integer(required=True, strict=False, validate=_SIZE)
    tree_size = fields.Integer(required=True, strict=False, validate=_SIZE)


class ConsistencyQuery(ma.Schema):
    first = fields.Integer(required=True, validate=_SIZE)
    second = fields.Integer(required=True, validate=_SIZE)


class LeafHashesQuery(ma.Schema):
    start = fields.Integer(required=True, validate=_SIZE)
    count = fields.Integer(load_default=log.MAX_PAGE, validate=validate.Range(min=1, max=log.MAX_PAGE))


class CheckpointsQuery(ma.Schema):
    after = fields.Integer(load_default=-1, validate=validate.Range(min=-1, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))


class InclusionProofSchema(ma.Schema):
    leaf_index = fields.Integer()
    tree_size = fields.Integer()
    hashes = fields.List(fields.String(), metadata={"description": "lowercase hex, RFC 9162 order"})


class ConsistencyProofSchema(ma.Schema):
    first = fields.Integer()
    second = fields.Integer()
    hashes = fields.List(fields.String())


class LogKeySchema(ma.Schema):
    origin = fields.String()
    verifier_key = fields.String(metadata={"description": "C2SP signed-note verifier key"})
    public_key_pem = fields.String()
    algorithm = fields.String()


class RecordPresenceSchema(InclusionProofSchema):
    record_sha256 = fields.String()
    checkpoint = fields.String()


def _note(text: str) -> Response:
    return Response(text, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@blp.route("/log/checkpoint", methods=["GET"])
@blp.alt_response(
    200, description="text/plain: the latest signed checkpoint (C2SP tlog-checkpoint) and its cosignatures"
)
def get_latest_checkpoint() -> Response:
    """The latest signed checkpoint."""
    with runtime().db.read() as session:
        return _note(log.served_note(session, log.latest_checkpoint(session)))


@blp.route("/log/checkpoints", methods=["GET"])
@blp.arguments(CheckpointsQuery, location="query")
@blp.alt_response(200, description="{checkpoints: [{tree_size, checkpoint}]}, oldest first")
def list_checkpoints(query: dict[str, int]) -> Response:
    """The signed checkpoints above a size, oldest first, with their cosignatures (for mirrors)."""
    with runtime().db.read() as session:
        return json_response(log.checkpoints_after(session, query["after"], query["limit"]))


@blp.route("/log/leaf-hashes", methods=["GET"])
@blp.arguments(LeafHashesQuery, location="query")
@blp.alt_response(200, description="{start, leaf_hashes, record_sha256}: hashes only, never a record")
@blp.alt_response(422, schema=ErrorSchema, description="start beyond the tree")
def get_leaf_hashes(query: dict[str, int]) -> Response:
    """The leaves' hashes (RFC 9162 leaf hashes) and their records' SHA-256, for mirrors."""
    with runtime().db.read() as session:
        return json_response(log.leaf_hashes(session, query["start"], query["count"]))


@blp.route("/log/checkpoints/<int:tree_size>", methods=["GET"])
@blp.alt_response(200, description="text/plain: the checkpoint signed at that size")
@blp.alt_response(404, schema=ErrorSchema, description="none was signed at that size")
def get_checkpoint(tree_size: int) -> Response:
    """An earlier signed checkpoint (each is kept forever)."""
    with runtime().db.read() as session:
        # Witnesses' cosignatures are added as they arrive: the bytes are not immutable.
        return _note(log.served_note(session, log.checkpoint_at(session, tree_size)))


@blp.route("/log/key", methods=["GET"])
@blp.alt_response(200, schema=LogKeySchema, description="the log's current key")
def get_log_key() -> Response:
    """The log's current key, with its C2SP verifier key text."""
    return json_response(runtime().published.log_key().to_dict())


@blp.route("/log/proof/inclusion", methods=["GET"])
@blp.arguments(InclusionQuery, location="query")
@blp.alt_response(200, schema=InclusionProofSchema, description="the audit path")
@blp.alt_response(
    422, schema=ErrorSchema, description="an impossible request (index ≥ size, size beyond the tree)"
)
def get_inclusion_proof(query: dict[str, int]) -> Response:
    """An inclusion proof (RFC 9162 §2.1.3) of a leaf in a tree of the given size."""
    with runtime().db.read_rows() as connection:
        proof = log.inclusion_proof(connection, query["leaf_index"], query["tree_size"])
    return json_response(proof.to_json())


@blp.route("/log/proof/consistency", methods=["GET"])
@blp.arguments(ConsistencyQuery, location="query")
@blp.alt_response(200, schema=ConsistencyProofSchema, description="the consistency proof")
@blp.alt_response(
    422, schema=ErrorSchema, description="an impossible request (first > second, beyond the tree)"
)
def get_consistency_proof(query: dict[str, int]) -> Response:
    """A consistency proof (RFC 9162 §2.1.4) between two tree sizes."""
    with runtime().db.read_rows() as connection:
        hashes = log.consistency_proof(connection, query["first"], query["second"])
    return json_response(
        {"first": query["first"], "second": query["second"], "hashes": [h.hex() for h in hashes]}
    )


@blp.route("/r/<record_sha256>", methods=["GET"])
@blp.alt_response(200, schema=RecordPresenceSchema, description="the record is in the log")
@blp.alt_response(303, description="a browser (Accept prefers text/html): to the page /r/{record_sha256}")
@blp.alt_response(404, schema=ErrorSchema, description="no such record")
@blp.alt_response(409, schema=ErrorSchema, description="evidence_not_ready: no checkpoint covers it yet")
def get_record_presence(record_sha256: str) -> Response:
    """Whether a record with that SHA-256 is in the log, proven against the latest checkpoint.

    This is the address a certificate's QR code holds: a browser (preferring ``text/html``) is
    sent to the page that shows the contract's public facts; an API client gets this JSON.
    """
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        response = redirect(url_for("home.record", record_sha256=record_sha256), 303)
        response.headers["Vary"] = "Accept"
        return response
    with runtime().db.read() as session:
        response = json_response(log.record_presence(session, record_sha256.lower()))
    response.headers["Vary"] = "Accept"
    return response


class TrustLogSchema(ma.Schema):
    origin = fields.String()
    verifier_key = fields.String()
    from_size = fields.Integer()
    until_size = fields.Integer()


class PolicyWitnessSchema(ma.Schema):
    name = fields.String()
    cosigner_key = fields.String()


class WitnessPolicySchema(ma.Schema):
    from_size = fields.Integer()
    until_size = fields.Integer()
    k = fields.Integer()
    witnesses = fields.List(fields.Nested(PolicyWitnessSchema))


class TrustSchema(ma.Schema):
    format = fields.String(metadata={"description": "notary-trust/2 (docs/formats.md §7)"})
    origin = fields.String(metadata={"description": "the log's current origin"})
    logs = fields.List(fields.Nested(TrustLogSchema))
    notary_roots_pem = fields.List(fields.String())
    tsa_roots_pem = fields.List(fields.String())
    witness_policies = fields.List(fields.Nested(WitnessPolicySchema))


@blp.route("/trust", methods=["GET"])
@blp.alt_response(200, schema=TrustSchema, description="the trust file for `notary verify --trust`")
def get_trust() -> Response:
    """What a verifier should trust: the log keys (with the sizes each signed), the notary's
    root and the timestamp authorities' roots. Save it once, from a source you trust."""
    return json_response(runtime().published.trust_file())


@blp.route("/trust/notary-root.pem", methods=["GET"])
@blp.alt_response(
    200,
    content_type="application/x-pem-file",
    description="the notary's root certificate (PEM), the one in the trust file's notary_roots_pem",
)
def get_notary_root() -> Response:
    """The notary's root alone, as a file a PDF reader imports (Adobe Reader's trusted
    certificates, ``certutil`` for ``pdfsig``): the same root as ``notary_roots_pem`` in
    ``GET /trust``. Its SHA-256 fingerprint is in the ``X-Notary-Root-SHA256`` header; compare
    it with one the notary published elsewhere before trusting it."""
    published = runtime().published
    response = Response(published.notary_root_pem(), mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'attachment; filename="notary-root.pem"'
    response.headers["X-Notary-Root-SHA256"] = published.notary_root_sha256()
    return response
