"""One place where errors become HTTP answers: ``{"error": {"code", "message", "details"?}}``.

Every :class:`NotaryError` maps to a status by its class; werkzeug's HTTP errors and
flask-smorest/webargs errors are mapped into the same envelope. A database that does not answer
(down, restarting, a lock held too long) is a 503 ``unavailable`` with ``Retry-After``. Nothing
else reaches a client: an unexpected exception is logged and answered as a bare 500 without a trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from notary import errors
from notary.storage.db import database_down, storage_full
from notary.verify.errors import MalformedInput, NotaryError, VerificationError

logger = logging.getLogger(__name__)


class MalformedJson(MalformedInput):
    code = "malformed_json"


class MalformedMultipart(MalformedInput):
    code = "malformed_multipart"


class UnsupportedMediaType(NotaryError):
    code = "unsupported_media_type"


# Most specific first: the first class in an error's MRO found here gives its status.
_STATUS: dict[type[NotaryError], int] = {
    MalformedInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotReady: 409,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.RateLimited: 429,
    UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    VerificationError: 422,
    errors.Unavailable: 503,
    errors.TimestampUnavailable: 503,
    errors.StorageFull: 507,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def status_of(error: NotaryError) -> int:
    """The HTTP status of a notary error."""
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 422


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


def handle_notary_error(error: NotaryError) -> Response:
    status = status_of(error)
    response = error_response(status, error.code, error.message, error.details)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return error_response(status, "internal_error", "the service failed; the error has been logged")
    if status == 413:  # Werkzeug cut a body off as it was read: name the limit it went over
        limit = request.max_content_length
        message = f"the request body is larger than this endpoint takes: at most {limit} bytes"
        return error_response(413, "too_large", message, {"limit_bytes": limit} if limit else None)
    data = getattr(error, "data", None) or {}
    details = data.get("messages") or data.get("errors")
    code = _HTTP_CODES.get(status, "bad_request")
    message = data.get("message") or error.description or error.name
    response = error_response(status, code, message, details)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


#: Seconds a client is told to wait when the database did not answer.
DATABASE_RETRY_AFTER = 5


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if storage_full(error):  # the transaction rolled back
        logger.warning("no space to store a request: %s", str(error).splitlines()[0])
        return handle_notary_error(
            errors.StorageFull(
                "the service has no space left to store this; nothing was stored, try again later"
            )
        )
    if database_down(error):  # the service is well, its database is not: worth asking again
        logger.warning("the database did not answer: %s", str(error).splitlines()[0])
        response = error_response(503, "unavailable", "the database does not answer; try again shortly")
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "the service failed; the error has been logged")


def register(app: Flask) -> None:
    """Install the handlers (after flask-smorest, so these win)."""
    app.register_error_handler(NotaryError, handle_notary_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
