"""The HTTP API under ``/api/v1``: Flask blueprints and marshmallow schemas, kept thin."""

from __future__ import annotations

import flask_smorest
from flask import Flask

from notary import __version__
from notary.api import (
    access,
    bodies,
    checks,
    contracts,
    errors,
    keys,
    log,
    metrics,
    parties,
    reports,
    request_log,
    system,
    throttle,
    timestamps,
    transparency,
    verification,
    webhooks,
)
from notary.api.schemas import ErrorSchema


class Api(flask_smorest.Api):
    """flask-smorest, documenting the notary's own error envelope."""

    ERROR_SCHEMA = ErrorSchema


def init_api(app: Flask) -> Api:
    """Register every blueprint, the OpenAPI document and the error handlers."""
    app.config.setdefault("API_TITLE", "notary")
    app.config.setdefault("API_VERSION", __version__)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(app)
    for blueprint in (
        system.blp,
        parties.blp,
        contracts.blp,
        log.blp,
        timestamps.blp,
        verification.blp,
        access.blp,
        checks.blp,
        reports.blp,
        transparency.blp,
        webhooks.blp,
        keys.blp,
    ):
        api.register_blueprint(blueprint)
    errors.register(app)
    # First: a request refused by a later hook (429, 413) is counted and logged too.
    request_log.init(app)
    metrics.init(app)
    throttle.init(app)
    bodies.init(app)
    return api
