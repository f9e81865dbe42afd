"""Checks of ``notary audit`` over the Merkle tree and the signed checkpoints.

The stored tree keeps one row per complete subtree (``tree_nodes``); each is re-derived from
the two below it (level 0: from the leaf's bytes), level by level and in batches, so the check
never holds the tree. Each checkpoint's signature is verified with the log's key and its root
recomputed from the stored nodes at its size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from notary.services.audit.auditor import BATCH, Divergence, DivergenceFound, Findings, batches, count_rows
from notary.storage.db import Database
from notary.storage.models import LogLeaf, SignedCheckpoint, TreeNode
from notary.storage.tree import read_nodes, tree_state
from notary.verify.errors import NotaryError
from notary.verify.merkle.plan import root_plan
from notary.verify.merkle.proofs import leaf_hash, node_hash
from notary.verify.note import verify_checkpoint
from notary.verify.trust import TrustedLog


def _stored_root(db: Database, tree_size: int) -> bytes:
    plan = root_plan(tree_size)
    with db.read() as session:
        return plan.assemble(read_nodes(session, plan.nodes))


@dataclass
class TreeAuditor:
    """Every complete subtree is stored once, hashes to its two children (level 0: to its leaf's
    bytes), and the integrated tree's size and root agree with the leaves and nodes.
    """

    name: str = "merkle_tree"
    label: str = "Merkle tree"

    def total(self, db: Database) -> int:
        return count_rows(db, TreeNode.level)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        with db.read() as session:
            size, root = tree_state(session)
            leaves = int(session.execute(select(func.count(LogLeaf.sequence))).scalar_one())
            top = session.execute(select(func.max(TreeNode.level))).scalar_one_or_none()
        if size != leaves:
            findings.add(
                Divergence(
                    self.name,
                    "tree",
                    "log_state",
                    "the tree's size is not the number of leaves",
                    str(leaves),
                    str(size),
                )
            )
        for level in range(0 if top is None else top + 1):
            yield from self._level(db, level, size >> level, findings)
        try:
            derived = _stored_root(db, size)
        except NotaryError as exc:
            findings.add(Divergence(self.name, "tree", "log_state", exc.message))
            return
        if derived != root:
            findings.add(
                Divergence(
                    self.name,
                    "tree",
                    "log_state",
                    "the stored root is not the root of the stored nodes",
                    derived.hex(),
                    root.hex(),
                )
            )

    def _level(self, db: Database, level: int, complete: int, findings: Findings) -> Iterator[int]:
        expected = 0
        columns = (TreeNode.idx, TreeNode.hash)
        for rows in batches(db, TreeNode.idx, columns, TreeNode.level == level, size=BATCH):
            derived = self._derive(db, level, [row.idx for row in rows])
            for row in rows:
                with findings.item("tree", f"node ({level}, {row.idx})"):
                    self._node(row, level, complete, expected, derived)
                expected = row.idx + 1 if isinstance(row.idx, int) else expected + 1
            yield len(rows)
        if expected < complete:
            findings.add(
                Divergence(
                    self.name, "tree", f"node ({level}, {expected})", "a complete subtree is not stored"
                )
            )

    def _node(self, row: Any, level: int, complete: int, expected: int, derived: dict[int, bytes]) -> None:
        where = f"node ({level}, {row.idx})"
        if row.idx != expected or row.idx >= complete:
            message = "a subtree that is not complete is stored" if row.idx >= complete else "a missing node"
            raise DivergenceFound(Divergence(self.name, "tree", where, message, f"({level}, {expected})"))
        found = derived.get(row.idx)
        if found is None:
            raise DivergenceFound(Divergence(self.name, "tree", where, "what it is made of is missing"))
        if found != bytes(row.hash):
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "tree",
                    where,
                    "its hash is not re-derived from below it",
                    found.hex(),
                    bytes(row.hash).hex(),
                )
            )

    def _derive(self, db: Database, level: int, indexes: Sequence[int]) -> dict[int, bytes]:
        with db.read() as session:
            if level == 0:
                rows = session.execute(
                    select(LogLeaf.sequence, LogLeaf.record).where(LogLeaf.sequence.in_(indexes))
                ).all()
                return {row.sequence: leaf_hash(row.record) for row in rows}
            children = read_nodes(session, [(level - 1, 2 * i + side) for i in indexes for side in (0, 1)])
        return {
            i: node_hash(children[(level - 1, 2 * i)], children[(level - 1, 2 * i + 1)])
            for i in indexes
            if (level - 1, 2 * i) in children and (level - 1, 2 * i + 1) in children
        }


@dataclass
class CheckpointAuditor:
    """Each signed checkpoint verifies with the log's key under an origin the log used for its
    size (``trusted``: the stored origins, old ones kept after a rotation), and its root is the
    root of the stored tree at its size.
    """

    trusted: Sequence[TrustedLog] = field(default_factory=tuple)
    name: str = "checkpoints"
    label: str = "checkpoints"

    def total(self, db: Database) -> int:
        return count_rows(db, SignedCheckpoint.tree_size)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        with db.read() as session:
            size, _ = tree_state(session)
        columns = (SignedCheckpoint.tree_size, SignedCheckpoint.root_hash, SignedCheckpoint.note)
        for rows in batches(db, SignedCheckpoint.tree_size, columns, size=100):
            for row in rows:
                with findings.item("checkpoint", f"at tree size {row.tree_size}"):
                    self._check(db, row, size)
            yield len(rows)

    def _check(self, db: Database, row: object, log_size: int) -> None:
        tree_size, stored_root, note = row.tree_size, bytes(row.root_hash), row.note  # type: ignore[attr-defined]
        where = f"at tree size {tree_size}"
        covering = [log for log in self.trusted if log.covers(tree_size)]
        if not covering:
            raise DivergenceFound(
                Divergence(self.name, "checkpoint", where, "no origin of the log covers this size")
            )
        refusals: list[NotaryError] = []
        for log in covering:
            try:
                checkpoint = verify_checkpoint(note, [log.key], origin=log.origin).checkpoint
                break
            except NotaryError as exc:
                refusals.append(exc)
        else:
            first = refusals[0]
            raise DivergenceFound(
                Divergence(self.name, "checkpoint", where, f"{first.code}: {first.message}")
            )
        if checkpoint.size != tree_size or checkpoint.root_hash != stored_root:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "checkpoint",
                    where,
                    "the signed note disagrees with its row",
                    stored_root.hex(),
                    checkpoint.root_hash.hex(),
                )
            )
        if tree_size > log_size:
            raise DivergenceFound(Divergence(self.name, "checkpoint", where, "it is larger than the log"))
        try:
            derived = _stored_root(db, tree_size)
        except NotaryError as exc:
            raise DivergenceFound(Divergence(self.name, "checkpoint", where, exc.message)) from exc
        if derived != checkpoint.root_hash:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "checkpoint",
                    where,
                    "its root is not the stored tree's root at its size",
                    derived.hex(),
                    checkpoint.root_hash.hex(),
                )
            )
