"""Reading contracts: who may see one, and what they see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import NotFound
from notary.services.auth import PLATFORM, Principal
from notary.services.ceremony import effective_status
from notary.services.log import first_checkpoint_covering
from notary.storage.models import CheckpointTimestamp, Contract, LogLeaf, RecordTimestamp, Signature
from notary.verify import payloads
from notary.verify.canonical import parse_json


def readable_contract(session: Session, principal: Principal, contract_id: str) -> Contract:
    """The contract if ``principal`` may read it; otherwise :class:`NotFound`, exactly as if absent."""
    contract = session.get(Contract, contract_id)
    if contract is None or not may_read(session, principal, contract):
        raise NotFound("no such contract")
    return contract


def may_read(session: Session, principal: Principal, contract: Contract) -> bool:
    """Whether ``principal`` is entitled to ``contract`` (its platform, for now)."""
    if principal.kind == PLATFORM:
        return contract.platform_id == principal.subject_id
    return False


def contract_view(session: Session, contract: Contract, *, now: str) -> dict[str, Any]:
    """``GET /contracts/{id}``: status, digests, terms, signatures and the evidence's progress."""
    acts = session.execute(select(Signature).where(Signature.contract_id == contract.id)).scalars().all()
    view: dict[str, Any] = {
        "contract_id": contract.id,
        "platform_id": contract.platform_id,
        "status": effective_status(contract, now),
        "document_sha256": contract.document_sha256,
        "document_size": contract.document_size,
        "media_type": contract.media_type,
        "terms": parse_json(contract.terms_json, what="stored terms"),
        "terms_sha256": contract.terms_sha256,
        "received_at": contract.received_at,
        "sign_by": contract.deadline,
        "signatures": {
            act.role: {
                "signed_at": act.signed_at,
                "key_fingerprint": act.key_fingerprint,
                "algorithm": act.algorithm,
            }
            for act in acts
            if act.purpose == payloads.PURPOSE_SIGN
        },
        "evidence": evidence_progress(session, contract),
    }
    declines = [act for act in acts if act.purpose == payloads.PURPOSE_DECLINE]
    if declines:
        view["declined"] = {
            "role": declines[0].role,
            "declined_at": declines[0].signed_at,
            "reason": contract.decline_reason,
        }
    return view


def evidence_progress(session: Session, contract: Contract) -> dict[str, Any] | None:
    """Where the evidence stands once sealed; ``None`` before."""
    if contract.record_sequence is None:
        return None
    record_sha256 = session.execute(
        select(LogLeaf.record_sha256).where(LogLeaf.sequence == contract.record_sequence)
    ).scalar_one()
    checkpoint = first_checkpoint_covering(session, contract.record_sequence)
    stamped = session.get(RecordTimestamp, contract.record_sequence) is not None
    checkpoint_stamped = checkpoint is not None and (
        session.execute(
            select(CheckpointTimestamp.tree_size)
            .where(CheckpointTimestamp.tree_size == checkpoint.tree_size)
            .limit(1)
        ).first()
        is not None
    )
    return {
        "record_sha256": record_sha256,
        "leaf_index": contract.record_sequence,
        "checkpoint_size": checkpoint.tree_size if checkpoint else None,
        "timestamp": "stamped" if stamped else "pending",
        # Ready: the record's token, the first checkpoint covering it, and that checkpoint's token.
        "ready": stamped and checkpoint_stamped,
    }
