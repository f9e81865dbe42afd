"""What a bundle adds about its signing keys after they signed: the keys themselves, and the
key events logged since (``later/``, ``docs/formats.md`` section 5).

A bundle carries the key that signed (a party may have rotated to another since) and, when that
key was revoked, replaced or unbound at or after its signature, the event leaves with their
inclusion in a later stamped checkpoint and that checkpoint's consistency with the bundle's.
The choice is deterministic: the first checkpoint covering the newest such event that has a
timestamp, so equal stored evidence gives equal bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from notary.errors import NotReady
from notary.services.tlog.public import (
    checkpoint_at,
    consistency_proof,
    first_checkpoint_covering,
    inclusion_proof,
)
from notary.storage.models import (
    CheckpointTimestamp,
    Contract,
    KeyEventRow,
    LogLeaf,
    PartyKey,
    Signature,
    SignedCheckpoint,
)
from notary.verify import payloads
from notary.verify.evidence.bundle import (
    CheckpointToken,
    ConsistencyProof,
    InclusionProof,
    LaterEvent,
    LaterEvidence,
)
from notary.verify.keys import PublicKey

#: The kinds that change what an earlier signature can be relied on for (a binding does not).
LATER_KINDS = ("revoked", "rotated", "unbound")


@dataclass(frozen=True)
class Signer:
    """Who signed one role of a sealed contract, with which key, and when."""

    role: str
    party_id: str
    key_fingerprint: str
    signed_at: str


def signers(session: Session, contracts: Sequence[Contract]) -> dict[str, dict[str, Signer]]:
    """By contract id and role, the signers of these (sealed) contracts."""
    found: dict[str, dict[str, Signer]] = {}
    if not contracts:
        return found
    rows = session.execute(
        select(
            Signature.contract_id,
            Signature.role,
            Signature.party_id,
            Signature.key_fingerprint,
            Signature.signed_at,
        ).where(
            Signature.contract_id.in_([c.id for c in contracts]), Signature.purpose == payloads.PURPOSE_SIGN
        )
    )
    for row in rows:
        found.setdefault(row.contract_id, {})[row.role] = Signer(
            row.role, row.party_id, row.key_fingerprint, row.signed_at
        )
    return found


def signing_key_pems(session: Session, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """The PEM of each (party id, key fingerprint): the key that signed, whatever the party's
    key is today."""
    pairs = sorted(set(wanted))
    if not pairs:
        return {}
    rows = session.execute(
        select(PartyKey.party_id, PartyKey.key_fingerprint, PartyKey.public_key_der).where(
            tuple_(PartyKey.party_id, PartyKey.key_fingerprint).in_(pairs)
        )
    )
    return {(party, key): PublicKey.from_der(der).pem.encode("ascii") for party, key, der in rows}


def role_key_pems(session: Session, contract: Contract, signed: Mapping[str, Signer]) -> dict[str, bytes]:
    """Each role's signing key as PEM; raises ``evidence_not_ready`` when one is missing."""
    pems = signing_key_pems(session, [(s.party_id, s.key_fingerprint) for s in signed.values()])
    try:
        return {role: pems[(s.party_id, s.key_fingerprint)] for role, s in signed.items()}
    except KeyError as exc:
        raise NotReady(f"a signing key of contract {contract.id} is missing") from exc


def keys_with_events(session: Session, fingerprints: Iterable[str]) -> set[str]:
    """Which of these keys have any later-kind event at all (one query for a page of contracts)."""
    wanted = sorted(set(fingerprints))
    if not wanted:
        return set()
    rows = session.execute(
        select(KeyEventRow.key_fingerprint)
        .where(KeyEventRow.key_fingerprint.in_(wanted), KeyEventRow.kind.in_(LATER_KINDS))
        .distinct()
    )
    return set(rows.scalars())


def later_evidence(
    session: Session, signed: Mapping[str, Signer], checkpoint_size: int
) -> tuple[LaterEvidence, str] | None:
    """``later/`` for a bundle whose checkpoint has ``checkpoint_size``, and the time its token
    was stored (the bundle's date moves to it); None when no event concerns its keys yet, or
    none is covered by a stamped checkpoint yet."""
    events = _events(session, signed)
    while events:
        covering = first_checkpoint_covering(session, events[-1].leaf_sequence)
        if covering is not None and covering.tree_size <= checkpoint_size:
            covering = checkpoint_at(session, checkpoint_size)
        tokens = _tokens(session, covering) if covering is not None else []
        if covering is not None and tokens:
            return _assemble(session, events, checkpoint_size, covering, tokens), tokens[0].stamped_at
        events = events[:-1]
    return None


def _events(session: Session, signed: Mapping[str, Signer]) -> list[KeyEventRow]:
    rows = session.execute(
        select(KeyEventRow)
        .where(
            KeyEventRow.key_fingerprint.in_({s.key_fingerprint for s in signed.values()}),
            KeyEventRow.kind.in_(LATER_KINDS),
        )
        .order_by(KeyEventRow.leaf_sequence)
    ).scalars()
    return [row for row in rows if any(_concerns(row, s) for s in signed.values())]


def _concerns(event: KeyEventRow, signer: Signer) -> bool:
    """As the verifier's rule: the signer's key (for revocations and rotations, of the signer's
    party), at or after it signed."""
    if event.key_fingerprint != signer.key_fingerprint or event.at < signer.signed_at:
        return False
    return event.kind == "unbound" or event.party_id == signer.party_id


def _tokens(session: Session, checkpoint: SignedCheckpoint) -> list[CheckpointTimestamp]:
    return list(
        session.execute(
            select(CheckpointTimestamp)
            .where(CheckpointTimestamp.tree_size == checkpoint.tree_size)
            .order_by(CheckpointTimestamp.position)
        ).scalars()
    )


def _assemble(
    session: Session,
    events: Sequence[KeyEventRow],
    checkpoint_size: int,
    later: SignedCheckpoint,
    tokens: Sequence[CheckpointTimestamp],
) -> LaterEvidence:
    size = later.tree_size
    included = [event for event in events if event.leaf_sequence < size]
    leaves = {
        leaf.sequence: leaf.record
        for leaf in session.execute(
            select(LogLeaf).where(LogLeaf.sequence.in_([event.leaf_sequence for event in included]))
        ).scalars()
    }
    later_events = []
    for event in included:
        proof = inclusion_proof(session, event.leaf_sequence, size)
        later_events.append(
            LaterEvent(
                leaves[event.leaf_sequence],
                InclusionProof(proof.leaf_index, proof.tree_size, tuple(proof.hashes)),
            )
        )
    hashes = consistency_proof(session, checkpoint_size, size) if size > checkpoint_size else []
    return LaterEvidence(
        checkpoint=later.note,
        checkpoint_tokens=tuple(CheckpointToken(t.response, t.chain_pem.encode("ascii")) for t in tokens),
        consistency=ConsistencyProof(checkpoint_size, size, tuple(hashes)),
        events=tuple(later_events),
    )
