"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from notary.config import Settings
from notary.runtime import Runtime


def create_app(test_config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the Flask app.

    Settings come from ``NOTARY_*`` variables (and the instance's ``config.json``);
    ``test_config`` overrides them by setting name (``database_url``, ``instance_path``, ...).
    A ready ``runtime`` may be passed instead (tests, the benchmark); it must be a web one.

    Everything is built here, before the first request: unreadable keys raise
    ``KeysUnusable`` and unreadable authority roots :class:`~notary.config.ConfigError`, so a
    web process with them never starts.
    """
    rt = runtime or Runtime(Settings.load(**dict(test_config or {})), web=True)
    if rt.certificates is None:
        raise ValueError("create_app needs a web runtime: Runtime(settings, web=True)")
    app = Flask("notary", instance_path=str(rt.settings.instance_path))
    app.config["MAX_CONTENT_LENGTH"] = rt.settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["notary"] = rt
    if rt.settings.trusted_proxies:
        # Behind N reverse proxies, the client is the address the outermost one saw: the Nth
        # from the right of X-Forwarded-For. Without proxies that header is anyone's to forge.
        proxies = rt.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    from notary.api import init_api
    from notary.pages import init_pages

    init_api(app)
    init_pages(app)
    return app


def serve_app() -> Flask:
    """The app as ``notary serve`` runs it (gunicorn, or Flask's server with ``--dev``): its
    process logs one JSON object per line (``NOTARY_LOG_FORMAT``, ``text`` with ``--dev``)
    before the app is built, so that even a failed start is logged that way."""
    from notary.logs import configure_logging

    settings = Settings.load()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(runtime=Runtime(settings, web=True))
