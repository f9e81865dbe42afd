"""A request id for every request, and one log line when it is answered.

The id is the client's ``X-Request-ID`` when it is a plain token (letters, digits, ``._:-``, at
most 128), so a platform can follow its own call through our logs; otherwise one is made. It
goes back in the answer's ``X-Request-ID`` and on every line logged while the request is
answered (:mod:`notary.logs`). The closing line names the route template, never the path:
paths hold contract ids and whatever a client typed.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, has_request_context, request

from notary.logs import read_request_id_with
from notary.services import auth

logger = logging.getLogger("notary.request")

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}", flags=re.ASCII)
_CALLER_FIELD = {
    auth.PLATFORM: "platform_id",
    auth.PARTY: "key_fingerprint",
    auth.INVESTIGATOR: "investigator_id",
}


def current_request_id() -> str | None:
    """The id of the request being answered (``None`` outside a request)."""
    if not has_request_context():
        return None
    value: str | None = g.get("request_id")
    return value


def _begin() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if _ACCEPTED.fullmatch(offered) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _end(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers[HEADER] = request_id
    started = g.get("request_started")
    rule = request.url_rule
    fields = {
        "request_id": request_id,
        "method": request.method,
        "route": rule.rule if rule is not None else "unmatched",
        "status": response.status_code,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2) if started is not None else None,
    }
    caller = g.get("notary_principal")
    if caller is not None and caller.kind in _CALLER_FIELD:
        fields[_CALLER_FIELD[caller.kind]] = caller.subject_id
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    logger.log(level, "request", extra=fields)
    return response


def init(app: Flask) -> None:
    """Give every request of the app (API and pages) an id and a closing log line."""
    read_request_id_with(current_request_id)
    app.before_request(_begin)
    app.after_request(_end)
