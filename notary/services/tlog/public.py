"""Reading the public log: checkpoints, proofs, and whether a record is in it.

The public log serves hashes, checkpoints and proofs only; never a record's contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notary.errors import NotFound, NotReady, Unprocessable
from notary.services.tlog.cosigned import MET, evidence_checkpoint, served_note, stored_policies
from notary.services.tlog.origins import LogOrigins
from notary.signing.tsa_client import Authority
from notary.storage.db import Database
from notary.storage.models import CheckpointTimestamp, Contract, LogLeaf, RecordTimestamp, SignedCheckpoint
from notary.storage.tree import read_nodes, tree_state
from notary.verify.evidence.bundle import LogKey
from notary.verify.merkle.plan import consistency_proof_plan, inclusion_proof_plan
from notary.verify.trust import TrustFile


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    hashes: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "hashes": [h.hex() for h in self.hashes],
        }


def latest_checkpoint(session: Session) -> SignedCheckpoint:
    """The newest signed checkpoint; raises :class:`NotFound` before the first one."""
    checkpoint = session.execute(
        select(SignedCheckpoint).order_by(SignedCheckpoint.tree_size.desc()).limit(1)
    ).scalar_one_or_none()
    if checkpoint is None:
        raise NotFound("no checkpoint has been signed yet")
    return checkpoint


def checkpoint_at(session: Session, tree_size: int) -> SignedCheckpoint:
    """The checkpoint of exactly ``tree_size``; raises :class:`NotFound`."""
    # A size beyond any database integer was never signed (and would overflow the query).
    checkpoint = session.get(SignedCheckpoint, tree_size) if 0 <= tree_size < 2**63 else None
    if checkpoint is None:
        raise NotFound(f"no checkpoint was signed at tree size {tree_size}")
    return checkpoint


def first_checkpoint_covering(session: Session, leaf_index: int) -> SignedCheckpoint | None:
    """The first checkpoint whose tree holds ``leaf_index`` (the one a bundle carries)."""
    return session.execute(
        select(SignedCheckpoint)
        .where(SignedCheckpoint.tree_size > leaf_index)
        .order_by(SignedCheckpoint.tree_size)
        .limit(1)
    ).scalar_one_or_none()


def inclusion_proof(session: Session | Connection, leaf_index: int, tree_size: int) -> InclusionProof:
    """The proof that leaf ``leaf_index`` is in the tree of ``tree_size``: O(log n) node reads.

    Raises :class:`Unprocessable` for an impossible request (index ≥ size, size beyond the tree).
    """
    size, _ = tree_state(session)
    if not 0 < tree_size <= size:
        raise Unprocessable(
            f"tree_size must be between 1 and the tree's size ({size})", details={"tree_size": [f"1..{size}"]}
        )
    if not 0 <= leaf_index < tree_size:
        raise Unprocessable(
            "leaf_index must be below tree_size", details={"leaf_index": [f"0..{tree_size - 1}"]}
        )
    plan = inclusion_proof_plan(leaf_index, tree_size)
    return InclusionProof(leaf_index, tree_size, plan.assemble(read_nodes(session, plan.nodes)))


def consistency_proof(session: Session | Connection, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``.

    Raises :class:`Unprocessable` for an impossible request (first < 1, first > second, second
    beyond the tree).
    """
    size, _ = tree_state(session)
    if not 0 < second <= size:
        raise Unprocessable(
            f"second must be between 1 and the tree's size ({size})", details={"second": [f"1..{size}"]}
        )
    if not 0 < first <= second:
        raise Unprocessable("first must be between 1 and second", details={"first": [f"1..{second}"]})
    plan = consistency_proof_plan(first, second)
    return plan.assemble(read_nodes(session, plan.nodes))


MAX_PAGE = 1000


def leaf_hashes(session: Session, start: int, count: int) -> dict[str, Any]:
    """``GET /log/leaf-hashes``: the hashes of leaves ``start``.. (at most :data:`MAX_PAGE`),
    with the SHA-256 of the record each holds; hashes only, never a record. A mirror rebuilds
    the tree from them and checks every checkpoint's root.

    Raises :class:`Unprocessable` for a start beyond the tree.
    """
    size, _ = tree_state(session)
    if not 0 <= start < size:
        raise Unprocessable(
            f"start must be below the tree's size ({size})", details={"start": [f"0..{size - 1}"]}
        )
    end = min(size, start + max(1, min(count, MAX_PAGE)))
    nodes = read_nodes(session, [(0, index) for index in range(start, end)])
    records = dict(
        session.execute(
            select(LogLeaf.sequence, LogLeaf.record_sha256).where(
                LogLeaf.sequence >= start, LogLeaf.sequence < end
            )
        ).all()
    )
    return {
        "start": start,
        "leaf_hashes": [nodes[(0, index)].hex() for index in range(start, end)],
        "record_sha256": [records[index] for index in range(start, end)],
    }


def checkpoints_after(session: Session, after: int, limit: int) -> dict[str, Any]:
    """``GET /log/checkpoints?after=S``: the signed checkpoints of sizes above ``after``, oldest
    first (at most 100), each with its cosignatures."""
    rows = session.execute(
        select(SignedCheckpoint)
        .where(SignedCheckpoint.tree_size > after)
        .order_by(SignedCheckpoint.tree_size)
        .limit(max(1, min(limit, 100)))
    ).scalars()
    return {
        "checkpoints": [{"tree_size": row.tree_size, "checkpoint": served_note(session, row)} for row in rows]
    }


