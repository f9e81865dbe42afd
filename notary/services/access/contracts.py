"""Reading contracts: who may see one, and what they see."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notary.errors import NoEvidence, NotFound, NotReady
from notary.services.access import cases
from notary.services.access.key_holders import verified_lookup
from notary.services.audit import trail as audit
from notary.services.auth import INVESTIGATOR, PARTY, PLATFORM, Principal
from notary.services.ceremony.parties import live_parties_of_key
from notary.services.ceremony.signatures import DECLINED, EXPIRED, SIGNED, effective_status
from notary.services.clock import Clock, now_text
from notary.services.evidence.bundles import EvidenceBundles
from notary.services.filing.service import AWAITING, signing_payload
from notary.services.tlog.public import evidence_progress
from notary.services.tlog.record_facts import mask_name
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import Contract, Party, PartyKey, Platform, Signature
from notary.verify import payloads
from notary.verify.canonical import parse_json

if TYPE_CHECKING:
    from notary.services.evidence.certificates import CertificateService

PLATFORM_BASIS, OWN_KEY_BASIS, VERIFIED_IDENTITY_BASIS, CASE_BASIS = (
    "platform",
    "own_key",
    "verified_identity",
    "case",
)
EVIDENCE_READS = frozenset({"document.read", "evidence.read", "certificate.read"})
"""Reads recorded in the audit trail whoever makes them; every read made through a case is too."""


@dataclass(frozen=True)
class Grant:
    """Why a principal may read a contract: its ``basis``, and the case that justified it."""

    basis: str
    case_id: str | None = None


@dataclass(frozen=True)
class Access:
    contract: Contract
    grant: Grant


def read_access(
    session: Session, principal: Principal, contract_id: str, *, case_id: str | None = None
) -> Access:
    """The contract and the grant to read it; raises like :func:`may_read`."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        if principal.kind == INVESTIGATOR:
            # A missing contract answers exactly as an uncovered one (pending case: 403).
            cases.case_for_read(session, principal.subject_id, None, case_id=case_id)
        raise NotFound("no such contract")
    return Access(contract, may_read(session, principal, contract, case_id=case_id))


def readable_contract(
    session: Session, principal: Principal, contract_id: str, *, case_id: str | None = None
) -> Contract:
    """The contract if ``principal`` may read it; otherwise :class:`NotFound`, exactly as if absent."""
    return read_access(session, principal, contract_id, case_id=case_id).contract


def may_read(
    session: Session, principal: Principal, contract: Contract, *, case_id: str | None = None
) -> Grant:
    """The one access policy for a contract and everything of it (document, evidence, certificate).

    - a platform: its own contracts (a defunct platform never gets here: its token is refused);
    - a key holder (party token): contracts of every party enrolled with its key, on every
      platform, and once an operator verified the key's identity, every contract naming that
      identity (exactly what ``GET /me/contracts`` lists);
    - an investigator: contracts covered by an approved case of theirs (``case_id``: the case
      the request names, see :func:`cases.case_for_read`).

    Raises :class:`NotFound` when the contract is not the principal's (the same answer as for a
    missing one) and :class:`~notary.errors.Forbidden` when the case is not approved yet.
    """
    if principal.kind == PLATFORM:
        if contract.platform_id == principal.subject_id:
            return Grant(PLATFORM_BASIS)
    elif principal.kind == PARTY:
        named = session.execute(
            select(Party.id, Party.id_lookup).where(
                Party.id.in_([contract.investor_id, contract.borrower_id])
            )
        ).all()
        own = session.execute(
            live_parties_of_key(principal.subject_id).where(
                PartyKey.party_id.in_([contract.investor_id, contract.borrower_id])
            )
        ).first()
        if own is not None:
            return Grant(OWN_KEY_BASIS)
        verified = verified_lookup(session, principal.subject_id)
        if verified is not None and any(row.id_lookup == verified for row in named):
            return Grant(VERIFIED_IDENTITY_BASIS)
    elif principal.kind == INVESTIGATOR:
        case = cases.case_for_read(session, principal.subject_id, contract.id, case_id=case_id)
        return Grant(CASE_BASIS, case.id)
    raise NotFound("no such contract")


def record_read(
    db: Database,
    principal: Principal,
    access: Access,
    action: str,
    *,
    at: str,
    details: Mapping[str, str] | None = None,
) -> None:
    """Write a read into the audit trail if it must be: evidence reads, and every read through a
    case (with the case that justified it), with ``details`` of what exactly was read. Raises
    (and the read must then fail) if it cannot.
    """
    if action not in EVIDENCE_READS and access.grant.case_id is None:
        return
    with db.write() as session:
        audit.record(
            session,
            at=at,
            actor=audit.Actor.of(principal),
            action=action,
            object_kind="contract",
            object_id=access.contract.id,
            case_id=access.grant.case_id,
            details={"basis": access.grant.basis, **(details or {})},
        )


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
    if view["status"] == AWAITING:
        view["awaiting"] = [role for role in payloads.ROLES if role not in view["signatures"]]
    declines = [act for act in acts if act.purpose == payloads.PURPOSE_DECLINE]
    if declines:
        view["declined"] = {
            "role": declines[0].role,
            "declined_at": declines[0].signed_at,
            "reason": contract.decline_reason,
        }
    return view


#: How long to wait before asking again while a party has still to sign: people take minutes
#: or days, so a client that obeys it does not poll every second.
AWAITING_RETRY_AFTER = 60


