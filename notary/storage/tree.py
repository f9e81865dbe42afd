"""The Merkle tree as rows: one per complete subtree, written once, read O(log n) at a time.

The tree grows inside the sequencer's transaction (this is a leaf sink), so leaves, nodes and
the integrated size are committed together or not at all. No request ever loads the tree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Select, and_, bindparam, insert, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notary.storage.db import dialect_of
from notary.storage.models import LogState, TreeNode
from notary.verify.merkle.plan import Node, append_leaves, append_plan
from notary.verify.merkle.proofs import EMPTY_ROOT


@dataclass(frozen=True)
class NewLeaf:
    """A leaf the sequencer appended, as its sinks receive it."""

    sequence: int
    record: bytes
    record_sha256: str
    leaf_hash: bytes


class LeafSink(Protocol):
    """Told of new leaves inside the appending transaction (the tree below is one)."""

    def leaves_appended(self, session: Session, leaves: Sequence[NewLeaf]) -> None:
        """Called inside the appending transaction with the new leaves, in order."""


class TreeCorrupt(RuntimeError):
    """The stored tree does not match the leaves being appended: never append past this."""


def read_nodes(session: Session | Connection, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``nodes``, in one query of primary-key lookups."""
    wanted = list(dict.fromkeys(nodes))
    if not wanted:
        return {}
    if dialect_of(session) == "postgresql":
        # One index scan per node from a join with the wanted pairs as arrays: planned once
        # whatever the count, 0.6 ms less than PostgreSQL's bitmap OR of 24 branches.
        levels, indexes = zip(*wanted, strict=True)
        rows = session.execute(_PG_NODES, {"levels": list(levels), "indexes": list(indexes)})
        return {(level, idx): value for level, idx, value in rows}
    parameters = {}
    for position, (level, idx) in enumerate(wanted):
        parameters[f"level_{position}"], parameters[f"idx_{position}"] = level, idx
    rows = session.execute(_nodes_query(len(wanted)), parameters)
    return {(level, idx): value for level, idx, value in rows}


_PG_NODES = text(
    "SELECT t.level, t.idx, t.hash FROM tree_nodes AS t"
    " JOIN unnest(CAST(:levels AS integer[]), CAST(:indexes AS bigint[])) AS w(level, idx)"
    " ON t.level = w.level AND t.idx = w.idx"
)


@functools.lru_cache(maxsize=256)
def _nodes_query(count: int) -> Select[tuple[int, int, bytes]]:
    # One (level, idx) equality per node, OR-ed: both databases answer it with one index
    # lookup per node, where SQLite scans the whole table for the row-value form
    # ``(level, idx) IN (VALUES ...)``. Built once per node count: building and hashing
    # the expression anew cost more than running it.
    return select(TreeNode.level, TreeNode.idx, TreeNode.hash).where(
        or_(
            *(
                and_(TreeNode.level == bindparam(f"level_{i}"), TreeNode.idx == bindparam(f"idx_{i}"))
                for i in range(count)
            )
        )
    )


def tree_state(session: Session | Connection, *, for_update: bool = False) -> tuple[int, bytes]:
    """The integrated tree's size and root (0 and the empty root before the first leaf)."""
    row = session.execute(_STATE_FOR_UPDATE if for_update else _STATE).first()
    return (row[0], row[1]) if row else (0, EMPTY_ROOT)


# Read by every proof, every worker round and every append: built once.
_STATE = select(LogState.tree_size, LogState.root_hash).where(LogState.id == 1)
_STATE_FOR_UPDATE = _STATE.with_for_update()


class TreeSink:
    """Integrates new leaves into the stored tree, in the appending transaction."""

    def leaves_appended(self, session: Session, leaves: Sequence[NewLeaf]) -> None:
        size, _ = tree_state(session, for_update=True)
        if leaves[0].sequence != size:
            raise TreeCorrupt(f"the tree holds {size} leaves but the next leaf is {leaves[0].sequence}")
        appended = append_leaves(
            size, read_nodes(session, append_plan(size)), [leaf.leaf_hash for leaf in leaves]
        )
        session.execute(
            insert(TreeNode),
            [{"level": level, "idx": idx, "hash": value} for (level, idx), value in appended.nodes.items()],
        )
        state = session.get(LogState, 1)
        if state is None:
            session.add(LogState(id=1, tree_size=appended.tree_size, root_hash=appended.root))
        else:
            state.tree_size, state.root_hash = appended.tree_size, appended.root
