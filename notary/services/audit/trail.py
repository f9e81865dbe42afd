"""The audit trail: every evidence read, export, login and administrative act, hash-chained.

Each entry is canonical JSON (format ``notary-audit/1``) that names its ``sequence`` and the
SHA-256 of the previous entry's bytes, so changing, dropping or reordering an entry breaks the
chain. The head of the chain is written into the transparency log as a leaf of format
``notary-audit-head/1`` at least once a minute while the trail grows (:func:`anchor_audit_head`),
so not even an operator can rewrite the trail unseen. ``docs/audit.md`` fixes the bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from notary.services.auth import Principal
from notary.services.clock import Clock
from notary.services.tlog.sequencer import append_leaves
from notary.storage.access_models import AuditAnchor, AuditEntry
from notary.storage.db import Database
from notary.storage.tree import LeafSink
from notary.verify import payloads
from notary.verify.canonical import canonical_json

AUDIT_FORMAT = "notary-audit/1"
AUDIT_HEAD_FORMAT = "notary-audit-head/1"
ANCHOR_INTERVAL = 60.0
"""Seconds between two anchors of a growing trail: the head reaches the log within a minute."""

OPERATOR = "operator"

# One PostgreSQL advisory lock orders every appender; SQLite's BEGIN IMMEDIATE already does.
_AUDIT_LOCK = int.from_bytes(hashlib.sha256(b"notary.audit_entries").digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Actor:
    """Who acted: an ``operator`` (by name), a ``platform``, a ``party`` (key) or an ``investigator``."""

    kind: str
    id: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.kind, principal.subject_id)


def operator(name: str) -> Actor:
    """An operator acting from the command line, named as given (``--operator``)."""
    return Actor(OPERATOR, name.strip() or "unknown")


@dataclass(frozen=True)
class AuditHead:
    sequence: int
    entry_sha256: str


def audit_entry(
    *,
    sequence: int,
    previous_sha256: str,
    at: str,
    actor: Actor,
    action: str,
    object_kind: str | None = None,
    object_id: str | None = None,
    case_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> bytes:
    """The canonical bytes of one entry; absent optional fields are left out, never ``null``."""
    entry: dict[str, Any] = {
        "format": AUDIT_FORMAT,
        "sequence": sequence,
        "previous_sha256": previous_sha256,
        "at": at,
        "actor": {"kind": actor.kind, "id": actor.id},
        "action": action,
    }
    if object_kind is not None and object_id is not None:
        entry["object"] = {"kind": object_kind, "id": object_id}
    if case_id is not None:
        entry["case_id"] = case_id
    if details:
        entry["details"] = dict(details)
    return canonical_json(entry)


def audit_head(session: Session) -> AuditHead | None:
    """The last entry's sequence and SHA-256; ``None`` for an empty trail."""
    row = session.execute(
        select(AuditEntry.sequence, AuditEntry.entry_sha256).order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()
    return None if row is None else AuditHead(row.sequence, row.entry_sha256)


def record(
    session: Session,
    *,
    at: str,
    actor: Actor,
    action: str,
    object_kind: str | None = None,
    object_id: str | None = None,
    case_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's write transaction (it commits or rolls back with it).

    Appenders are ordered by a transaction-scoped lock (PostgreSQL) or by the write lock
    (SQLite), held until commit; call this last in a transaction so the lock is held briefly.
    ``details`` must never hold clear personal data (masked forms only).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK})
    head = audit_head(session)
    sequence = 0 if head is None else head.sequence + 1
    previous = payloads.GENESIS_SHA256 if head is None else head.entry_sha256
    entry = audit_entry(
        sequence=sequence,
        previous_sha256=previous,
        at=at,
        actor=actor,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        case_id=case_id,
        details=details,
    )
    row = AuditEntry(
        sequence=sequence,
        previous_sha256=previous,
        entry_sha256=hashlib.sha256(entry).hexdigest(),
        entry=entry,
        at=at,
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        object_id=object_id,
        case_id=case_id,
    )
    session.add(row)
    session.flush()
    return row


def audit_head_leaf(
    *, sequence: int, previous_record_sha256: str, audit_sequence: int, audit_head_sha256: str, at: str
) -> bytes:
    """The log leaf that anchors the audit trail's head (format ``notary-audit-head/1``)."""
    return canonical_json(
        {
            "format": AUDIT_HEAD_FORMAT,
            "sequence": sequence,
            "previous_record_sha256": previous_record_sha256,
            "audit_sequence": audit_sequence,
            "audit_head_sha256": audit_head_sha256,
            "at": at,
        }
    )


def anchor_audit_head(
    db: Database, clock: Clock, sinks: Sequence[LeafSink], *, interval: float = ANCHOR_INTERVAL
) -> int:
    """Write the audit head into the log if it grew and the last anchor is ``interval`` old.

    A worker step for the leader: returns 1 when it appended a leaf, 0 otherwise. The first
    growth after a quiet spell is anchored at once; while the trail keeps growing, once per
    ``interval``.
    """
    now = clock()
    at = payloads.format_time(now)
    not_before = payloads.format_time(now - dt.timedelta(seconds=interval))
    with db.read() as session:
        if not _anchor_due(session, not_before):
            return 0
    with db.write() as session:
        head = audit_head(session)
        if head is None or not _anchor_due(session, not_before):
            return 0
        builder = _head_builder(head, at)
        (leaf,) = append_leaves(session, [(AUDIT_HEAD_FORMAT, None, builder)], created_at=at, sinks=sinks)
        session.add(
            AuditAnchor(
                leaf_sequence=leaf.sequence,
                audit_sequence=head.sequence,
                audit_head_sha256=head.entry_sha256,
                anchored_at=at,
            )
        )
        return 1


def _anchor_due(session: Session, not_before: str) -> bool:
    head = audit_head(session)
    if head is None:
        return False
    last = session.execute(
        select(AuditAnchor.audit_sequence, AuditAnchor.anchored_at)
        .order_by(AuditAnchor.leaf_sequence.desc())
        .limit(1)
    ).first()
    if last is None:
        return True
    grown: bool = last.audit_sequence < head.sequence
    return grown and str(last.anchored_at) <= not_before


def _head_builder(head: AuditHead, at: str) -> Callable[[int, str], bytes]:
    def build(sequence: int, previous_sha256: str) -> bytes:
        return audit_head_leaf(
            sequence=sequence,
            previous_record_sha256=previous_sha256,
            audit_sequence=head.sequence,
            audit_head_sha256=head.entry_sha256,
            at=at,
        )

    return build
