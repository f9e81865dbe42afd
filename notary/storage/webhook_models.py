"""Tables of platform callbacks: endpoints and their secrets, the event outbox, deliveries and
every attempt.

These are operational tables, outside the evidence surface (``docs/reliability.md``): an event
body repeats public facts of a contract, and losing the tables loses no evidence. Secrets are
stored encrypted with the instance's data key, never in clear.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notary.storage.models import ID, TIME, Base

# An integer key that counts up by itself on both databases (SQLite only for INTEGER PRIMARY KEY).
SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class WebhookEndpoint(Base):
    """A platform's URL and the event types it wants; ``active`` or ``paused`` (deliveries wait)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)  # a JSON list of event types, sorted
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(TIME)
    updated_at: Mapped[str] = mapped_column(TIME)


class WebhookSecret(Base):
    """One signing secret of an endpoint (AES-GCM under the data key); every live one signs."""

    __tablename__ = "webhook_secrets"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(TIME)
    expires_at: Mapped[str | None] = mapped_column(TIME)


class WebhookEvent(Base):
    """The outbox: one event, its body byte for byte, written in the transaction that caused it.

    ``seq`` orders events; ``subject`` (a contract id, or none for a platform's own events)
    is what delivery order is kept for.
    """

    __tablename__ = "webhook_events"

    seq: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ID, unique=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(ID)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(TIME, index=True)


class WebhookDelivery(Base):
    """One event to one endpoint: ``pending`` until a 2xx (``delivered``) or the last try
    (``failed``); ``cancelled`` when its endpoint can no longer receive it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # An endpoint's due deliveries in the order they fell due; what came before one of
        # them for the same subject; an event's deliveries (resend).
        Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_attempt_at", "event_seq"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "subject", "event_seq"),
        Index("ix_webhook_deliveries_event", "event_seq"),
    )

    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), primary_key=True)
    event_seq: Mapped[int] = mapped_column(
        ForeignKey("webhook_events.seq"), primary_key=True, autoincrement=False
    )
    subject: Mapped[str | None] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[str | None] = mapped_column(TIME)
    last_attempt_at: Mapped[str | None] = mapped_column(TIME)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[str | None] = mapped_column(TIME)


class WebhookAttempt(Base):
    """One try of one delivery: when, the answer's status code and latency, or why it failed.

    Never the secret, the signature or the request's headers.
    """

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "endpoint_id", "event_seq"),)

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(String(40))
    event_seq: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[str] = mapped_column(TIME)
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    response_excerpt: Mapped[str | None] = mapped_column(String(200))
