"""Subscriptions: a platform's endpoints, the events each wants, and their signing secrets.

A platform manages its own endpoints with its token; an operator manages any platform's from
the command line (``platform_id=None`` below: every platform). Every change is recorded in the
audit trail, since it decides where the notary sends data. A secret is shown once, when made,
and stored encrypted with the instance's data key; several may be live at once so a platform
can rotate without missing a delivery.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from notary.errors import Conflict, NotFound, Unprocessable
from notary.services.audit import trail as audit
from notary.services.auth import PlatformDefunct
from notary.services.ceremony.identity import PiiCipher
from notary.services.clock import Clock, now_text
from notary.services.outbox import SUBSCRIBABLE, DeliveryStatus, EndpointStatus
from notary.services.text import check_text
from notary.services.webhooks.addresses import AddressPolicy
from notary.services.webhooks.signature import new_secret
from notary.storage.db import Database
from notary.storage.ids import new_id
from notary.storage.models import Platform
from notary.storage.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from notary.verify.payloads import format_time

ENDPOINT_PREFIX, SECRET_PREFIX = "wh_", "whs_"
MAX_ENDPOINTS = 16
"""Endpoints per platform."""
MAX_SECRETS = 5
"""Live secrets per endpoint."""
MAX_OVERLAP = 7 * 86400.0
"""The longest an old secret may keep signing after a rotation."""


class LastSecret(Conflict):
    """An endpoint keeps at least one live secret: every delivery is signed."""

    code = "last_secret"


class TooManyEndpoints(Conflict):
    code = "too_many_endpoints"


class TooManySecrets(Conflict):
    code = "too_many_secrets"


def secret_context(secret_id: str) -> str:
    """Associated data binding an encrypted secret to its row."""
    return f"webhook.secret:{secret_id}"


@dataclass(frozen=True)
class NewSecret:
    """A secret as made: its value is shown this once."""

    secret_id: str
    secret: str
    created_at: str


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: dict[str, Any]
    secret: NewSecret


def check_events(events: Sequence[str] | None) -> list[str]:
    """The subscribed types, sorted and unique (all of them when None); raises
    ``validation_failed`` for an empty list or an unknown type."""
    if events is None:
        return sorted(str(event) for event in SUBSCRIBABLE)
    allowed = {str(event) for event in SUBSCRIBABLE}
    unknown = [event for event in events if event not in allowed]
    if unknown or not events:
        message = f"events: one or more of {', '.join(sorted(allowed))}"
        raise Unprocessable(message, details={"events": [message]})
    return sorted(set(events))


class Subscriptions:
    """Endpoints and secrets. ``platform_id=None`` acts as an operator on any platform."""

    def __init__(self, db: Database, clock: Clock, cipher: PiiCipher, policy: AddressPolicy) -> None:
        self.db = db
        self.clock = clock
        self.cipher = cipher
        self.policy = policy

    def _checked_url(self, url: str) -> str:
        # The address rules apply at registration as at every delivery: a platform learns now
        # that its URL is refused, not from a failed delivery log.
        self.policy.resolve(self.policy.check_url(url))
        return url

    def add(
        self,
        platform_id: str,
        url: str,
        *,
        events: Sequence[str] | None,
        description: str | None,
        actor: audit.Actor,
    ) -> NewEndpoint:
        """Register an endpoint with a first secret (shown once).

        Raises ``not_found`` (no such platform), ``platform_defunct``, ``bad_webhook_url``,
        ``refused_address``, ``unresolvable_host``, ``validation_failed`` or
        ``too_many_endpoints``; nothing is stored when it raises.
        """
        types = check_events(events)
        description = _description(description)
        url = self._checked_url(url)
        now = now_text(self.clock)
        with self.db.write() as session:
            _live_platform(session, platform_id)
            count = session.execute(
                select(func.count())
                .select_from(WebhookEndpoint)
                .where(WebhookEndpoint.platform_id == platform_id)
            ).scalar_one()
            if count >= MAX_ENDPOINTS:
                raise TooManyEndpoints(f"a platform has at most {MAX_ENDPOINTS} webhook endpoints")
            endpoint = WebhookEndpoint(
                id=new_id(ENDPOINT_PREFIX),
                platform_id=platform_id,
                url=url,
                events=json.dumps(types),
                description=description,
                status=EndpointStatus.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            session.add(endpoint)
            session.flush()
            secret = self._new_secret(session, endpoint.id, now)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.add",
                object_kind="webhook",
                object_id=endpoint.id,
                details={"platform_id": platform_id, "url": url, "events": types},
            )
            return NewEndpoint(endpoint_view(session, endpoint, now), secret)

    def _new_secret(self, session: Session, endpoint_id: str, now: str) -> NewSecret:
        secret_id = new_id(SECRET_PREFIX)
        value = new_secret()
        session.add(
            WebhookSecret(
                id=secret_id,
                endpoint_id=endpoint_id,
                secret_enc=self.cipher.encrypt(value, context=secret_context(secret_id)),
                created_at=now,
            )
        )
        return NewSecret(secret_id, value, now)

    def list(self, platform_id: str | None) -> list[dict[str, Any]]:
        """Endpoints of the platform (every platform's for ``None``), oldest first."""
        now = now_text(self.clock)
        with self.db.read() as session:
            query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
            if platform_id is not None:
                query = query.where(WebhookEndpoint.platform_id == platform_id)
            return [endpoint_view(session, endpoint, now) for endpoint in session.execute(query).scalars()]

    def get(self, platform_id: str | None, endpoint_id: str) -> dict[str, Any]:
        """One endpoint; raises ``not_found`` (also another platform's)."""
        with self.db.read() as session:
            return endpoint_view(session, _endpoint(session, platform_id, endpoint_id), now_text(self.clock))

    def update(
        self,
        platform_id: str | None,
        endpoint_id: str,
        changes: dict[str, Any],
        *,
        actor: audit.Actor,
    ) -> dict[str, Any]:
        """Change ``url``, ``events``, ``description`` or ``status`` (``active``/``paused``).

        Pausing holds deliveries (they wait, in order); resuming sends them. Raises as
        :meth:`add`, and ``not_found``.
        """
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self._checked_url(changes["url"])
        if "events" in changes:
            values["events"] = json.dumps(check_events(changes["events"]))
        if "description" in changes:
            values["description"] = _description(changes["description"])
        if "status" in changes:
            if changes["status"] not in set(EndpointStatus):
                message = "status: active or paused"
                raise Unprocessable(message, details={"status": [message]})
            values["status"] = str(changes["status"])
        now = now_text(self.clock)
        with self.db.write() as session:
            endpoint = _endpoint(session, platform_id, endpoint_id, for_update=True)
            _live_platform(session, endpoint.platform_id)
            if values:
                for name, value in values.items():
                    setattr(endpoint, name, value)
                endpoint.updated_at = now
                shown = {
                    name: json.loads(value) if name == "events" else value for name, value in values.items()
                }
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="webhook.update",
                    object_kind="webhook",
                    object_id=endpoint.id,
                    details=shown,
                )
            return endpoint_view(session, endpoint, now)

    def delete(self, platform_id: str | None, endpoint_id: str, *, actor: audit.Actor) -> None:
        """Remove an endpoint with its secrets, deliveries and their log; raises ``not_found``."""
        now = now_text(self.clock)
        with self.db.write() as session:
            endpoint = _endpoint(session, platform_id, endpoint_id, for_update=True)
            session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
            session.execute(delete(WebhookSecret).where(WebhookSecret.endpoint_id == endpoint.id))
            session.delete(endpoint)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.delete",
                object_kind="webhook",
                object_id=endpoint.id,
                details={"platform_id": endpoint.platform_id, "url": endpoint.url},
            )

    def add_secret(
        self,
        platform_id: str | None,
        endpoint_id: str,
        *,
        expire_others_in: float | None,
        actor: audit.Actor,
    ) -> NewSecret:
        """A new secret (shown once). The others keep signing, or stop ``expire_others_in``
        seconds from now (0: at once; at most 7 days).

        Raises ``not_found``, ``platform_defunct``, ``validation_failed`` or ``too_many_secrets``.
        """
        if expire_others_in is not None and not 0 <= expire_others_in <= MAX_OVERLAP:
            message = f"expire_others_in: 0 to {int(MAX_OVERLAP)} seconds"
            raise Unprocessable(message, details={"expire_others_in": [message]})
        moment = self.clock()
        now = format_time(moment)
        with self.db.write() as session:
            endpoint = _endpoint(session, platform_id, endpoint_id, for_update=True)
            _live_platform(session, endpoint.platform_id)
            live = _live_secrets(session, endpoint.id, now)
            if expire_others_in is not None:
                until = format_time(moment + dt.timedelta(seconds=expire_others_in))
                for other in live:
                    if other.expires_at is None or other.expires_at > until:
                        other.expires_at = until
                live = [other for other in live if other.expires_at and other.expires_at > now]
            if len(live) >= MAX_SECRETS:
                raise TooManySecrets(
                    f"an endpoint has at most {MAX_SECRETS} live secrets: expire or delete one first"
                )
            secret = self._new_secret(session, endpoint.id, now)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.secret.add",
                object_kind="webhook",
                object_id=endpoint.id,
                details={"secret_id": secret.secret_id, "expire_others_in": expire_others_in},
            )
            return secret

    def delete_secret(
        self, platform_id: str | None, endpoint_id: str, secret_id: str, *, actor: audit.Actor
    ) -> None:
        """Stop a secret at once; raises ``not_found`` or ``last_secret`` (the only live one)."""
        now = now_text(self.clock)
        with self.db.write() as session:
            endpoint = _endpoint(session, platform_id, endpoint_id, for_update=True)
            live = _live_secrets(session, endpoint.id, now)
            secret = session.get(WebhookSecret, secret_id)
            if secret is None or secret.endpoint_id != endpoint.id:
                raise NotFound("no such secret")
            if [s.id for s in live] == [secret_id]:
                raise LastSecret("this is the endpoint's only live secret: add another first")
            session.delete(secret)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="webhook.secret.delete",
                object_kind="webhook",
                object_id=endpoint.id,
                details={"secret_id": secret_id},
            )


