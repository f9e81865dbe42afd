"""The event outbox: what a platform is told, written in the transaction that caused it.

Every change that a platform hears of calls :func:`emit` inside its own write transaction, so
the event exists exactly when the change does: a rolled-back change leaves no event, and a
committed one always has its event. The background worker delivers them later
(:mod:`notary.services.webhooks.dispatcher`). This module needs nothing of the other services,
so every service that changes what a platform hears of may import it.

An event is written only for a platform with at least one endpoint (active or paused) that
subscribed to its type, and one delivery row is written per such endpoint. A defunct platform
gets no event after its ``platform.defunct``: emitting takes a share lock on the platform's
row, which marking it defunct holds exclusively, so an event either commits before the
defunct event (and is delivered before it) or sees the platform defunct and is not written.

Adding an event type (``report.lodged``, ``evidence.cosigned``): call :func:`emit` with it in
the transaction of the change, add it to :data:`SUBSCRIBABLE`, and document its ``data`` in
``docs/webhooks.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notary.services.clock import Clock, now_text
from notary.storage.ids import new_id
from notary.storage.models import Contract, Platform
from notary.storage.report_models import Report
from notary.storage.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notary.verify.canonical import canonical_json
from notary.verify.vocabulary import PlatformStatus

EVENT_FORMAT = "notary-event/1"
EVENT_ID_PREFIX = "ev_"


class EventType(StrEnum):
    CONTRACT_SIGNED = "contract.signed"
    CONTRACT_DECLINED = "contract.declined"
    CONTRACT_EXPIRED = "contract.expired"
    CONTRACT_SEALED = "contract.sealed"
    EVIDENCE_READY = "evidence.ready"
    PLATFORM_DEFUNCT = "platform.defunct"
    REPORT_LODGED = "report.lodged"
    REPORT_FILED_LATE = "report.filed_late"
    EVIDENCE_COSIGNED = "evidence.cosigned"


SUBSCRIBABLE: tuple[EventType, ...] = (
    EventType.CONTRACT_SIGNED,
    EventType.CONTRACT_DECLINED,
    EventType.CONTRACT_EXPIRED,
    EventType.CONTRACT_SEALED,
    EventType.EVIDENCE_READY,
    EventType.EVIDENCE_COSIGNED,
    EventType.PLATFORM_DEFUNCT,
    EventType.REPORT_LODGED,
    EventType.REPORT_FILED_LATE,
)
"""The types an endpoint may subscribe to: those something emits today."""


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Event:
    """An event to emit: for one platform, about ``subject`` (a contract id; None for the
    platform's own events, which are delivered after everything before them)."""

    platform_id: str
    type: EventType
    subject: str | None
    data: Mapping[str, Any]


def event_body(event_id: str, event: Event, created_at: str) -> bytes:
    """The exact bytes delivered (canonical JSON), the same on every try and every resend."""
    return canonical_json(
        {
            "format": EVENT_FORMAT,
            "event_id": event_id,
            "type": str(event.type),
            "created_at": created_at,
            "platform_id": event.platform_id,
            "data": dict(event.data),
        }
    )


_LISTENERS = select(WebhookEndpoint.id, WebhookEndpoint.platform_id, WebhookEndpoint.events).where(
    WebhookEndpoint.platform_id.in_(bindparam("platforms", expanding=True))
)
_ACTIVE_PLATFORMS = (
    select(Platform.id)
    .where(Platform.id.in_(bindparam("platforms", expanding=True)), Platform.status == PlatformStatus.ACTIVE)
    .with_for_update(read=True)
)
_ANY_ENDPOINT = select(WebhookEndpoint.id).limit(1)


def anyone_listens(session: Session) -> bool:
    """Whether any endpoint exists at all: work that only feeds events skips itself otherwise."""
    return session.execute(_ANY_ENDPOINT).first() is not None


def emit(session: Session | Connection, events: Sequence[Event], *, now: str) -> int:
    """Write ``events`` into the outbox, with a delivery for every endpoint that wants each;
    returns how many events were written (those nobody listens to are not).

    Runs inside the caller's write transaction. Events of a platform marked defunct are
    dropped, except its ``platform.defunct`` itself.
    """
    if not events:
        return 0
    platforms = sorted({event.platform_id for event in events})
    listeners: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for endpoint_id, platform_id, subscribed in session.execute(_LISTENERS, {"platforms": platforms}):
        listeners.setdefault(platform_id, []).append((endpoint_id, frozenset(json.loads(subscribed))))
    if not listeners:
        return 0
    wanted = [event for event in events if event.platform_id in listeners]
    ordinary = sorted({e.platform_id for e in wanted if e.type != EventType.PLATFORM_DEFUNCT})
    active = set(session.execute(_ACTIVE_PLATFORMS, {"platforms": ordinary}).scalars()) if ordinary else set()
    rows, targets = [], []
    for event in wanted:
        if event.type != EventType.PLATFORM_DEFUNCT and event.platform_id not in active:
            continue
        endpoints = [
            endpoint_id for endpoint_id, types in listeners[event.platform_id] if event.type in types
        ]
        if not endpoints:
            continue
        event_id = new_id(EVENT_ID_PREFIX)
        rows.append(
            {
                "event_id": event_id,
                "platform_id": event.platform_id,
                "type": str(event.type),
                "subject": event.subject,
                "body": event_body(event_id, event, now),
                "created_at": now,
            }
        )
        targets.append((event.subject, endpoints))
    if not rows:
        return 0
    seqs = session.execute(
        insert(WebhookEvent).returning(WebhookEvent.seq, sort_by_parameter_order=True), rows
    ).scalars()
    deliveries = [
        {
            "endpoint_id": endpoint_id,
            "event_seq": seq,
            "subject": subject,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for seq, (subject, endpoints) in zip(seqs, targets, strict=True)
        for endpoint_id in endpoints
    ]
    session.execute(insert(WebhookDelivery), deliveries)
    return len(rows)


def _contract_facts(contract: Contract) -> dict[str, Any]:
    facts: dict[str, Any] = {"contract_id": contract.id}
    if contract.external_ref is not None:
        facts["external_ref"] = contract.external_ref
    return facts


def contract_signed(contract: Contract, *, role: str, party_id: str, signed_at: str) -> Event:
    """One role signed; ``status`` is the contract's afterwards (``signed`` once both have)."""
    data = {
        **_contract_facts(contract),
        "role": role,
        "party_id": party_id,
        "signed_at": signed_at,
        "status": contract.status,
    }
    return Event(contract.platform_id, EventType.CONTRACT_SIGNED, contract.id, data)


def contract_declined(contract: Contract, *, role: str, party_id: str, declined_at: str) -> Event:
    """One role refused with a signed decline; the reason is read with ``GET /contracts/{id}``."""
    data = {
        **_contract_facts(contract),
        "role": role,
        "party_id": party_id,
        "declined_at": declined_at,
        "status": contract.status,
    }
    return Event(contract.platform_id, EventType.CONTRACT_DECLINED, contract.id, data)


def contract_expired(contract: Contract, *, expired_at: str) -> Event:
    """The signing deadline passed before both roles signed."""
    data = {
        **_contract_facts(contract),
        "sign_by": contract.deadline,
        "expired_at": expired_at,
        "status": "expired",
    }
    return Event(contract.platform_id, EventType.CONTRACT_EXPIRED, contract.id, data)


def contract_sealed(contract: Contract, *, leaf_index: int, record_sha256: str, sealed_at: str) -> Event:
    """The evidence record is in the log (its timestamp and checkpoint follow: ``evidence.ready``)."""
    data = {
        **_contract_facts(contract),
        "leaf_index": leaf_index,
        "record_sha256": record_sha256,
        "sealed_at": sealed_at,
        "status": "sealed",
    }
    return Event(contract.platform_id, EventType.CONTRACT_SEALED, contract.id, data)


def evidence_ready(contract: Contract, *, leaf_index: int, record_sha256: str, checkpoint_size: int) -> Event:
    """The record's token, its first covering checkpoint and that checkpoint's token are in:
    the bundle and the certificate can be downloaded."""
    data = {
        **_contract_facts(contract),
        "leaf_index": leaf_index,
        "record_sha256": record_sha256,
        "checkpoint_size": checkpoint_size,
        "evidence_path": f"/api/v1/contracts/{contract.id}/evidence",
        "certificate_path": f"/api/v1/contracts/{contract.id}/certificate",
    }
    return Event(contract.platform_id, EventType.EVIDENCE_READY, contract.id, data)


def evidence_cosigned(
    contract: Contract, *, leaf_index: int, record_sha256: str, checkpoint_size: int
) -> Event:
    """The first checkpoint covering the record that meets the witness policy, and its token,
    are in: the bundle is now served with the witnesses' cosignatures (issue 21)."""
    data = {
        **_contract_facts(contract),
        "leaf_index": leaf_index,
        "record_sha256": record_sha256,
        "checkpoint_size": checkpoint_size,
        "evidence_path": f"/api/v1/contracts/{contract.id}/evidence",
    }
    return Event(contract.platform_id, EventType.EVIDENCE_COSIGNED, contract.id, data)


def platform_defunct(platform: Platform) -> Event:
    """The platform's last event: nothing is delivered to it afterwards."""
    data = {"platform_id": platform.id, "defunct_at": platform.defunct_at}
    return Event(platform.id, EventType.PLATFORM_DEFUNCT, None, data)


def _report_facts(report: Report) -> dict[str, Any]:
    # Which document, never who reported it: the reporter's key, identity and claimed terms
    # stay with the notary and the investigators (docs/checks.md).
    return {"report_id": report.id, "document_sha256": report.document_sha256}


def report_lodged(report: Report) -> Event:
    """A person reported that the platform holds a contract it did not file (瞒报)."""
    data = {**_report_facts(report), "lodged_at": report.lodged_at, "status": "open"}
    return Event(report.platform_id, EventType.REPORT_LODGED, report.id, data)


def report_filed_late(report: Report) -> Event:
    """The platform has since filed the reported document in the reporter's name."""
    data = {
        **_report_facts(report),
        "contract_id": report.filed_contract_id,
        "filed_at": report.filed_at,
        "status": "filed_late",
    }
    return Event(report.platform_id, EventType.REPORT_FILED_LATE, report.id, data)


class ReportWebhooks:
    """The reports' events (``notary.services.reports.lodging.ReportEvents``), written in the
    transaction that lodges or marks the report."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def lodged(self, session: Session, report: Report) -> None:
        emit(session, [report_lodged(report)], now=now_text(self.clock))

    def filed_late(self, session: Session, report: Report) -> None:
        emit(session, [report_filed_late(report)], now=now_text(self.clock))
