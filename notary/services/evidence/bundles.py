"""Evidence bundles, assembled from stored evidence: deterministic, so two downloads are the same
bytes until a later checkpoint token is added."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from notary.errors import NotReady
from notary.services.evidence.later import (
    Signer,
    keys_with_events,
    later_evidence,
    role_key_pems,
    signers,
    signing_key_pems,
)
from notary.services.tlog.cosigned import MET, evidence_checkpoint, stored_policies
from notary.services.tlog.public import evidence_progress, first_checkpoint_covering, inclusion_proof
from notary.storage.blobs import BlobStore
from notary.storage.models import (
    CheckpointTimestamp,
    Contract,
    LogLeaf,
    RecordTimestamp,
    SignedCheckpoint,
    TreeNode,
)
from notary.verify.evidence.bundle import BundleParts, CheckpointToken, InclusionProof, LogKey, build_bundle
from notary.verify.merkle.plan import Node, inclusion_proof_plan


class EvidenceBundles:
    """Contracts' evidence bundles, from the stored evidence, the blob store holding the
    documents, the notary's certificate chain and the log key the bundles name (``log_key``
    gives ``log/key.json`` for a checkpoint's origin: a bundle names the origin its checkpoint
    was signed under, which a rotation may since have changed)."""

    def __init__(
        self,
        blobs: BlobStore,
        notary_chain: Sequence[x509.Certificate],
        log_key: Callable[[str], LogKey],
    ) -> None:
        self.blobs = blobs
        self.notary_chain_pem = b"".join(cert.public_bytes(Encoding.PEM) for cert in notary_chain)
        self.log_key = log_key

    def parts(self, session: Session, contract: Contract) -> BundleParts:
        """Everything a contract's bundle holds; raises ``evidence_not_ready`` before it is ready."""
        return bundle_parts(session, contract, self.blobs, self.notary_chain_pem, log_key=self.log_key)

    def bundle(self, session: Session, contract: Contract) -> bytes:
        """The contract's evidence bundle (``notary-evidence/1``); raises ``evidence_not_ready``."""
        return build_bundle(self.parts(session, contract))

    def assembler(self) -> EvidenceAssembler:
        """Parts for many contracts at once (case exports)."""
        return EvidenceAssembler(self.notary_chain_pem, log_key=self.log_key)


def bundle_parts(
    session: Session,
    contract: Contract,
    blobs: BlobStore,
    notary_chain_pem: bytes,
    *,
    log_key: Callable[[str], LogKey],
) -> BundleParts:
    """Everything a contract's bundle holds; raises ``evidence_not_ready`` before it is ready."""
    progress = evidence_progress(session, contract)
    if progress is None or not progress["ready"] or contract.record_sequence is None:
        raise NotReady("the evidence of this contract is not complete yet", retry_after=1)
    sequence = contract.record_sequence
    leaf = session.get(LogLeaf, sequence)
    token = session.get(RecordTimestamp, sequence)
    first = first_checkpoint_covering(session, sequence)
    if leaf is None or token is None or first is None:
        raise NotReady("the evidence of this contract is not complete yet", retry_after=1)
    # Once cosigned, the first checkpoint that met the witness policy, with its cosignatures.
    chosen = (
        evidence_checkpoint(session, sequence, first, stored_policies(session))
        if progress["cosigned"]
        else None
    )
    checkpoint, note = (chosen.checkpoint, chosen.note) if chosen else (first, first.note)
    checkpoint_tokens = (
        session.execute(
            select(CheckpointTimestamp)
            .where(CheckpointTimestamp.tree_size == checkpoint.tree_size)
            .order_by(CheckpointTimestamp.position)
        )
        .scalars()
        .all()
    )
    proof = inclusion_proof(session, sequence, checkpoint.tree_size)
    signed = signers(session, [contract]).get(contract.id, {})
    keys = role_key_pems(session, contract, signed)
    # The bundle is dated when it became ready (or when it learnt of a later key event), so
    # every download is the same bytes until then.
    ready_at = max(token.stamped_at, checkpoint_tokens[0].stamped_at)
    later = later_evidence(session, signed, checkpoint.tree_size)
    if later is not None:
        ready_at = max(ready_at, later[1])
    return BundleParts(
        contract_id=contract.id,
        created_at=ready_at,
        document=blobs.get(session, contract.document_sha256),
        media_type=contract.media_type,
        terms=contract.terms_json,
        record=leaf.record,
        investor_key_pem=keys["investor"],
        borrower_key_pem=keys["borrower"],
        notary_chain_pem=notary_chain_pem,
        record_token=token.response,
        record_tsa_chain_pem=token.chain_pem.encode("ascii"),
        checkpoint_tokens=tuple(
            CheckpointToken(t.response, t.chain_pem.encode("ascii")) for t in checkpoint_tokens
        ),
        inclusion_proof=InclusionProof(proof.leaf_index, proof.tree_size, tuple(proof.hashes)),
        checkpoint=note,
        log_key=log_key(checkpoint.origin),
        later=later[0] if later is not None else None,
    )


