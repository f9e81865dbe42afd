"""Checks of a whole stored log, recomputed from the leaves: the test's own independent view."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from notary.runtime import Runtime
from notary.storage.models import Contract, LogLeaf, SignedCheckpoint
from notary.verify.merkle import proofs as merkle
from notary.verify.note import parse_verifier_key, verify_checkpoint


def check_log(rt: Runtime) -> dict[str, int]:
    """Assert the log is whole: contiguous chained leaves, each contract once, every checkpoint
    signed and equal to the root recomputed from the leaves at its size."""
    with rt.db.read() as session:
        leaves = session.execute(select(LogLeaf).order_by(LogLeaf.sequence)).scalars().all()
        checkpoints = (
            session.execute(select(SignedCheckpoint).order_by(SignedCheckpoint.tree_size)).scalars().all()
        )
        sealed = session.execute(
            select(Contract.id, Contract.record_sequence).where(Contract.status == "sealed")
        ).all()
    previous = "0" * 64
    leaf_hashes = []
    contracts_in_log = []
    for expected, leaf in enumerate(leaves):
        assert leaf.sequence == expected, f"gap or duplicate at {expected}"
        record = json.loads(leaf.record)
        assert record["sequence"] == expected
        assert record["previous_record_sha256"] == previous
        previous = hashlib.sha256(leaf.record).hexdigest()
        assert leaf.record_sha256 == previous
        leaf_hashes.append(merkle.leaf_hash(leaf.record))
        if leaf.contract_id:
            contracts_in_log.append(leaf.contract_id)
    assert len(contracts_in_log) == len(set(contracts_in_log)), "a contract sealed twice"
    assert {cid for cid, _ in sealed} == set(contracts_in_log)
    assert all(sequence is not None for _, sequence in sealed)
    verifier = parse_verifier_key(rt.log_signer.verifier_key)
    for checkpoint in checkpoints:
        verified = verify_checkpoint(checkpoint.note, [verifier], origin=rt.log_signer.name).checkpoint
        assert verified.size == checkpoint.tree_size
        assert verified.root_hash == merkle.root_from_leaf_hashes(leaf_hashes[: checkpoint.tree_size])
    # Other leaf kinds (the audit trail's heads) share the chain: records are the contract leaves.
    return {"leaves": len(leaves), "records": len(contracts_in_log), "checkpoints": len(checkpoints)}
