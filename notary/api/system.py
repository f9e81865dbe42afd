"""``/healthz`` and other answers about the service itself."""

from __future__ import annotations

from flask import Response

from notary.api.common import Blueprint, json_response, runtime
from notary.api.schemas import HealthSchema

blp = Blueprint("system", __name__, url_prefix="/api/v1", description="The service itself")


@blp.route("/healthz", methods=["GET"])
@blp.alt_response(200, schema=HealthSchema, description="usable")
@blp.alt_response(503, schema=HealthSchema, description="the database or the keys are unusable")
def healthz() -> Response:
    """Whether the service can answer, and the backlog of its background work."""
    report, usable = runtime().health.report()
    return json_response(report, 200 if usable else 503)
