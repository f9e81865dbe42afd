"""Which checkpoint a contract's evidence rests on once witnesses cosign, and its cosigned text.

A bundle carries the first checkpoint covering its leaf that meets the witness policy of its
size, with the cosignature lines that met it; until one does, the first checkpoint covering
the leaf, without cosignatures (docs/formats.md section 5). The lines are those of the
policy's witnesses received by the moment the policy was met, in the order of the witnesses'
names: a bundle's bytes change once, when it becomes ``cosigned``, not with every later
cosignature.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notary.storage.models import CheckpointCosignature, SignedCheckpoint, WitnessPolicyRecord
from notary.verify.cosignature import parse_cosigner_key
from notary.verify.witness_policy import PolicyWitness, WitnessPolicy, policy_for

NOT_REQUIRED, PENDING, MET = "not_required", "pending", "met"


@functools.lru_cache(maxsize=64)
def _policy(from_size: int, until_size: int | None, k: int, witnesses: str) -> WitnessPolicy:
    # Every evidence read asks for the policies: the keys are parsed once per process.
    return WitnessPolicy(
        from_size=from_size,
        until_size=until_size,
        k=k,
        witnesses=tuple(
            PolicyWitness(item["name"], parse_cosigner_key(item["cosigner_key"]))
            for item in json.loads(witnesses)
        ),
    )


def stored_policies(session: Session) -> tuple[WitnessPolicy, ...]:
    """The witness policies the log adopted, oldest first."""
    rows = session.execute(
        select(
            WitnessPolicyRecord.from_size, WitnessPolicyRecord.until_size, WitnessPolicyRecord.k,
            WitnessPolicyRecord.witnesses,
        ).order_by(WitnessPolicyRecord.from_size)
    ).all()  # fmt: skip
    return tuple(_policy(*row) for row in rows)


def _names(policy: WitnessPolicy) -> list[str]:
    return [witness.name for witness in policy.witnesses]


def cosignature_lines(session: Session, tree_size: int, policy: WitnessPolicy) -> str | None:
    """The cosignature lines that met ``policy`` on the checkpoint of ``tree_size``, or None
    while fewer than k of its witnesses cosigned it."""
    rows = session.execute(
        select(CheckpointCosignature.witness, CheckpointCosignature.line, CheckpointCosignature.received_at)
        .where(
            CheckpointCosignature.tree_size == tree_size, CheckpointCosignature.witness.in_(_names(policy))
        )
        .order_by(CheckpointCosignature.received_at, CheckpointCosignature.witness)
    ).all()
    if len(rows) < policy.k:
        return None
    met_at = rows[policy.k - 1].received_at
    return "".join(line for _, line, received in sorted(rows) if received <= met_at)


def first_cosigned_covering(
    session: Session, leaf_index: int, policies: Sequence[WitnessPolicy]
) -> SignedCheckpoint | None:
    """The first checkpoint holding ``leaf_index`` that meets the policy of its size."""
    for policy in policies:
        if policy.until_size is not None and policy.until_size <= leaf_index:
            continue
        counted = (
            select(CheckpointCosignature.tree_size)
            .where(
                CheckpointCosignature.tree_size > leaf_index,
                CheckpointCosignature.tree_size >= policy.from_size,
                CheckpointCosignature.witness.in_(_names(policy)),
            )
            .group_by(CheckpointCosignature.tree_size)
            .having(func.count() >= policy.k)
        )
        if policy.until_size is not None:
            counted = counted.where(CheckpointCosignature.tree_size <= policy.until_size)
        # The first size that meets it: walked in key order, so it stops there.
        size = session.execute(
            counted.order_by(CheckpointCosignature.tree_size).limit(1)
        ).scalar_one_or_none()
        if size is not None:
            return session.get(SignedCheckpoint, size)
    return None


def met_sizes(session: Session, policies: Sequence[WitnessPolicy], *, above: int, up_to: int) -> list[int]:
    """The checkpoint sizes in ``(above, up_to]`` that meet the policy of their size, ascending."""
    sizes: set[int] = set()
    for policy in policies:
        low = max(above + 1, policy.from_size)
        high = up_to if policy.until_size is None else min(up_to, policy.until_size)
        if low > high:
            continue
        sizes.update(
            session.execute(
                select(CheckpointCosignature.tree_size)
                .where(
                    CheckpointCosignature.tree_size >= low,
                    CheckpointCosignature.tree_size <= high,
                    CheckpointCosignature.witness.in_(_names(policy)),
                )
                .group_by(CheckpointCosignature.tree_size)
                .having(func.count() >= policy.k)
            ).scalars()
        )
    return sorted(sizes)


def largest_met(session: Session, policies: Sequence[WitnessPolicy], *, up_to: int) -> int:
    """The largest checkpoint size up to ``up_to`` that meets the policy of its size; 0 if none."""
    largest = 0
    for policy in policies:
        high = up_to if policy.until_size is None else min(up_to, policy.until_size)
        if policy.from_size > high:
            continue
        size = session.execute(
            select(CheckpointCosignature.tree_size)
            .where(
                CheckpointCosignature.tree_size >= policy.from_size,
                CheckpointCosignature.tree_size <= high,
                CheckpointCosignature.witness.in_(_names(policy)),
            )
            .group_by(CheckpointCosignature.tree_size)
            .having(func.count() >= policy.k)
            .order_by(CheckpointCosignature.tree_size.desc())
            .limit(1)
        ).scalar_one_or_none()
        largest = max(largest, size or 0)
    return largest


@dataclass(frozen=True)
class EvidenceCheckpoint:
    """The checkpoint a bundle carries: the stored row and its note text with cosignatures."""

    checkpoint: SignedCheckpoint
    note: str
    witnesses: str  # not_required | pending | met


def evidence_checkpoint(
    session: Session, leaf_index: int, first_covering: SignedCheckpoint, policies: Sequence[WitnessPolicy]
) -> EvidenceCheckpoint:
    """The checkpoint a bundle for ``leaf_index`` carries, given the first one covering it.

    A leaf first covered by a checkpoint no policy applies to was sealed before the log had
    witnesses: its evidence is judged without them (``not_required``), as the trust file says.
    """
    policy = policy_for(policies, first_covering.tree_size)
    if policy is None:
        return EvidenceCheckpoint(first_covering, first_covering.note, NOT_REQUIRED)
    cosigned = first_cosigned_covering(session, leaf_index, policies)
    covering = None if cosigned is None else policy_for(policies, cosigned.tree_size)
    lines = (
        None
        if cosigned is None or covering is None
        else cosignature_lines(session, cosigned.tree_size, covering)
    )
    if cosigned is None or lines is None:
        return EvidenceCheckpoint(first_covering, first_covering.note, PENDING)
    return EvidenceCheckpoint(cosigned, cosigned.note + lines, MET)


def served_note(session: Session, checkpoint: SignedCheckpoint) -> str:
    """A checkpoint as the log serves it: its note with every cosignature stored on it, in
    the order of the witnesses' names."""
    lines = session.execute(
        select(CheckpointCosignature.line)
        .where(CheckpointCosignature.tree_size == checkpoint.tree_size)
        .order_by(CheckpointCosignature.witness)
    ).scalars()
    return checkpoint.note + "".join(lines)
