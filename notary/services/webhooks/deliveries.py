"""The delivery log and resending: what was sent where, each attempt, and sending again.

A resend puts a delivery back to ``pending`` with a fresh set of tries, due now: the same
event (same ``event_id``, same body) goes again, signed with the secrets live at that moment.
Attempts made before stay in the log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notary.errors import NotFound, Unprocessable
from notary.services.audit import trail as audit
from notary.services.auth import PlatformDefunct
from notary.services.clock import Clock, now_text, parse_time
from notary.services.outbox import DeliveryStatus
from notary.storage.db import Database
from notary.storage.models import Platform
from notary.storage.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from notary.verify.payloads import format_time

D = WebhookDelivery
MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _delivery_view(delivery: WebhookDelivery, event: WebhookEvent) -> dict[str, Any]:
    return {
        "webhook_id": delivery.endpoint_id,
        "event_id": event.event_id,
        "type": event.type,
        "created_at": event.created_at,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
    }


def _attempt_view(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "started_at": attempt.started_at,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "response_excerpt": attempt.response_excerpt,
    }


class DeliveryLog:
    """Reads the log and resends. ``platform_id=None`` acts as an operator on any platform."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def deliveries(
        self,
        platform_id: str | None,
        endpoint_id: str,
        *,
        status: str | None = None,
        since: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """An endpoint's deliveries, newest event first; raises ``not_found``."""
        if status is not None and status not in set(DeliveryStatus):
            message = f"status: one of {', '.join(DeliveryStatus)}"
            raise Unprocessable(message, details={"status": [message]})
        limit = max(1, min(limit, MAX_PAGE))
        since = _time(since, "since") if since is not None else None
        with self.db.read() as session:
            _endpoint(session, platform_id, endpoint_id)
            query = (
                select(D, WebhookEvent)
                .join(WebhookEvent, WebhookEvent.seq == D.event_seq)
                .where(D.endpoint_id == endpoint_id)
                .order_by(D.event_seq.desc())
                .limit(limit + 1)
            )
            if status is not None:
                query = query.where(D.status == status)
            if since is not None:
                query = query.where(WebhookEvent.created_at >= since)
            if cursor is not None:
                query = query.where(D.event_seq < _cursor(cursor))
            rows = session.execute(query).all()
        items = [_delivery_view(delivery, event) for delivery, event in rows[:limit]]
        next_cursor = str(rows[limit - 1][0].event_seq) if len(rows) > limit else None
        return Page(items, next_cursor)

    def event(self, platform_id: str | None, event_id: str) -> dict[str, Any]:
        """An event as sent, each delivery and every attempt; raises ``not_found``."""
        with self.db.read() as session:
            event = _event(session, platform_id, event_id)
            deliveries = session.execute(
                select(D).where(D.event_seq == event.seq).order_by(D.endpoint_id)
            ).scalars()
            answer = []
            for delivery in deliveries:
                attempts = session.execute(
                    select(WebhookAttempt)
                    .where(
                        WebhookAttempt.endpoint_id == delivery.endpoint_id,
                        WebhookAttempt.event_seq == event.seq,
                    )
                    .order_by(WebhookAttempt.id)
                ).scalars()
                view = _delivery_view(delivery, event)
                view["attempt_log"] = [_attempt_view(attempt) for attempt in attempts]
                answer.append(view)
            return {
                "event_id": event.event_id,
                "type": event.type,
                "created_at": event.created_at,
                "body": json.loads(event.body),
                "deliveries": answer,
            }

    def resend_event(
        self, platform_id: str | None, event_id: str, *, endpoint_id: str | None, actor: audit.Actor
    ) -> int:
        """Send one event again to each endpoint it went to (or just ``endpoint_id``);
        returns how many deliveries were queued. Raises ``not_found`` or ``platform_defunct``."""
        now = now_text(self.clock)
        with self.db.write() as session:
            event = _event(session, platform_id, event_id)
            _live_platform(session, event.platform_id)
            query = update(D).where(D.event_seq == event.seq)
            if endpoint_id is not None:
                _endpoint(session, event.platform_id, endpoint_id)
                query = query.where(D.endpoint_id == endpoint_id)
            count = _requeue(session, query, now)
            if endpoint_id is not None and count == 0:
                raise NotFound("this event was not sent to that endpoint")
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.resend",
                object_kind="webhook_event",
                object_id=event.event_id,
                details={"deliveries": count} | ({"webhook_id": endpoint_id} if endpoint_id else {}),
            )
            return count

    def resend_failed(
        self,
        platform_id: str | None,
        *,
        since: str,
        endpoint_id: str | None,
        actor: audit.Actor,
    ) -> int:
        """Send again every ``failed`` delivery of an event created at or after ``since``: of
        the platform, or of one endpoint (an operator names one or the other). Returns how
        many were queued; raises ``not_found``, ``platform_defunct`` or ``validation_failed``
        (``since`` is not an RFC 3339 time)."""
        since = _time(since, "since")
        now = now_text(self.clock)
        with self.db.write() as session:
            if endpoint_id is not None:
                endpoint = _endpoint(session, platform_id, endpoint_id)
                _live_platform(session, endpoint.platform_id)
                endpoints = [endpoint.id]
            elif platform_id is not None:
                _live_platform(session, platform_id)
                endpoints = list(
                    session.execute(
                        select(WebhookEndpoint.id).where(WebhookEndpoint.platform_id == platform_id)
                    ).scalars()
                )
            else:
                raise Unprocessable("name a webhook endpoint or a platform")
            events = select(WebhookEvent.seq).where(WebhookEvent.created_at >= since).scalar_subquery()
            query = update(D).where(
                D.endpoint_id.in_(endpoints), D.status == DeliveryStatus.FAILED, D.event_seq.in_(events)
            )
            count = _requeue(session, query, now) if endpoints else 0
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.resend",
                object_kind="webhook",
                object_id=endpoint_id or platform_id,
                details={"failed_since": since, "deliveries": count},
            )
            return count


def _requeue(session: Session, query: Any, now: str) -> int:
    result = session.execute(
        query.values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _time(text: str, field: str) -> str:
    """An RFC 3339 time in the stored form (UTC, milliseconds), so it compares as text."""
    try:
        return format_time(parse_time(text))
    except ValueError as exc:
        message = f"{field}: an RFC 3339 time such as 2026-12-01T08:00:00Z"
        raise Unprocessable(message, details={field: [message]}) from exc


def _cursor(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 19:
        raise Unprocessable("cursor: as given in next_cursor", details={"cursor": ["unknown cursor"]})
    return int(cursor)


def _live_platform(session: Session, platform_id: str) -> None:
    platform = session.get(Platform, platform_id)
    if platform is not None and platform.status == "defunct":
        raise PlatformDefunct(f"platform {platform_id} is defunct: nothing is sent to it any more")


def _endpoint(session: Session, platform_id: str | None, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or (platform_id is not None and endpoint.platform_id != platform_id):
        raise NotFound("no such webhook endpoint")
    return endpoint


def _event(session: Session, platform_id: str | None, event_id: str) -> WebhookEvent:
    event = session.execute(
        select(WebhookEvent).where(WebhookEvent.event_id == event_id)
    ).scalar_one_or_none()
    if event is None or (platform_id is not None and event.platform_id != platform_id):
        raise NotFound("no such event")
    return event
