"""What the pages' views share: the runtime, the caller behind a bearer token, page answers."""

from __future__ import annotations

import re

from flask import Response, current_app, request

from notary.runtime import Runtime
from notary.services import auth
from notary.services.clock import now_text

HEX64 = re.compile(r"[0-9a-f]{64}")


def runtime() -> Runtime:
    """The process's runtime, built by the app factory."""
    value: Runtime = current_app.extensions["notary"]
    return value


def now() -> str:
    return now_text(runtime().clock)


def caller() -> auth.Principal:
    """The principal behind the request's ``Authorization: Bearer`` (sent by the page's script);
    raises ``unauthenticated`` or ``platform_defunct``."""
    return runtime().authenticator.principal(request.headers.get("Authorization"))


def personal(response: Response) -> Response:
    """Mark an answer that holds personal data: never stored by a cache or the browser."""
    response.headers["Cache-Control"] = "no-store"
    return response
