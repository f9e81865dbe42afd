"""The Merkle tree as rows: one per complete subtree, written once, read O(log n) at a time.

The tree grows inside the sequencer's transaction (this is a leaf sink), so leaves, nodes and
the integrated size are committed together or not at all. No request ever loads the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from notary.storage.models import LogState, TreeNode
from notary.verify.merkle import EMPTY_ROOT
from notary.verify.merkle_plan import Node, append_leaves, append_plan

if TYPE_CHECKING:
    from notary.services.sequencer import NewLeaf


class TreeCorrupt(RuntimeError):
    """The stored tree does not match the leaves being appended: never append past this."""


def read_nodes(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``nodes``, in one query."""
    wanted = list(dict.fromkeys(nodes))
    if not wanted:
        return {}
    rows = session.execute(
        select(TreeNode.level, TreeNode.idx, TreeNode.hash).where(
            tuple_(TreeNode.level, TreeNode.idx).in_(wanted)
        )
    )
    return {(level, idx): value for level, idx, value in rows}


def tree_state(session: Session, *, for_update: bool = False) -> tuple[int, bytes]:
    """The integrated tree's size and root (0 and the empty root before the first leaf)."""
    query = select(LogState.tree_size, LogState.root_hash).where(LogState.id == 1)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).first()
    return (row[0], row[1]) if row else (0, EMPTY_ROOT)


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
