"""What every view shares: strict request parsing, the caller, and JSON answers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response, current_app, g, jsonify, request
from webargs.flaskparser import FlaskParser

from notary.api.errors import MalformedJson, UnsupportedMediaType
from notary.errors import Forbidden, ValidationFailed
from notary.runtime import Runtime
from notary.services import auth
from notary.verify.canonical import parse_json
from notary.verify.errors import MalformedInput


class NotaryParser(FlaskParser):
    """webargs, with the notary's errors: strict JSON, 415 for other bodies, 422 with details."""

    DEFAULT_VALIDATION_STATUS = 422

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        if not req.is_json:
            raise UnsupportedMediaType("this endpoint takes application/json")
        data = req.get_data(cache=True)
        if not data:
            raise MalformedJson("the request body is empty")
        return strict_json(data)

    def handle_error(self, error: ma.ValidationError, req: Any, schema: ma.Schema, **_: Any) -> Any:
        messages = error.messages
        if isinstance(messages, dict) and set(messages) <= {"json", "query", "querystring", "form"}:
            merged: dict[str, Any] = {}
            for part in messages.values():
                merged.update(part if isinstance(part, dict) else {"_body": part})
            messages = merged
        raise ValidationFailed("the request is not valid", details=messages)


def strict_json(data: bytes | str) -> Any:
    """Parse a JSON body strictly (no duplicate keys, no NaN); raises ``malformed_json``."""
    try:
        return parse_json(data, what="the request body")
    except MalformedInput as exc:
        raise MalformedJson(exc.message) from exc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = NotaryParser()


def runtime() -> Runtime:
    """The process's runtime, built by the app factory."""
    value: Runtime = current_app.extensions["notary"]
    return value


#: The OpenAPI security scheme of every call that takes a token.
BEARER = "bearerAuth"


def principal() -> auth.Principal:
    """The authenticated caller (once per request); raises ``unauthenticated`` or ``platform_defunct``."""
    known: auth.Principal | None = g.get("notary_principal")
    if known is not None:
        return known
    caller = runtime().authenticator.principal(request.headers.get("Authorization"))
    g.notary_principal = caller
    return caller


def authenticated(*kinds: str, ticket: bool = False) -> Callable[[Any], Any]:
    """Authenticate the caller before anything of the request is read or validated, so that
    401, 410 and 403 come before 400, 413 and 422 (docs/api.md); ``kinds``: the callers the
    endpoint is for (none: any). ``ticket``: a request with ``?ticket=`` and no header is left
    to the view, which redeems the ticket. Declares the bearer scheme in the OpenAPI document.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not (ticket and "ticket" in request.args and "Authorization" not in request.headers):
                caller = principal()
                if kinds and caller.kind not in kinds:
                    raise Forbidden(f"this endpoint is for {' or '.join(kinds)} tokens")
            return view(*args, **kwargs)

        return flask_smorest.Blueprint.doc(security=[{BEARER: []}])(inner)

    return decorate


def caller_of(kind: str) -> str:
    """The subject id of a caller of this ``kind``; raises ``unauthenticated``, ``platform_defunct``
    or ``forbidden`` (a caller of another kind: the endpoint is not for it, whatever the object).
    """
    caller = principal()
    if caller.kind != kind:
        raise Forbidden(f"this endpoint is for {kind} tokens")
    return caller.subject_id


def platform_id() -> str:
    """The calling platform's id; other callers are refused."""
    return caller_of(auth.PLATFORM)


def named_case() -> str | None:
    """The case an investigator names for a read (``Notary-Case: <case_id>``), if any."""
    value = request.headers.get("Notary-Case")
    return value.strip() or None if value is not None else None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response
