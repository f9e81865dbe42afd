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
    session: Session,
    *,
    key_fingerprint: str,
    operator: str,
    audit_sequence: int,
    at: str,
    unbinding_reason: str | None = None,
) -> int:
    """``notary-identity-binding/1``: an operator bound this key to an identity (none is named);
    with ``unbinding_reason``, ``notary-identity-unbinding/1``: the binding was undone."""
    fields = {"key_fingerprint": key_fingerprint, "operator": operator, "audit_sequence": audit_sequence}
    if unbinding_reason is None:
        leaf_format, build = key_events.IDENTITY_BINDING, key_events.identity_binding_leaf
    else:
        leaf_format, build = key_events.IDENTITY_UNBINDING, key_events.identity_unbinding_leaf
        fields["reason"] = unbinding_reason
    return log_key_event(
        session,
        leaf_format,
        lambda sequence, previous: build(sequence=sequence, previous_record_sha256=previous, at=at, **fields),
        key_fingerprint=key_fingerprint,
        party_id=None,
        at=at,
    )
