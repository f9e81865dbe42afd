"""marshmallow schemas of webhook endpoints, their secrets, deliveries and events."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from notary.services.outbox import SUBSCRIBABLE, DeliveryStatus

_EVENTS = fields.List(
    fields.String(validate=validate.OneOf([str(event) for event in SUBSCRIBABLE])),
    validate=validate.Length(1, len(SUBSCRIBABLE)),
    metadata={"description": "event types (docs/webhooks.md); all of them when left out"},
)


class WebhookRequestSchema(ma.Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(1, 2048),
        metadata={"description": "https:// only; must resolve to public addresses (docs/webhooks.md)"},
    )
    events = _EVENTS
    description = fields.String(validate=validate.Length(0, 200))


class WebhookUpdateSchema(ma.Schema):
    url = fields.String(validate=validate.Length(1, 2048))
    events = _EVENTS
    description = fields.String(validate=validate.Length(0, 200), allow_none=True)
    status = fields.String(
        validate=validate.OneOf(["active", "paused"]),
        metadata={"description": "paused: deliveries wait, in order, until active again"},
    )


class SecretInfoSchema(ma.Schema):
    secret_id = fields.String()
    created_at = fields.String()
    expires_at = fields.String(allow_none=True)
    live = fields.Boolean()


class WebhookSchema(ma.Schema):
    webhook_id = fields.String()
    platform_id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    status = fields.String(validate=validate.OneOf(["active", "paused"]))
    created_at = fields.String()
    updated_at = fields.String()
    pending_deliveries = fields.Integer()
    secrets = fields.List(fields.Nested(SecretInfoSchema))


class NewSecretSchema(ma.Schema):
    secret_id = fields.String()
    secret = fields.String(metadata={"description": "shown once: the HMAC key, as UTF-8"})
    created_at = fields.String()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.Nested(NewSecretSchema)


class WebhookListSchema(ma.Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema))


class SecretRequestSchema(ma.Schema):
    expire_others_in = fields.Integer(
        validate=validate.Range(0, 7 * 86400),
        metadata={
            "description": "seconds until the other secrets stop signing (0: at once); kept when left out"
        },
    )


class DeliveriesQuerySchema(ma.Schema):
    status = fields.String(validate=validate.OneOf([str(status) for status in DeliveryStatus]))
    since = fields.String(metadata={"description": "RFC 3339: events created at or after"})
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class DeliverySchema(ma.Schema):
    webhook_id = fields.String()
    event_id = fields.String()
    type = fields.String()
    created_at = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    last_attempt_at = fields.String(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)


class DeliveriesSchema(ma.Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


class AttemptSchema(ma.Schema):
    attempt = fields.Integer()
    started_at = fields.String()
    outcome = fields.String()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)


class EventDeliverySchema(DeliverySchema):
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class EventSchema(ma.Schema):
    event_id = fields.String()
    type = fields.String()
    created_at = fields.String()
    body = fields.Dict(metadata={"description": "the event as delivered"})
    deliveries = fields.List(fields.Nested(EventDeliverySchema))


class ResendRequestSchema(ma.Schema):
    webhook_id = fields.String(validate=validate.Length(1, 40))


class ResendFailedRequestSchema(ma.Schema):
    failed_since = fields.String(required=True, metadata={"description": "RFC 3339"})
    webhook_id = fields.String(validate=validate.Length(1, 40))


class ResentSchema(ma.Schema):
    deliveries = fields.Integer(metadata={"description": "deliveries queued again"})
