"""``/webhooks`` and ``/webhook-events``: a platform's callbacks, their log, and resending."""

from __future__ import annotations

from typing import Any

from flask import Response

from notary.api.common import Blueprint, json_response, platform_id, runtime
from notary.api.schemas import ErrorSchema
from notary.api.webhook_schemas import (
    DeliveriesQuerySchema,
    DeliveriesSchema,
    EventSchema,
    NewSecretSchema,
    ResendFailedRequestSchema,
    ResendRequestSchema,
    ResentSchema,
    SecretRequestSchema,
    WebhookCreatedSchema,
    WebhookListSchema,
    WebhookRequestSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from notary.services import auth
from notary.services.audit import trail as audit

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Signed callbacks to the platform")


def _platform() -> tuple[str, audit.Actor]:
    caller = platform_id()
    return caller, audit.Actor(auth.PLATFORM, caller)


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookRequestSchema)
@blp.alt_response(201, schema=WebhookCreatedSchema, description="registered; the secret is shown this once")
@blp.alt_response(
    422,
    schema=ErrorSchema,
    description="bad_webhook_url, refused_address, unresolvable_host, validation_failed",
)
@blp.alt_response(409, schema=ErrorSchema, description="too_many_endpoints")
def add_webhook(body: dict[str, Any]) -> Response:
    """Register an endpoint for some event types (all when ``events`` is left out)."""
    caller, actor = _platform()
    new = runtime().subscriptions.add(
        caller, body["url"], events=body.get("events"), description=body.get("description"), actor=actor
    )
    answer = {**new.endpoint, "secret": _secret(new.secret)}
    return json_response(answer, 201)


@blp.route("/webhooks", methods=["GET"])
@blp.alt_response(200, schema=WebhookListSchema, description="the platform's endpoints, oldest first")
def list_webhooks() -> Response:
    """The platform's endpoints (never a secret's value)."""
    caller, _ = _platform()
    return json_response({"webhooks": runtime().subscriptions.list(caller)})


@blp.route("/webhooks/<webhook_id>", methods=["GET"])
@blp.alt_response(200, schema=WebhookSchema, description="the endpoint")
@blp.alt_response(404, schema=ErrorSchema, description="not_found (also another platform's)")
def get_webhook(webhook_id: str) -> Response:
    """One endpoint."""
    caller, _ = _platform()
    return json_response(runtime().subscriptions.get(caller, webhook_id))


@blp.route("/webhooks/<webhook_id>", methods=["PATCH"])
@blp.arguments(WebhookUpdateSchema)
@blp.alt_response(200, schema=WebhookSchema, description="changed")
def update_webhook(body: dict[str, Any], webhook_id: str) -> Response:
    """Change the URL, the events, the description, or pause and resume (``status``)."""
    caller, actor = _platform()
    return json_response(runtime().subscriptions.update(caller, webhook_id, body, actor=actor))


@blp.route("/webhooks/<webhook_id>", methods=["DELETE"])
@blp.alt_response(204, description="deleted, with its secrets and its delivery log")
def delete_webhook(webhook_id: str) -> Response:
    """Delete an endpoint: nothing more is sent to it."""
    caller, actor = _platform()
    runtime().subscriptions.delete(caller, webhook_id, actor=actor)
    return Response(status=204)


@blp.route("/webhooks/<webhook_id>/secrets", methods=["POST"])
@blp.arguments(SecretRequestSchema)
@blp.alt_response(201, schema=NewSecretSchema, description="a new secret, shown this once")
@blp.alt_response(409, schema=ErrorSchema, description="too_many_secrets")
def add_secret(body: dict[str, Any], webhook_id: str) -> Response:
    """Rotate: a new secret signs from now on beside the others, which stop after
    ``expire_others_in`` seconds (kept when left out)."""
    caller, actor = _platform()
    secret = runtime().subscriptions.add_secret(
        caller, webhook_id, expire_others_in=body.get("expire_others_in"), actor=actor
    )
    return json_response(_secret(secret), 201)


@blp.route("/webhooks/<webhook_id>/secrets/<secret_id>", methods=["DELETE"])
@blp.alt_response(204, description="the secret no longer signs")
@blp.alt_response(409, schema=ErrorSchema, description="last_secret")
def delete_secret(webhook_id: str, secret_id: str) -> Response:
    """Stop one secret at once (not the last live one)."""
    caller, actor = _platform()
    runtime().subscriptions.delete_secret(caller, webhook_id, secret_id, actor=actor)
    return Response(status=204)


@blp.route("/webhooks/<webhook_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveriesQuerySchema, location="query")
@blp.alt_response(200, schema=DeliveriesSchema, description="newest event first")
def list_deliveries(query: dict[str, Any], webhook_id: str) -> Response:
    """The endpoint's deliveries: status, attempts, the last answer and the next try."""
    caller, _ = _platform()
    page = runtime().deliveries.deliveries(
        caller,
        webhook_id,
        status=query.get("status"),
        since=query.get("since"),
        cursor=query.get("cursor"),
        limit=query["limit"],
    )
    return json_response({"deliveries": page.items, "next_cursor": page.next_cursor})


@blp.route("/webhook-events/<event_id>", methods=["GET"])
@blp.alt_response(200, schema=EventSchema, description="the event, its deliveries and every attempt")
def get_event(event_id: str) -> Response:
    """An event as delivered, with each attempt's status code and latency."""
    caller, _ = _platform()
    return json_response(runtime().deliveries.event(caller, event_id))


@blp.route("/webhook-events/<event_id>/resend", methods=["POST"])
@blp.arguments(ResendRequestSchema)
@blp.alt_response(202, schema=ResentSchema, description="queued again (same event_id, same body)")
def resend_event(body: dict[str, Any], event_id: str) -> Response:
    """Send one event again, to every endpoint it went to or to ``webhook_id``."""
    caller, actor = _platform()
    count = runtime().deliveries.resend_event(
        caller, event_id, endpoint_id=body.get("webhook_id"), actor=actor
    )
    return json_response({"deliveries": count}, 202)


@blp.route("/webhook-events/resend", methods=["POST"])
@blp.arguments(ResendFailedRequestSchema)
@blp.alt_response(202, schema=ResentSchema, description="queued again")
def resend_failed(body: dict[str, Any]) -> Response:
    """Send again every failed delivery of events created since ``failed_since``."""
    caller, actor = _platform()
    count = runtime().deliveries.resend_failed(
        caller, since=body["failed_since"], endpoint_id=body.get("webhook_id"), actor=actor
    )
    return json_response({"deliveries": count}, 202)


def _secret(secret: Any) -> dict[str, str]:
    return {"secret_id": secret.secret_id, "secret": secret.secret, "created_at": secret.created_at}
