"""Evidence certificates: assembled from stored evidence, made once, stored, served as the same bytes.

The facts a certificate shows are stored with it (canonical JSON), so anyone holding the
notary's records can render the unsigned certificate again and find it, byte for byte, as
the first revision of the signed PDF (the signature is an incremental update).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notary import __version__
from notary.config import Settings
from notary.errors import NotReady
from notary.services.clock import Clock, now_text
from notary.services.evidence.pdf import (
    Attachment,
    CertificateFacts,
    CertificateSigner,
    PartyFacts,
    SignatureFacts,
    TimestampFacts,
    bundle_attachments,
    facts_from_json,
    facts_to_json,
    issue_certificate,
    render_certificate,
)
from notary.services.tlog.cosigned import served_note
from notary.services.tlog.public import (
    consistency_proof,
    evidence_progress,
    first_checkpoint_covering,
    latest_checkpoint,
)
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import (
    Contract,
    IssuedCertificate,
    LogLeaf,
    Party,
    Platform,
    RecordTimestamp,
    Signature,
)
from notary.verify import payloads
from notary.verify.canonical import parse_json
from notary.verify.evidence.bundle import BundleParts, build_bundle, bundle_members
from notary.verify.note import NoteVerifierKey
from notary.verify.timestamp.verifier import verify_timestamp
from notary.verify.trust import TrustChoice, TrustFile
from notary.verify_pdf import CertificateReport, online_tree_size, verify_certificate

MEDIA_TYPE = "application/pdf"
#: The evidence bundle's parts of a contract (``services.evidence.bundles.bundle_parts``, wired).
BundlePartsOf = Callable[[Session, Contract], BundleParts]
T = TypeVar("T")


class CertificateService:
    """Issues and serves certificates. The signer (keys, fonts, timestamper) is built once."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        signer: CertificateSigner,
        *,
        settings: Settings,
        verifier_key: Callable[[str], NoteVerifierKey],
        clock: Clock,
        bundle_parts: BundlePartsOf | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.signer = signer
        self.settings = settings
        self.verifier_key = verifier_key
        self.clock = clock
        # The evidence bundle's parts of a contract: what a certificate carries (record/2) and
        # what POST /verify checks a record/1 certificate against.
        self.bundle_parts = bundle_parts

    def certificate(self, contract_id: str) -> tuple[bytes, str]:
        """The certificate PDF of a contract whose evidence is ready, and its SHA-256.

        Made on first request and stored; every later request gets the same bytes. Raises
        ``evidence_not_ready`` before the evidence is complete.
        """
        with self.db.read() as session:
            issued = session.get(IssuedCertificate, contract_id)
            if issued is not None:
                return self.blobs.get(session, issued.pdf_sha256), issued.pdf_sha256
            contract = _need(session.get(Contract, contract_id), "the contract")
            progress = evidence_progress(session, contract)
            if progress is None or not progress["ready"]:
                raise NotReady("the evidence of this contract is not complete yet", retry_after=1)
            facts = self.facts(session, contract, issued_at=now_text(self.clock))
        pdf, sha256 = issue_certificate(facts, self.signer)
        self.blobs.stage([(sha256, pdf)])
        try:
            with self.db.write() as session:
                self.blobs.put_many(session, [(sha256, pdf)])
                session.add(
                    IssuedCertificate(
                        contract_id=contract_id,
                        certificate_number=facts.certificate_number,
                        pdf_sha256=sha256,
                        pdf_size=len(pdf),
                        facts=facts_to_json(facts),
                        issued_at=facts.issued_at,
                    )
                )
        except IntegrityError:
            # Another request issued it first: everyone gets that one.
            return self.certificate(contract_id)
        return pdf, sha256

    def facts(
        self,
        session: Session,
        contract: Contract,
        *,
        issued_at: str,
        public_url: str | None = None,
        notary_version: str = __version__,
    ) -> CertificateFacts:
        """What the certificate of ``contract`` shows, from stored evidence only."""
        sequence = _need(contract.record_sequence, "the record")
        leaf = _need(session.get(LogLeaf, sequence), "the record")
        token = _need(session.get(RecordTimestamp, sequence), "the record's timestamp")
        checkpoint = _need(first_checkpoint_covering(session, sequence), "a checkpoint")
        platform = _need(session.get(Platform, contract.platform_id), "the platform")
        terms = parse_json(contract.terms_json, what="stored terms")
        record = parse_json(leaf.record, what="stored record")
        parties = {
            role: session.get(Party, party_id)
            for role, party_id in (("investor", contract.investor_id), ("borrower", contract.borrower_id))
        }
        chain = x509.load_pem_x509_certificates(token.chain_pem.encode())
        info = verify_timestamp(
            token.response, message=leaf.record, trust_roots=chain[-1:], intermediates=chain[:-1]
        )
        signatures = session.execute(
            select(Signature).where(
                Signature.contract_id == contract.id, Signature.purpose == payloads.PURPOSE_SIGN
            )
        ).scalars()
        return CertificateFacts(
            certificate_number=f"NC{record['sealed_at'][:4]}-{leaf.sequence:010d}",
            issued_at=issued_at,
            contract_id=contract.id,
            platform_id=platform.id,
            platform_name=platform.name,
            investor=_party(parties["investor"]),
            borrower=_party(parties["borrower"]),
            amount=terms["amount"],
            currency=terms["currency"],
            annual_rate=terms["annual_rate"],
            term_months=terms["term_months"],
            start_date=terms["start_date"],
            sign_by=terms["sign_by"],
            filed_at=contract.received_at,
            sealed_at=record["sealed_at"],
            document_sha256=contract.document_sha256,
            document_size=contract.document_size,
            media_type=contract.media_type,
            terms_sha256=contract.terms_sha256,
            record_sha256=leaf.record_sha256,
            signatures=tuple(
                SignatureFacts(s.role, s.algorithm, s.key_fingerprint, s.signed_at, s.identity_assurance)
                for s in sorted(signatures, key=lambda s: payloads.ROLES.index(s.role))
            ),
            timestamp=TimestampFacts(
                authority=info.tsa_name or info.signer_subject,
                gen_time=payloads.format_time(info.gen_time),
                serial_number=info.serial_number,
            ),
            leaf_index=leaf.sequence,
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash.hex(),
            checkpoint_origin=checkpoint.origin,
            checkpoint_verifier_key=self.verifier_key(checkpoint.origin).text,
            public_url=public_url or self.settings.public_url,
            notary_version=notary_version,
            attachments=self._carried(session, contract, record),
            title=terms.get("title"),
            external_ref=terms.get("external_ref"),
            platform_defunct_at=platform.defunct_at if platform.status == "defunct" else None,
        )

    def verify(self, pdf: bytes, *, trust: TrustChoice, document: bytes | None = None) -> CertificateReport:
        """``POST /verify`` for a certificate PDF: what ``notary verify --online`` establishes,
        with this notary's own log standing in for the fetch.

        The PDF is checked first as given. Only a certificate this notary signed (its signature
        verified with this notary's own trust file, not ``CallerSupplied`` keys) is then
        completed from the log: a
        carried record is shown still in today's tree (latest checkpoint and consistency proof);
        a record not carried (record/1 certificates) is checked in the bundle this notary builds
        for it. Nothing is looked up for a PDF signed by anyone else, so a forged certificate
        naming someone's record learns nothing. Raises
        :class:`~notary.verify_pdf.MalformedCertificate` for a file that is no certificate.
        """
        now = self.clock()
        first = verify_certificate(pdf, trust=trust, document=document, now=now)
        passed = {check.name for check in first.report.checks if check.passed}
        if not isinstance(trust, TrustFile) or not {"pdf_no_later_updates", "pdf_signature"} <= passed:
            return first
        bundle = None
        with self.db.read() as session:
            if first.record_source != "carried":
                contract = self._named_contract(session, first)
                if contract is None or self.bundle_parts is None:
                    return first
                try:
                    bundle = build_bundle(self.bundle_parts(session, contract))
                except NotReady:
                    return first
            size = online_tree_size(pdf, bundle)
            latest = latest_checkpoint(session)
            newer, proof = None, None
            if size is not None and latest.tree_size >= size:
                hashes = consistency_proof(session, size, latest.tree_size)
                # As GET /log/checkpoint serves it, with its witnesses' cosignatures: a certificate
                # issued before they answered meets the witness policy through it (issue 21).
                newer = served_note(session, latest)
                proof = {"first": size, "second": latest.tree_size, "hashes": [h.hex() for h in hashes]}
        return verify_certificate(
            pdf,
            trust=trust,
            bundle=bundle,
            bundle_source="notary_log",
            document=document,
            newer_checkpoint=newer,
            consistency_proof=proof,
            now=now,
        )

    @staticmethod
    def _named_contract(session: Session, first: CertificateReport) -> Contract | None:
        named = first.report.record_sha256
        if named is not None:
            leaf = session.execute(select(LogLeaf).where(LogLeaf.record_sha256 == named)).scalar_one_or_none()
            return session.get(Contract, leaf.contract_id) if leaf and leaf.contract_id else None
        return session.get(Contract, first.report.contract_id) if first.report.contract_id else None

    def _carried(
        self, session: Session, contract: Contract, record: dict[str, Any]
    ) -> tuple[Attachment, ...]:
        """The bundle's members a certificate carries: none for a record whose identities are
        unsalted hashes (record/1), which beside the printed masked ID numbers give them back."""
        if self.bundle_parts is None or not carries_record(record):
            return ()
        return bundle_attachments(bundle_members(self.bundle_parts(session, contract)))

    def reproduce(self, contract_id: str) -> bool:
        """Whether the stored certificate's first revision is exactly the certificate rendered
        again from its stored facts (by the version that issued it), and those facts still agree
        with the stored evidence (the platform's status aside: it is shown as at issue time)."""
        with self.db.read() as session:
            issued = session.get(IssuedCertificate, contract_id)
            contract = session.get(Contract, contract_id)
            if issued is None or contract is None:
                return False
            stored = facts_from_json(issued.facts)
            again = self.facts(
                session,
                contract,
                issued_at=stored.issued_at,
                public_url=stored.public_url,
                notary_version=stored.notary_version,
            )
            pdf = self.blobs.get(session, issued.pdf_sha256)
        unsigned = render_certificate(stored)
        # The platform's status is shown as it was at issue time: a collapse since changes nothing;
        # the carried files as issued (a checkpoint token added later is not in them), but the
        # record and terms carried must still be the stored ones.
        carried_again = {item.name: item.data for item in again.attachments}
        if any(
            carried_again.get(item.name) != item.data
            for item in stored.attachments
            if item.name in ("record.json", "terms.json")
        ):
            return False
        again = dataclasses.replace(
            again, platform_defunct_at=stored.platform_defunct_at, attachments=stored.attachments
        )
        return (
            again == stored
            and pdf.startswith(unsigned)
            and hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
        )


def carries_record(record: dict[str, Any]) -> bool:
    """Whether a certificate may carry this record: only when no signature entry holds an
    unsalted ``identity_sha256`` (record/1), which the printed masked ID number would undo."""
    signatures = record.get("signatures")
    if not isinstance(signatures, dict) or not signatures:
        return False
    return all(isinstance(entry, dict) and "identity_sha256" not in entry for entry in signatures.values())


def _need(value: T | None, what: str) -> T:
    if value is None:
        raise NotReady(f"{what} of this contract is not stored yet", retry_after=1)
    return value


def _party(party: Party | None) -> PartyFacts:
    party = _need(party, "a party")
    return PartyFacts(party.id, party.name, party.id_number_masked)