def _description(description: str | None) -> str | None:
    if description is None:
        return None
    text = check_text(description, field="description").strip()
    if len(text) > 200:
        raise Unprocessable("description: at most 200 characters", details={"description": ["≤ 200"]})
    return text or None


def _live_platform(session: Session, platform_id: str) -> Platform:
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise NotFound(f"no platform {platform_id}")
    if platform.status == "defunct":
        raise PlatformDefunct(f"platform {platform_id} is defunct: it receives no more events")
    return platform


def _endpoint(
    session: Session, platform_id: str | None, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)
    if endpoint is None or (platform_id is not None and endpoint.platform_id != platform_id):
        raise NotFound("no such webhook endpoint")
    return endpoint


def _live_secrets(session: Session, endpoint_id: str, now: str) -> list[WebhookSecret]:
    return list(
        session.execute(
            select(WebhookSecret)
            .where(
                WebhookSecret.endpoint_id == endpoint_id,
                or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
            )
            .order_by(WebhookSecret.created_at, WebhookSecret.id)
        ).scalars()
    )


def endpoint_view(session: Session, endpoint: WebhookEndpoint, now: str) -> dict[str, Any]:
    """An endpoint as answered: never a secret's value."""
    secrets = session.execute(
        select(WebhookSecret)
        .where(WebhookSecret.endpoint_id == endpoint.id)
        .order_by(WebhookSecret.created_at, WebhookSecret.id)
    ).scalars()
    pending = session.execute(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.PENDING)
    ).scalar_one()
    view: dict[str, Any] = {
        "webhook_id": endpoint.id,
        "platform_id": endpoint.platform_id,
        "url": endpoint.url,
        "events": json.loads(endpoint.events),
        "status": endpoint.status,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "pending_deliveries": pending,
        "secrets": [
            {
                "secret_id": secret.id,
                "created_at": secret.created_at,
                "expires_at": secret.expires_at,
                "live": secret.expires_at is None or secret.expires_at > now,
            }
            for secret in secrets
        ],
    }
    if endpoint.description is not None:
        view["description"] = endpoint.description
    return view


def live_secret_values(
    session: Session, cipher: PiiCipher, endpoint_ids: Sequence[str], now: str
) -> dict[str, list[str]]:
    """The live secrets' values of each endpoint, oldest first (for signing deliveries)."""
    values: dict[str, list[str]] = {endpoint_id: [] for endpoint_id in endpoint_ids}
    if not endpoint_ids:
        return values
    rows = session.execute(
        select(WebhookSecret)
        .where(
            WebhookSecret.endpoint_id.in_(list(endpoint_ids)),
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
        )
        .order_by(WebhookSecret.created_at, WebhookSecret.id)
    ).scalars()
    for secret in rows:
        values[secret.endpoint_id].append(
            cipher.decrypt(secret.secret_enc, context=secret_context(secret.id))
        )
    return values


def cancel_pending(session: Session, endpoint_ids: Sequence[str], now: str) -> int:
    """Cancel what an endpoint can no longer receive (after its platform's last event)."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id.in_(list(endpoint_ids)),
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None, last_error="the platform is defunct")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
