"""Evidence bundles, assembled from stored evidence: deterministic, so two downloads are the same
bytes until a later checkpoint token is added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import NotReady
from notary.services.contracts import evidence_progress
from notary.services.log import first_checkpoint_covering, inclusion_proof
from notary.storage.models import CheckpointTimestamp, Contract, LogLeaf, Party, RecordTimestamp
from notary.verify.bundle import BundleParts, CheckpointToken, InclusionProof, build_bundle
from notary.verify.keys import PublicKey

if TYPE_CHECKING:
    from notary.runtime import Runtime


def bundle_parts(
    rt: Runtime, session: Session, contract: Contract, *, log_key: dict[str, Any]
) -> BundleParts:
    """Everything a contract's bundle holds; raises ``evidence_not_ready`` before it is ready."""
    progress = evidence_progress(session, contract)
    if progress is None or not progress["ready"] or contract.record_sequence is None:
        raise NotReady("the evidence of this contract is not complete yet", retry_after=1)
    sequence = contract.record_sequence
    leaf = session.get(LogLeaf, sequence)
    token = session.get(RecordTimestamp, sequence)
    checkpoint = first_checkpoint_covering(session, sequence)
    if leaf is None or token is None or checkpoint is None:
        raise NotReady("the evidence of this contract is not complete yet", retry_after=1)
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
    keys = {}
    for role, party_id in (("investor", contract.investor_id), ("borrower", contract.borrower_id)):
        party = session.get(Party, party_id)
        if party is None:
            raise NotReady("a party of this contract is missing")
        keys[role] = PublicKey.from_der(party.public_key_der).pem.encode("ascii")
    # The bundle is dated when it became ready, so every download is the same bytes.
    ready_at = max(token.stamped_at, checkpoint_tokens[0].stamped_at)
    return BundleParts(
        contract_id=contract.id,
        created_at=ready_at,
        document=rt.blobs.get(session, contract.document_sha256),
        media_type=contract.media_type,
        terms=contract.terms_json,
        record=leaf.record,
        investor_key_pem=keys["investor"],
        borrower_key_pem=keys["borrower"],
        notary_chain_pem=b"".join(cert.public_bytes(Encoding.PEM) for cert in rt.keys.notary_chain),
        record_token=token.response,
        record_tsa_chain_pem=token.chain_pem.encode("ascii"),
        checkpoint_tokens=tuple(
            CheckpointToken(t.response, t.chain_pem.encode("ascii")) for t in checkpoint_tokens
        ),
        inclusion_proof=InclusionProof(proof.leaf_index, proof.tree_size, tuple(proof.hashes)),
        checkpoint=checkpoint.note,
        log_key=log_key,
    )


def evidence_bundle(rt: Runtime, session: Session, contract: Contract, *, log_key: dict[str, Any]) -> bytes:
    """The contract's evidence bundle (``notary-evidence/1``)."""
    return build_bundle(bundle_parts(rt, session, contract, log_key=log_key))
