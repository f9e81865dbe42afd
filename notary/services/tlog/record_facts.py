"""What anyone holding a certificate may read about its record: the contract's public facts.

The certificate's QR code carries the record's SHA-256, which cannot be guessed (it covers
both signatures and their times), so whoever asks by it holds the certificate. They get what
the certificate itself prints, and no more: the status, when it was sealed, its place in the
log, the platform, and the parties with names and ID numbers masked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import NotFound
from notary.services.ceremony import identity
from notary.services.ceremony.signatures import effective_status
from notary.services.tlog.public import leaf_by_record
from notary.storage.models import Contract, Party, Platform, SignedCheckpoint
from notary.verify.canonical import parse_json


@dataclass(frozen=True)
class PublicParty:
    role: str
    name_masked: str
    id_number_masked: str


@dataclass(frozen=True)
class PublicRecord:
    """The public facts of one sealed contract, found by its record's SHA-256."""

    record_sha256: str
    contract_id: str
    status: str
    leaf_index: int
    tree_size: int | None
    received_at: str
    sealed_at: str
    platform_name: str
    platform_defunct: bool
    parties: tuple[PublicParty, ...]

    @property
    def covered(self) -> bool:
        """A signed checkpoint covers the record (its inclusion can be proven)."""
        return self.tree_size is not None and self.tree_size > self.leaf_index


def mask_name(name: str) -> str:
    """``张三`` gives ``张*``: the first character, the rest hidden."""
    return identity.mask(name, keep_start=1, keep_end=0)


def public_record(session: Session, record_sha256: str, *, now: str) -> PublicRecord:
    """The public facts of the record with this SHA-256; raises :class:`NotFound` for a record
    that is not in the log (or a leaf that is no contract's record)."""
    leaf = leaf_by_record(session, record_sha256.lower())
    contract = session.get(Contract, leaf.contract_id) if leaf.contract_id else None
    if contract is None:
        raise NotFound("no contract's record has that SHA-256")
    platform = session.get(Platform, contract.platform_id)
    named = {
        party.id: party
        for party in session.execute(
            select(Party).where(Party.id.in_([contract.investor_id, contract.borrower_id]))
        ).scalars()
    }
    tree_size = session.execute(
        select(SignedCheckpoint.tree_size).order_by(SignedCheckpoint.tree_size.desc()).limit(1)
    ).scalar()
    record = parse_json(leaf.record, what="the stored record")
    return PublicRecord(
        record_sha256=leaf.record_sha256,
        contract_id=contract.id,
        status=effective_status(contract, now),
        leaf_index=leaf.sequence,
        tree_size=tree_size,
        received_at=str(record.get("received_at", contract.received_at)),
        sealed_at=str(record.get("sealed_at", "")),
        platform_name=platform.name if platform else "",
        platform_defunct=platform is not None and platform.status == "defunct",
        parties=tuple(
            PublicParty(role, mask_name(named[party_id].name), named[party_id].id_number_masked)
            for role, party_id in (("investor", contract.investor_id), ("borrower", contract.borrower_id))
        ),
    )