def leaf_by_record(session: Session, record_sha256: str) -> LogLeaf:
    """The leaf holding the record with this SHA-256; raises :class:`NotFound`."""
    leaf = session.execute(select(LogLeaf).where(LogLeaf.record_sha256 == record_sha256)).scalar_one_or_none()
    if leaf is None:
        raise NotFound("no record with that SHA-256 is in the log")
    return leaf


def record_presence(session: Session, record_sha256: str) -> dict[str, Any]:
    """``GET /r/{sha}``: where the record is, proven against the latest checkpoint; nothing personal."""
    leaf = leaf_by_record(session, record_sha256)
    checkpoint = session.execute(
        select(SignedCheckpoint).order_by(SignedCheckpoint.tree_size.desc()).limit(1)
    ).scalar_one_or_none()
    if checkpoint is None or checkpoint.tree_size <= leaf.sequence:
        raise NotReady("the record is in the log but no checkpoint covers it yet", retry_after=1)
    proof = inclusion_proof(session, leaf.sequence, checkpoint.tree_size)
    return {
        "record_sha256": record_sha256,
        "leaf_index": leaf.sequence,
        "tree_size": checkpoint.tree_size,
        "hashes": [h.hex() for h in proof.hashes],
        "checkpoint": served_note(session, checkpoint),
    }


class PublishedTrust:
    """What the notary publishes for verifiers to keep: its log key (``GET /log/key``) and its
    trust file (``GET /trust``, ``notary-trust/2``), from the stored origins, the notary's root
    and the authorities."""

    def __init__(
        self,
        db: Database,
        origins: LogOrigins,
        notary_root: x509.Certificate,
        tsa_authorities: Sequence[Authority],
    ) -> None:
        self.db = db
        self.origins = origins
        self.notary_root = notary_root
        self.tsa_authorities = tuple(tsa_authorities)

    def log_key(self) -> LogKey:
        """``GET /log/key``: the log's key under its current origin, with its C2SP verifier key text."""
        with self.db.read() as session:
            return self.origins.log_key(self.origins.current(session))

    def notary_root_pem(self) -> str:
        """``GET /trust/notary-root.pem``: the root that signs certificates, for a PDF reader's
        trust store (Adobe Reader, an NSS database for ``pdfsig``)."""
        return self.notary_root.public_bytes(Encoding.PEM).decode("ascii")

    def notary_root_sha256(self) -> str:
        """The notary root's SHA-256 fingerprint as PDF readers and ``openssl x509 -fingerprint
        -sha256`` show it: upper-case hex pairs joined by colons."""
        return self.notary_root.fingerprint(hashes.SHA256()).hex(":").upper()

    def tsa_roots(self) -> list[x509.Certificate]:
        """Every configured authority's roots, once each, in configuration order."""
        roots: list[x509.Certificate] = []
        for authority in self.tsa_authorities:
            for root in authority.trust_roots:
                if root not in roots:
                    roots.append(root)
        return roots

    def trust_file(self) -> dict[str, Any]:
        """``GET /trust``: every origin the log has signed under with its sizes (old ones kept
        after a rotation), the current origin, the notary's root and the timestamp authorities'
        roots, and the witness policies adopted (k of n by tree size), for ``notary verify --trust``."""
        tsa_roots = self.tsa_roots()
        with self.db.read() as session:
            logs, origin = self.origins.trusted_logs(session), self.origins.current(session)
            # Without them a verifier holding this file never counts the witnesses (issue 21).
            policies = stored_policies(session)
        return TrustFile.of(
            logs,
            notary_roots=[self.notary_root],
            tsa_roots=tsa_roots,
            origin=origin,
            witness_policies=policies,
        ).to_dict()


def _has_token(session: Session, tree_size: int) -> bool:
    return (
        session.execute(
            select(CheckpointTimestamp.tree_size).where(CheckpointTimestamp.tree_size == tree_size).limit(1)
        ).first()
        is not None
    )


def evidence_progress(session: Session, contract: Contract) -> dict[str, Any] | None:
    """Where the evidence stands once sealed; ``None`` before.

    ``witnesses`` is ``not_required`` (no witness policy covers the leaf's first checkpoint),
    ``pending`` or ``met``; ``cosigned`` is true once a checkpoint covering the leaf meets the
    policy and has its timestamp: the bundle is then served with the cosignatures.
    """
    if contract.record_sequence is None:
        return None
    record_sha256 = session.execute(
        select(LogLeaf.record_sha256).where(LogLeaf.sequence == contract.record_sequence)
    ).scalar_one()
    checkpoint = first_checkpoint_covering(session, contract.record_sequence)
    stamped = session.get(RecordTimestamp, contract.record_sequence) is not None
    checkpoint_stamped = checkpoint is not None and _has_token(session, checkpoint.tree_size)
    chosen = (
        None
        if checkpoint is None
        else evidence_checkpoint(session, contract.record_sequence, checkpoint, stored_policies(session))
    )
    cosigned = (
        chosen is not None
        and chosen.witnesses == MET
        and stamped
        and _has_token(session, chosen.checkpoint.tree_size)
    )
    return {
        "record_sha256": record_sha256,
        "leaf_index": contract.record_sequence,
        "checkpoint_size": checkpoint.tree_size if checkpoint else None,
        "timestamp": "stamped" if stamped else "pending",
        # Ready: the record's token, the first checkpoint covering it, and that checkpoint's token.
        "ready": stamped and checkpoint_stamped,
        "witnesses": chosen.witnesses if chosen else None,
        "cosigned": cosigned,
    }
