"""Errors on pages are pages: a person gets what happened and what to do, never JSON or a trace.

The API's handlers stay in charge of everything under ``/api/``: this wraps them, so an API
client keeps its ``{"error": ...}`` envelope and a browser on a page gets HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from notary.verify.errors import NotaryError

logger = logging.getLogger(__name__)

_API_PREFIXES = ("/api/",)


def _is_page_request() -> bool:
    return not request.path.startswith(_API_PREFIXES)


def _page(status: int) -> Response:
    response = Response(render_template("pages/error.html", status=status), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _wrap(api_handler: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def handle(error: Exception) -> Any:
        if _is_page_request() and request.method in {"GET", "HEAD"}:
            if isinstance(error, HTTPException):
                return _page(error.code or 500)
            if not isinstance(error, NotaryError):
                logger.exception("unhandled error on a page")
            return _page(500)
        if api_handler is None:
            raise error
        return api_handler(error)

    return handle


def init(app: Flask) -> None:
    """Wrap the handlers the API registered for HTTP errors and unexpected exceptions."""
    handlers = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    for kind in (HTTPException, Exception):
        app.register_error_handler(kind, _wrap(handlers.get(kind)))
