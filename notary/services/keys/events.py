"""Key event leaves in the one log, and their index (``key_events``).

A key event is appended inside the transaction that changes what the key may do, so the
change and its leaf commit together or not at all. Appenders take turns on the log's state
row (PostgreSQL; SQLite's writers are serialised already), as the sequencer does.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from notary.services.tlog.sequencer import append_leaves
from notary.storage.models import KeyEventRow
from notary.storage.tree import TreeSink, tree_state
from notary.verify import key_events

_KINDS = {
    key_events.KEY_REVOCATION: "revoked",
    key_events.KEY_ROTATION: "rotated",
    key_events.IDENTITY_BINDING: "bound",
    key_events.IDENTITY_UNBINDING: "unbound",
}


def log_key_event(
    session: Session,
    leaf_format: str,
    build: Callable[[int, str], bytes],
    *,
    key_fingerprint: str,
    party_id: str | None,
    at: str,
) -> int:
    """Append the leaf ``build(sequence, previous_sha256)`` of format ``leaf_format`` and index
    it; returns its leaf index. Must run in a write transaction."""
    tree_state(session, for_update=True)
    (leaf,) = append_leaves(session, [(leaf_format, None, build)], created_at=at, sinks=[TreeSink()])
    session.add(
        KeyEventRow(
            leaf_sequence=leaf.sequence,
            kind=_KINDS[leaf_format],
            key_fingerprint=key_fingerprint,
            party_id=party_id,
            at=at,
        )
    )
    return leaf.sequence


def log_binding(
    session: Session, *, key_fingerprint: str, operator: str, audit_sequence: int, at: str
) -> int:
    """``notary-identity-binding/1``: an operator bound this key to an identity (none is named)."""
    return log_key_event(
        session,
        key_events.IDENTITY_BINDING,
        lambda sequence, previous: key_events.identity_binding_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            key_fingerprint=key_fingerprint,
            operator=operator,
            audit_sequence=audit_sequence,
        ),
        key_fingerprint=key_fingerprint,
        party_id=None,
        at=at,
    )


def log_unbinding(
    session: Session, *, key_fingerprint: str, operator: str, audit_sequence: int, reason: str, at: str
) -> int:
    """``notary-identity-unbinding/1``."""
    return log_key_event(
        session,
        key_events.IDENTITY_UNBINDING,
        lambda sequence, previous: key_events.identity_unbinding_leaf(
            sequence=sequence,
            previous_record_sha256=previous,
            at=at,
            key_fingerprint=key_fingerprint,
            operator=operator,
            audit_sequence=audit_sequence,
            reason=reason,
        ),
        key_fingerprint=key_fingerprint,
        party_id=None,
        at=at,
    )
