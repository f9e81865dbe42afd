"""Checks of a whole stored log, recomputed from the leaves: the test's own independent view."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from notary.runtime import Runtime
from notary.services.audit import trail as audit
from notary.services.audit.integrity import AuditReport, default_auditors, run_audit
from notary.storage.models import Contract, LogLeaf, SignedCheckpoint
from notary.verify.merkle import proofs as merkle
from notary.verify.note import parse_verifier_key, verify_checkpoint
from tests.support.people import Person
from tests.support.platforms import new_platform, sign_body


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


def populate(runtime: Runtime, client: Any, contracts: int = 3) -> list[dict[str, Any]]:
    """Sealed contracts, an audit trail, and its head in the log."""
    platform = new_platform(runtime, client)
    investor, borrower = Person("张三"), Person("李四", alg="p256")
    platform.enrol(investor)
    platform.enrol(borrower)
    filed = []
    for index in range(contracts):
        document = b"%%PDF-1.4 contract %d" % index
        if index == 1:  # past blob_inline_max: kept as a file
            document += b" " * runtime.settings.blob_inline_max
        item = platform.file(investor, borrower, document=document)
        for role, person in (("investor", investor), ("borrower", borrower)):
            answer = client.post(
                f"/api/v1/contracts/{item['contract_id']}/signatures", json=sign_body(person, item, role)
            )
            assert answer.status_code == 200
        filed.append(item)
        runtime.sequencer.seal_pending()
        platform.get(f"/contracts/{item['contract_id']}/document")  # an audited read
        runtime.clock.advance(seconds=2)  # past the checkpoint interval: one checkpoint per seal
        assert runtime.checkpointer.run_once() == 1
    assert audit.anchor_audit_head(runtime.db, runtime.clock, runtime.sequencer.sinks) == 1
    return filed


def audit_of(runtime: Runtime, *, collect_all: bool = False) -> AuditReport:
    """Every check ``notary audit`` runs."""
    with runtime.db.read() as session:
        trusted = runtime.origins.trusted_logs(session)
    auditors = default_auditors(
        runtime.blobs,
        trusted_logs=trusted,
        tsa_roots=runtime.published.tsa_roots(),
        notary_root=runtime.keys.root_cert,
        certificates=runtime.certificates,
    )
    return run_audit(runtime.db, auditors, collect_all=collect_all)
