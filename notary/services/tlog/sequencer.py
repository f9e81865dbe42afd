"""The sequencer: the one writer that turns signed contracts into log leaves.

Each run takes the contracts whose signatures are complete, in the order they completed,
builds their evidence records (each linked to the previous leaf by its SHA-256) and appends
them to the log in one transaction: a batch is in completely or not at all. Chain order and
leaf order are one order because both come from ``sequence``. Other parts plug in as
*leaf sinks* (the Merkle tree) called inside the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from notary.services import outbox
from notary.services.ceremony.signatures import SEALED, SIGNED
from notary.services.clock import Clock, parse_time
from notary.services.metrics import SEAL_LATENCY
from notary.storage.db import Database
from notary.storage.models import Contract, LogLeaf, Signature
from notary.storage.tree import LeafSink, NewLeaf, tree_state
from notary.verify import payloads
from notary.verify.encoding import b64encode
from notary.verify.merkle.proofs import leaf_hash

RecordBuilder = Callable[[int, str], bytes]
"""Builds a leaf's bytes from its ``sequence`` and the previous leaf's SHA-256."""


def log_head(session: Session) -> tuple[int, str]:
    """The next sequence number and the SHA-256 of the last leaf (64 zeros for an empty log)."""
    last = session.execute(select(func.max(LogLeaf.sequence))).scalar_one_or_none()
    if last is None:
        return 0, payloads.GENESIS_SHA256
    digest = session.execute(select(LogLeaf.record_sha256).where(LogLeaf.sequence == last)).scalar_one()
    return last + 1, digest


def append_leaves(
    session: Session,
    builders: Sequence[tuple[str, str | None, RecordBuilder]],
    *,
    created_at: str,
    sinks: Sequence[LeafSink] = (),
) -> list[NewLeaf]:
    """Append leaves ``(format, contract_id, builder)`` after the current head, in order.

    Must run in a write transaction of the leader; two appenders racing collide on the
    primary key and one transaction fails whole.
    """
    sequence, previous = log_head(session)
    leaves: list[NewLeaf] = []
    rows = []
    for record_format, contract_id, build in builders:
        record = build(sequence, previous)
        digest = hashlib.sha256(record).hexdigest()
        leaf = NewLeaf(sequence, record, digest, leaf_hash(record))
        leaves.append(leaf)
        rows.append(
            {
                "sequence": sequence,
                "format": record_format,
                "contract_id": contract_id,
                "record": record,
                "record_sha256": digest,
                "leaf_hash": leaf.leaf_hash,
                "created_at": created_at,
            }
        )
        sequence, previous = sequence + 1, digest
    if rows:
        session.execute(insert(LogLeaf.__table__), rows)
        for sink in sinks:
            sink.leaves_appended(session, leaves)
    return leaves


class Sequencer:
    """Seals signed contracts into the log, a batch at a time."""

    def __init__(
        self, db: Database, clock: Clock, *, sinks: Sequence[LeafSink] = (), batch_size: int = 2000
    ) -> None:
        self.db = db
        self.clock = clock
        self.sinks = list(sinks)
        self.batch_size = batch_size

    def seal_pending(self) -> list[NewLeaf]:
        """Seal up to ``batch_size`` signed contracts; returns the new leaves (empty when idle)."""
        with self.db.read() as session:
            # A look first: an idle round takes no write lock from the web workers.
            if session.execute(select(Contract.id).where(Contract.status == SIGNED).limit(1)).first() is None:
                return []
        with self.db.write() as session:
            # Sequencers take turns on the log's state row (PostgreSQL; SQLite's writers are
            # serialised already), so two never build on the same head.
            tree_state(session, for_update=True)
            contracts = (
                session.execute(
                    select(Contract)
                    .where(Contract.status == SIGNED)
                    .order_by(Contract.signed_at, Contract.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not contracts:
                return []
            signatures: dict[str, dict[str, Signature]] = {}
            for signature in session.execute(
                select(Signature).where(
                    Signature.contract_id.in_([c.id for c in contracts]),
                    Signature.purpose == payloads.PURPOSE_SIGN,
                )
            ).scalars():
                signatures.setdefault(signature.contract_id, {})[signature.role] = signature
            sealed_at = payloads.format_time(self.clock())
            builders = [
                (payloads.RECORD_FORMAT_V2, c.id, record_builder(c, signatures[c.id], sealed_at))
                for c in contracts
            ]
            leaves = append_leaves(session, builders, created_at=sealed_at, sinks=self.sinks)
            session.execute(
                update(Contract),
                [
                    {"id": c.id, "status": SEALED, "closed_at": sealed_at, "record_sequence": leaf.sequence}
                    for c, leaf in zip(contracts, leaves, strict=True)
                ],
            )
            outbox.emit(
                session,
                [
                    outbox.contract_sealed(
                        c, leaf_index=leaf.sequence, record_sha256=leaf.record_sha256, sealed_at=sealed_at
                    )
                    for c, leaf in zip(contracts, leaves, strict=True)
                ],
                now=sealed_at,
            )
            waits = [_seconds_between(c.signed_at, sealed_at) for c in contracts]
        # Counted once the seal is committed: a batch rolled back was never sealed.
        for wait in waits:
            SEAL_LATENCY.observe(wait)
        return leaves


def _seconds_between(earlier: str | None, later: str) -> float:
    if earlier is None:
        return 0.0
    return max(0.0, (parse_time(later) - parse_time(earlier)).total_seconds())


def record_builder(
    contract: Contract,
    signatures: dict[str, Signature],
    sealed_at: str,
    record_format: str = payloads.RECORD_FORMAT_V2,
) -> RecordBuilder:
    """Builds ``contract``'s evidence record at a sequence after a previous record's SHA-256
    (the sequencer's, which writes ``notary-record/2``, and ``notary audit``'s to rebuild a
    stored one of either format)."""

    def entry(s: Signature) -> dict[str, str]:
        if record_format == payloads.RECORD_FORMAT:
            return payloads.record_signature(
                party_id=s.party_id,
                key_fingerprint=s.key_fingerprint,
                identity_sha256=s.identity_commitment,
                identity_assurance=s.identity_assurance,
                algorithm=s.algorithm,
                signature_base64=b64encode(s.signature),
                signed_at=s.signed_at,
            )
        return payloads.record_signature_v2(
            party_id=s.party_id,
            key_fingerprint=s.key_fingerprint,
            identity_commitment=s.identity_commitment,
            identity_assurance=s.identity_assurance,
            algorithm=s.algorithm,
            signature_base64=b64encode(s.signature),
            signed_at=s.signed_at,
            enrolment_proof_base64=None if s.enrolment_proof is None else b64encode(s.enrolment_proof),
        )

    def build(sequence: int, previous_sha256: str) -> bytes:
        return payloads.evidence_record(
            record_format=record_format,
            sequence=sequence,
            previous_record_sha256=previous_sha256,
            contract_id=contract.id,
            platform_id=contract.platform_id,
            document_sha256=contract.document_sha256,
            document_size=contract.document_size,
            media_type=contract.media_type,
            terms_sha256=contract.terms_sha256,
            signatures={role: entry(s) for role, s in signatures.items()},
            received_at=contract.received_at,
            sealed_at=sealed_at,
        )

    return build
