"""Security headers on every answer, pages and API alike.

A strict Content-Security-Policy (scripts only from this origin, no inline script, no framing),
``nosniff``, no referrer (a signing link or a download ticket in a URL must not leak to another
site), and ``no-store`` on every answer to a request that carried a token: those are personal.
"""

from __future__ import annotations

from flask import Flask, Response, request

#: The policy of every page. Styles come from files too; ``img-src data:`` is for the QR code
#: and icons drawn inline by the CSS; ``blob:`` lets a page show a file the reader chose.
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-src blob:",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

#: The API docs page: Swagger UI sets style attributes from its script, so only that page
#: allows inline styles (never inline script).
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

_DOCS_ENDPOINTS = frozenset({"docs.api_docs"})


def secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", DOCS_CSP if request.endpoint in _DOCS_ENDPOINTS else CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if (
        "Authorization" in request.headers
        or request.args.get("ticket")
        or (response.mimetype == "text/html" and "Cache-Control" not in headers)
    ):
        headers["Cache-Control"] = "no-store"
    return response


def init(app: Flask) -> None:
    app.after_request(secure_headers)
