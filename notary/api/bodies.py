"""How large a request body each endpoint takes, enforced before a byte of it is parsed.

Each endpoint gets a limit fitting what it takes: a few KiB for logins, enrolments, signatures
and cases; the document limit for a filing; the request limit for batches and for evidence to
verify. A ``Content-Length`` over the limit is refused at once; a body without one (chunked)
is cut off as it is read, past the limit. Either way the answer is 413 ``too_large`` naming the
limit, and the body is never held in memory: nothing reads it before this check.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from werkzeug.exceptions import RequestEntityTooLarge

from notary.api.common import runtime
from notary.config import Settings
from notary.errors import TooLarge
from notary.signing.tsa import MAX_REQUEST_BYTES as TIMESTAMP_QUERY_BYTES

KIB = 1024
MIB = 1024 * KIB

#: Endpoints with a fixed limit, in bytes. A signature's body holds at most a 1,000-character
#: reason; an enrolment a name, an ID number, a phone, a PEM key and a proof.
FIXED: dict[str, int] = {
    "access.challenge": 4 * KIB,
    "access.token": 4 * KIB,
    "access.export_ticket": 4 * KIB,
    "parties.enrol": 16 * KIB,
    "access.open_case": 16 * KIB,
    "contracts.post_signature": 16 * KIB,
    "contracts.post_decline": 16 * KIB,
    "contracts.post_signatures_batch": 4 * MIB,  # 1,000 signatures
    "timestamps.post_timestamp_query": TIMESTAMP_QUERY_BYTES,
}

#: Any other endpoint (the reads, which take no body): enough for a stray small body.
OTHER = 16 * KIB


def filing_limit(settings: Settings) -> int:
    """One filing: a document in base64 inside JSON takes 4/3 of its size, plus room for the terms."""
    return settings.max_document_bytes * 4 // 3 + MIB


def body_limit(endpoint: str, settings: Settings) -> int:
    """The largest body ``endpoint`` takes, in bytes."""
    if endpoint in FIXED:
        return FIXED[endpoint]
    if endpoint == "contracts.file_contract":
        return filing_limit(settings)
    if endpoint in {"contracts.file_batch", "verification.post_verify", "verify.report", "verify.signed_pdf"}:
        return settings.max_request_bytes
    return OTHER


def too_large(limit: int) -> TooLarge:
    """The refusal of a body over ``limit`` bytes, naming the limit."""
    return TooLarge(
        f"the request body is larger than this endpoint takes: at most {limit} bytes",
        details={"limit_bytes": limit},
    )


def limit_body() -> None:
    """Before a request: set its body limit (Werkzeug then cuts a longer stream as it is read,
    413) and refuse at once a ``Content-Length`` over it."""
    limit = body_limit(request.endpoint or "", runtime().settings)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)


class BoundedRequest(Request):
    """A request whose streamed body (chunked, no ``Content-Length``) read whole is refused once it
    reaches its limit: Werkzeug's stream stops there silently when read to the end, and the
    truncated body would then be parsed as if it were all (multipart parsing raises by itself)."""

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        data = super().get_data(cache=cache, as_text=as_text, parse_form_data=parse_form_data)
        limit = self.max_content_length
        if self.content_length is None and limit is not None and len(data) >= limit:
            raise RequestEntityTooLarge()
        return data


def init(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.before_request(limit_body)
