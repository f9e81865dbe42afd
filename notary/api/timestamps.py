"""``POST /tsa``: the embedded RFC 3161 authority, for other systems too."""

from __future__ import annotations

from flask import Response, request

from notary.api.common import Blueprint, runtime
from notary.api.errors import UnsupportedMediaType

blp = Blueprint("timestamps", __name__, url_prefix="/api/v1", description="The embedded timestamp authority")


@blp.route("/tsa", methods=["POST"])
@blp.doc(
    requestBody={
        "required": True,
        "content": {"application/timestamp-query": {"schema": {"type": "string", "format": "binary"}}},
    },
    responses={
        "200": {
            "description": "an RFC 3161 TimeStampResp (granted, or a rejection with its failInfo)",
            "content": {"application/timestamp-reply": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def post_timestamp_query() -> Response:
    """RFC 3161 over HTTP (RFC 3161 §3.4): a TimeStampReq in, a TimeStampResp out.

    Refusals (SHA-1 imprints, unknown policies, malformed requests) are RFC 3161 answers with
    status ``rejection``, as the protocol wants, not HTTP errors.
    """
    if request.mimetype != "application/timestamp-query":
        raise UnsupportedMediaType("send an application/timestamp-query")
    answer = runtime().embedded_tsa.respond(request.get_data())
    return Response(answer, mimetype="application/timestamp-reply")