#: Node indices per query when reading inclusion proofs in bulk.
_NODES_PER_QUERY = 5000
#: Parties' PEM keys kept between pages of an export (one export often names few parties).
_KEY_CACHE_SIZE = 10_000


class EvidenceAssembler:
    """Bundle parts for many contracts at once: a handful of queries per page of contracts
    instead of about ten per contract, giving exactly the :class:`BundleParts` of
    :func:`bundle_parts`, but for the document (read last, one at a time, by the caller).
    """

    def __init__(self, notary_chain_pem: bytes, *, log_key: Callable[[str], LogKey]) -> None:
        self.log_key = log_key
        self.notary_chain_pem = notary_chain_pem
        self._keys: dict[tuple[str, str], bytes] = {}

    def page(self, session: Session, contracts: Sequence[Contract]) -> list[BundleParts | None]:
        """For each contract, in order, its bundle's parts with an empty ``document`` (see
        :meth:`with_document`), or None when its evidence is not ready (as ``bundle_parts``
        would answer ``evidence_not_ready``). Raises :class:`NotReady` when a party is missing.
        """
        sequences = [c.record_sequence for c in contracts if c.record_sequence is not None]
        if not sequences:
            return [None] * len(contracts)
        first_covering = (
            select(func.min(SignedCheckpoint.tree_size))
            .where(SignedCheckpoint.tree_size > LogLeaf.sequence)
            .correlate(LogLeaf)
            .scalar_subquery()
        )
        leaves = {
            row.sequence: row
            for row in session.execute(
                select(LogLeaf.sequence, LogLeaf.record, first_covering.label("checkpoint_size")).where(
                    LogLeaf.sequence.in_(sequences)
                )
            )
        }
        tokens = {
            row.sequence: row
            for row in session.execute(
                select(
                    RecordTimestamp.sequence,
                    RecordTimestamp.response,
                    RecordTimestamp.chain_pem,
                    RecordTimestamp.stamped_at,
                ).where(RecordTimestamp.sequence.in_(sequences))
            )
        }
        # Where the witness policy is met, the first checkpoint that met it, with its cosignatures.
        policies = stored_policies(session)
        cosigned: dict[int, tuple[int, str]] = {}
        if policies:
            for sequence, leaf in leaves.items():
                if leaf.checkpoint_size is None:
                    continue
                first = session.get(SignedCheckpoint, leaf.checkpoint_size)
                assert first is not None
                chosen = evidence_checkpoint(session, sequence, first, policies)
                if chosen.witnesses == MET:
                    cosigned[sequence] = (chosen.checkpoint.tree_size, chosen.note)
        sizes = sorted(
            {row.checkpoint_size for row in leaves.values() if row.checkpoint_size is not None}
            | {size for size, _ in cosigned.values()}
        )
        notes, origins = {}, {}
        for row in session.execute(
            select(SignedCheckpoint.tree_size, SignedCheckpoint.note, SignedCheckpoint.origin).where(
                SignedCheckpoint.tree_size.in_(sizes)
            )
        ):
            notes[row.tree_size], origins[row.tree_size] = row.note, row.origin
        checkpoint_tokens: dict[int, list[Any]] = {}
        for row in session.execute(
            select(
                CheckpointTimestamp.tree_size,
                CheckpointTimestamp.response,
                CheckpointTimestamp.chain_pem,
                CheckpointTimestamp.stamped_at,
            )
            .where(CheckpointTimestamp.tree_size.in_(sizes))
            .order_by(CheckpointTimestamp.tree_size, CheckpointTimestamp.position)
        ):
            checkpoint_tokens.setdefault(row.tree_size, []).append(row)

        ready: dict[int, int] = {}  # sequence -> the tree size of its first covering checkpoint
        cosigned_notes: dict[int, str] = {}
        for sequence, leaf in leaves.items():
            size = leaf.checkpoint_size
            if sequence in tokens and size is not None and checkpoint_tokens.get(size):
                ready[sequence] = size
                chosen_size, chosen_note = cosigned.get(sequence, (size, ""))
                if chosen_note and checkpoint_tokens.get(chosen_size):
                    ready[sequence] = chosen_size
                    cosigned_notes[sequence] = chosen_note
        plans = {sequence: inclusion_proof_plan(sequence, size) for sequence, size in ready.items()}
        nodes = _read_nodes(session, {node for plan in plans.values() for node in plan.nodes})
        signed = signers(session, [c for c in contracts if c.record_sequence in ready])
        self._load_keys(session, signed)
        with_events = keys_with_events(
            session, {s.key_fingerprint for roles in signed.values() for s in roles.values()}
        )

        result: list[BundleParts | None] = []
        for contract in contracts:
            sequence = contract.record_sequence
            if sequence is None or sequence not in ready:
                result.append(None)
                continue
            size, token, stamped = ready[sequence], tokens[sequence], checkpoint_tokens[ready[sequence]]
            roles = signed.get(contract.id, {})
            later = None
            if any(s.key_fingerprint in with_events for s in roles.values()):
                later = later_evidence(session, roles, size)
            created_at = max(token.stamped_at, stamped[0].stamped_at, later[1] if later else "")
            try:
                keys = {role: self._keys[(s.party_id, s.key_fingerprint)] for role, s in roles.items()}
                investor_key, borrower_key = keys["investor"], keys["borrower"]
            except KeyError as exc:
                raise NotReady(f"a signing key of contract {contract.id} is missing") from exc
            result.append(
                BundleParts(
                    contract_id=contract.id,
                    created_at=created_at,
                    document=b"",
                    media_type=contract.media_type,
                    terms=contract.terms_json,
                    record=leaves[sequence].record,
                    investor_key_pem=investor_key,
                    borrower_key_pem=borrower_key,
                    notary_chain_pem=self.notary_chain_pem,
                    record_token=token.response,
                    record_tsa_chain_pem=token.chain_pem.encode("ascii"),
                    checkpoint_tokens=tuple(
                        CheckpointToken(t.response, t.chain_pem.encode("ascii")) for t in stamped
                    ),
                    inclusion_proof=InclusionProof(sequence, size, tuple(plans[sequence].assemble(nodes))),
                    checkpoint=cosigned_notes.get(sequence, notes[size]),
                    log_key=self.log_key(origins[size]),
                    later=later[0] if later else None,
                )
            )
        return result

    def _load_keys(self, session: Session, signed: Mapping[str, Mapping[str, Signer]]) -> None:
        needed = {(s.party_id, s.key_fingerprint) for roles in signed.values() for s in roles.values()}
        if len(self._keys) + len(needed - self._keys.keys()) > _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys.update(signing_key_pems(session, needed - self._keys.keys()))

    def with_document(self, parts: BundleParts, document: bytes) -> BundleParts:
        """``parts`` from :meth:`page`, completed with the contract's document."""
        return replace(parts, document=document)


def _read_nodes(session: Session, wanted: set[Node]) -> dict[Node, bytes]:
    """The stored hashes of many tree nodes: one condition per level (``idx IN (...)``), which
    both databases answer from the primary key; a list of (level, idx) pairs is far slower on
    PostgreSQL."""
    by_level: dict[int, list[int]] = {}
    for level, idx in sorted(wanted):
        by_level.setdefault(level, []).append(idx)
    clauses = [
        (level, idxs[start : start + _NODES_PER_QUERY])
        for level, idxs in by_level.items()
        for start in range(0, len(idxs), _NODES_PER_QUERY)
    ]
    found: dict[Node, bytes] = {}
    for start in range(0, len(clauses), 8):
        condition = or_(
            *(
                and_(TreeNode.level == level, TreeNode.idx.in_(idxs))
                for level, idxs in clauses[start : start + 8]
            )
        )
        for level, idx, value in session.execute(
            select(TreeNode.level, TreeNode.idx, TreeNode.hash).where(condition)
        ):
            found[(level, idx)] = value
    return found
