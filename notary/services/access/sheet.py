"""What a party reads before signing: the terms, the parties, the platform, and the exact bytes.

The sign page asks for it with the party's token (a key holder who logged in). It is read
under the one access policy (:func:`notary.services.access.contracts.read_access`), so a contract
that is not the caller's answers ``not_found`` exactly as a missing one. The payload is built
by the same function as ``GET /contracts/{id}/signing-payload``: the bytes shown are the bytes
the party signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import Forbidden, Unprocessable
from notary.services.access import contracts
from notary.services.auth import PARTY, Principal
from notary.services.filing.service import signing_payload
from notary.services.tlog.record_facts import mask_name
from notary.storage.models import Party, Platform
from notary.verify import payloads

PURPOSES = {"sign": payloads.PURPOSE_SIGN, "decline": payloads.PURPOSE_DECLINE}


@dataclass(frozen=True)
class SheetParty:
    role: str
    party_id: str
    name: str
    id_number_masked: str
    key_fingerprint: str


@dataclass(frozen=True)
class SignSheet:
    """One role's view of a contract before it acts. ``you`` is the party of ``role``; its name
    is shown in full (it is the caller's own), the counterparty's masked."""

    contract: dict[str, Any]
    role: str
    you: SheetParty
    counterparty: SheetParty
    platform_name: str
    platform_defunct: bool
    payload: bytes
    decline_payload: bytes
    your_key: bool
    already_signed: bool

    @property
    def open(self) -> bool:
        """The contract still waits for this role's act."""
        return self.contract["status"] == "awaiting_signatures" and not self.already_signed


def sign_sheet(session: Session, principal: Principal, contract_id: str, role: str, *, now: str) -> SignSheet:
    """The sheet of ``role`` in ``contract_id`` for a key holder.

    Raises ``forbidden`` for a token that is not a key holder's, ``not_found`` for a contract
    that is not the caller's (or missing), ``validation_failed`` for an unknown role.
    """
    if principal.kind != PARTY:
        raise Forbidden("the sign page is for key holders: log in with your key")
    if role not in payloads.ROLES:
        raise Unprocessable("role is investor or borrower", details={"role": ["investor or borrower"]})
    access = contracts.read_access(session, principal, contract_id)
    contract = access.contract
    view = contracts.contract_view(session, contract, now=now)
    named = {
        party.id: party
        for party in session.execute(
            select(Party).where(Party.id.in_([contract.investor_id, contract.borrower_id]))
        ).scalars()
    }
    other = "borrower" if role == "investor" else "investor"

    def sheet_party(which: str, *, masked: bool) -> SheetParty:
        party = named[contract.investor_id if which == "investor" else contract.borrower_id]
        return SheetParty(
            role=which,
            party_id=party.id,
            name=mask_name(party.name) if masked else party.name,
            id_number_masked=party.id_number_masked,
            key_fingerprint=party.key_fingerprint,
        )

    you = sheet_party(role, masked=False)
    platform = session.get(Platform, contract.platform_id)
    return SignSheet(
        contract=view,
        role=role,
        you=you,
        counterparty=sheet_party(other, masked=True),
        platform_name=platform.name if platform else "",
        platform_defunct=platform is not None and platform.status == "defunct",
        payload=signing_payload(contract, role, payloads.PURPOSE_SIGN),
        decline_payload=signing_payload(contract, role, payloads.PURPOSE_DECLINE),
        your_key=you.key_fingerprint == principal.subject_id,
        already_signed=role in view["signatures"],
    )