def ensure_sealable(session: Session, contract: Contract, *, now: str) -> None:
    """Before evidence is sought: raise ``no_evidence`` (final, no ``Retry-After``) for a
    declined or expired contract, and ``evidence_not_ready`` naming whose signature is missing
    (``details.awaiting``) for one still awaiting signatures, or that it is being sealed."""
    status = effective_status(contract, now)
    if status in {DECLINED, EXPIRED}:
        raise NoEvidence(
            f"this contract was {status}: it will never be sealed, so it has no evidence",
            details={"status": status},
        )
    if status == AWAITING:
        signed = set(
            session.execute(
                select(Signature.role).where(
                    Signature.contract_id == contract.id, Signature.purpose == payloads.PURPOSE_SIGN
                )
            ).scalars()
        )
        awaiting = [role for role in payloads.ROLES if role not in signed]
        raise NotReady(
            f"the contract is awaiting the {' and the '.join(awaiting)}'s signature; its evidence "
            "is made once both have signed",
            retry_after=AWAITING_RETRY_AFTER,
            details={"status": status, "awaiting": awaiting},
        )
    if status == SIGNED:
        raise NotReady(
            "both parties have signed; the contract is being sealed into the log",
            retry_after=1,
            details={"status": status},
        )


@dataclass(frozen=True)
class SigningPayload:
    """A role's payload and what a person reads before signing it (``notary sign`` prints it
    and checks that ``terms`` hash to the payload's ``terms_sha256``). The counterparty's name
    is masked, as on the sign page."""

    payload: bytes
    terms: dict[str, Any]
    platform: dict[str, str]
    counterparty: dict[str, str]


@dataclass(frozen=True)
class Download:
    """Bytes of a contract handed out (document, bundle, certificate), and their SHA-256."""

    contract: Contract
    data: bytes
    sha256: str


class ContractReads:
    """Everything a caller reads of a contract, one call per read: the access check, the read,
    and its audit entry (:func:`record_read`), written before a byte leaves.

    Each method raises what :func:`may_read` raises (``not_found``, ``forbidden``), and the
    audit trail's errors: a read that cannot be recorded does not happen.
    """

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        clock: Clock,
        bundles: EvidenceBundles,
        certificates: CertificateService | None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.bundles = bundles
        self.certificates = certificates

    def view(self, principal: Principal, contract_id: str, *, case_id: str | None = None) -> dict[str, Any]:
        """``GET /contracts/{id}``: status, digests, terms, signatures and the evidence's progress."""
        now = now_text(self.clock)
        with self.db.read() as session:
            access = read_access(session, principal, contract_id, case_id=case_id)
            view = contract_view(session, access.contract, now=now)
        record_read(self.db, principal, access, "contract.read", at=now)
        return view

    def signing_payload(
        self, principal: Principal, contract_id: str, role: str, purpose: str, *, case_id: str | None = None
    ) -> SigningPayload:
        """The exact bytes ``role`` signs (``purpose``: sign or decline), with what they commit to:
        the terms (which hash to the payload's ``terms_sha256``), the platform, the counterparty."""
        with self.db.read() as session:
            access = read_access(session, principal, contract_id, case_id=case_id)
            contract = access.contract
            platform = session.get(Platform, contract.platform_id)
            other_role = "borrower" if role == "investor" else "investor"
            other = session.get(Party, contract.borrower_id if role == "investor" else contract.investor_id)
        # Which role's payload and for what (signing or declining): an investigator reading the
        # borrower's decline payload is not the same act as reading the investor's.
        record_read(
            self.db,
            principal,
            access,
            "signing_payload.read",
            at=now_text(self.clock),
            details={"role": role, "purpose": purpose},
        )
        return SigningPayload(
            payload=signing_payload(contract, role, purpose),
            terms=parse_json(contract.terms_json, what="stored terms"),
            platform={"platform_id": contract.platform_id, "name": platform.name if platform else ""},
            counterparty={
                "role": other_role,
                "party_id": other.id if other else "",
                "name": mask_name(other.name) if other else "",
            },
        )

    def document(self, principal: Principal, contract_id: str, *, case_id: str | None = None) -> Download:
        """The document, byte for byte as filed."""
        with self.db.read() as session:
            access = read_access(session, principal, contract_id, case_id=case_id)
            data = self.blobs.get(session, access.contract.document_sha256)
        record_read(self.db, principal, access, "document.read", at=now_text(self.clock))
        return Download(access.contract, data, hashlib.sha256(data).hexdigest())

    def evidence(self, principal: Principal, contract_id: str, *, case_id: str | None = None) -> Download:
        """The evidence bundle; raises ``evidence_not_ready`` (and records nothing) before it is,
        ``no_evidence`` for a contract that will never have any (:func:`ensure_sealable`)."""
        with self.db.read() as session:
            access = read_access(session, principal, contract_id, case_id=case_id)
            ensure_sealable(session, access.contract, now=now_text(self.clock))
            bundle = self.bundles.bundle(session, access.contract)
        record_read(self.db, principal, access, "evidence.read", at=now_text(self.clock))
        return Download(access.contract, bundle, hashlib.sha256(bundle).hexdigest())

    def certificate(self, principal: Principal, contract_id: str, *, case_id: str | None = None) -> Download:
        """The signed certificate PDF; raises ``evidence_not_ready`` (and records nothing) before
        the evidence is complete."""
        if self.certificates is None:
            raise RuntimeError("certificates are made by a web runtime (Runtime(..., web=True))")
        with self.db.read() as session:
            access = read_access(session, principal, contract_id, case_id=case_id)
            ensure_sealable(session, access.contract, now=now_text(self.clock))
        pdf, sha256 = self.certificates.certificate(access.contract.id)
        record_read(self.db, principal, access, "certificate.read", at=now_text(self.clock))
        return Download(access.contract, pdf, sha256)
