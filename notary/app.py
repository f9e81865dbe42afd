"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from notary.config import Settings
from notary.runtime import Runtime


def create_app(test_config: Mapping[str, Any] | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the Flask app.

    Settings come from ``NOTARY_*`` variables (and the instance's ``config.json``);
    ``test_config`` overrides them by setting name (``database_url``, ``instance_path``, ...).
    A ready ``runtime`` may be passed instead (tests, the benchmark).
    """
    rt = runtime or Runtime(Settings.load(**dict(test_config or {})))
    app = Flask("notary", instance_path=str(rt.settings.instance_path))
    app.config["MAX_CONTENT_LENGTH"] = rt.settings.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["notary"] = rt

    # The certificate's PDF and signing libraries take most of a second to import: a web
    # process imports them as it starts, not on its first certificate (the background worker,
    # which never makes one, does not import them at all).
    import notary.services.evidence.certificates  # noqa: F401
    from notary.api import init_api

    init_api(app)
    return app
