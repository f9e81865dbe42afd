"""``/api/docs``: the API reference for platform developers, Swagger UI from a packaged copy.

The ``swagger-ui-bundle`` package ships Swagger UI's files; they are served from here, so the
page works on a network with no internet. It reads ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs", __name__)

#: The only files of the package the page loads.
_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})


@blp.get("/api/docs")
def api_docs() -> str:
    """Swagger UI over this service's OpenAPI document."""
    return render_template("pages/api_docs.html")


@blp.get("/api/docs/assets/<name>")
def asset(name: str) -> Response:
    """One of Swagger UI's packaged files (nothing else in the package is served)."""
    if name not in _ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
