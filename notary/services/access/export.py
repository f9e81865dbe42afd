"""The case export: every evidence bundle in an approved case's scope, as one streamed zip with a
manifest signed by the notary and dated by an RFC 3161 token over its signature, and the
identity openings of the parties in the case's scope (format ``notary-export/2``,
``docs/export.md``, ``docs/formats.md`` section 6).

:meth:`CaseExports.begin` checks the case and writes the audit entry before a byte is sent;
:meth:`CaseExport.stream` then yields the zip in chunks. Nothing held grows with the number of
bundles: contracts are read a page at a time (keyset paging on the contract id, the case's
:func:`~notary.services.access.cases.scope_condition`, the same definition as single reads), each
bundle is built, sent and dropped, and the manifest's entries and the zip's directory are
spooled to temporary files until the end.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from notary import __version__
from notary.errors import NotFound
from notary.services.access import cases
from notary.services.audit import trail as audit
from notary.services.ceremony.identity import IdentitySecrets
from notary.services.ceremony.signatures import SEALED, effective_status
from notary.services.clock import Clock, now_text
from notary.services.evidence.bundles import EvidenceAssembler, EvidenceBundles
from notary.signing.tsa_client import TimestampClient
from notary.storage.access_models import Case, Investigator
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import Contract, Party
from notary.verify.evidence.bundle import build_bundle
from notary.verify.evidence.record import parse_time
from notary.verify.export.manifest import (
    EVIDENCE_PENDING,
    EXPORT_FORMAT,
    EXPORT_PURPOSE,
    MANIFEST,
    NOTARY_CHAIN,
    SIGNATURE,
    TIMESTAMP,
    TIMESTAMP_CHAIN,
    ManifestWriter,
    bundle_path,
    opening_path,
    signature_file,
)
from notary.verify.export.zipstream import ZipStream
from notary.verify.keys import key_fingerprint
from notary.verify.payloads import identity_commitment

PAGE_SIZE = 500
"""Contracts read per query round: large enough for ~10 queries to serve many bundles, small
enough that a page's metadata (tokens, records, proofs) stays a few megabytes."""


@dataclass
class ExportSummary:
    """What an export held, filled in as it streams (complete once the stream is exhausted)."""

    bundles: int = 0
    not_included: int = 0
    openings: int = 0
    bytes: int = 0
    sha256: str | None = None
    manifest_sha256: str | None = None
    complete: bool = False


@dataclass
class CaseExport:
    """An export that has been allowed and recorded; :meth:`stream` makes its bytes."""

    exports: CaseExports
    case: Case
    header: dict[str, Any]
    in_scope: int
    summary: ExportSummary = field(default_factory=ExportSummary)

    @property
    def file_name(self) -> str:
        return f"{self.case.id}-export.zip"

    def stream(self, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The export's zip, chunk by chunk; ``progress`` is called with the number of contracts
        handled so far (included or not). Stop reading it to abandon the export."""
        whole = hashlib.sha256()
        for chunk in self._chunks(progress):
            self.summary.bytes += len(chunk)
            whole.update(chunk)
            yield chunk
        self.summary.sha256 = whole.hexdigest()
        self.summary.complete = True

    def _chunks(self, progress: Callable[[int], None] | None) -> Iterator[bytes]:
        exports = self.exports
        archive = ZipStream(modified=parse_time(self.header["exported_at"], what="exported_at"))
        manifest = ManifestWriter(self.header)
        assembler = exports.bundles.assembler()
        try:
            yield from archive.member(NOTARY_CHAIN, assembler.notary_chain_pem)
            opened: set[str] = set()
            for handled, (contract, parts) in enumerate(self._contracts(assembler), start=1):
                if parts is None:
                    manifest.add_not_included(
                        contract.id, _not_ready_status(contract, self.header["exported_at"])
                    )
                else:
                    with exports.db.read() as session:
                        document = exports.blobs.get(session, contract.document_sha256)
                    bundle = build_bundle(assembler.with_document(parts, document))
                    yield from archive.member(bundle_path(contract.id), bundle)
                    manifest.add_bundle(contract.id, hashlib.sha256(bundle).hexdigest())
                    opened |= self._entitled(contract)
                if progress is not None:
                    progress(handled)
            yield from self._openings(archive, manifest, sorted(opened))
            yield from self._signed_manifest(archive, manifest)
            yield from archive.finish()
        finally:
            manifest.close()
            archive.close()

    def _entitled(self, contract: Contract) -> set[str]:
        """The parties of an exported contract whose openings the case may have: a party
        scope, that party; a platform scope, both; an identity scope, those of that identity
        (``formats.md`` section 6). Everyone else's identity stays a commitment."""
        parties = {contract.investor_id, contract.borrower_id}
        if self.case.scope_kind == cases.PARTY_SCOPE:
            return parties & {self.case.scope_party_id}
        if self.case.scope_kind == cases.PLATFORM_SCOPE:
            return parties
        with self.exports.db.read() as session:
            return set(
                session.execute(
                    select(Party.id).where(
                        Party.id.in_(parties), Party.id_lookup == self.case.scope_id_lookup
                    )
                ).scalars()
            )

    def _openings(
        self, archive: ZipStream, manifest: ManifestWriter, party_ids: list[str]
    ) -> Iterator[bytes]:
        """``openings/<party_id>.json`` for each entitled party, listed with its SHA-256 (the
        party's identity commitment), read a page at a time."""
        for start in range(0, len(party_ids), PAGE_SIZE):
            with self.exports.db.read() as session:
                rows = session.execute(
                    select(Party.id, Party.id_type, Party.id_number_enc, Party.identity_salt_enc)
                    .where(Party.id.in_(party_ids[start : start + PAGE_SIZE]))
                    .order_by(Party.id)
                ).all()
            for row in rows:
                opening = self.exports.identity_secrets.opening(
                    id_type=row.id_type, id_number_enc=row.id_number_enc, salt_enc=row.identity_salt_enc
                )
                yield from archive.member(opening_path(row.id), opening)
                manifest.add_opening(row.id, identity_commitment(opening))

    def _contracts(self, assembler: EvidenceAssembler) -> Iterator[tuple[Contract, Any]]:
        """Every contract in scope, by id, with its parts (None when not ready); each page is read
        in its own short transaction, closed before any of its bundles is sent."""
        after: str | None = None
        condition = cases.scope_condition(self.case)
        while True:
            query = select(Contract).where(condition).order_by(Contract.id).limit(PAGE_SIZE)
            if after is not None:
                query = query.where(Contract.id > after)
            with self.exports.db.read() as session:
                page = list(session.execute(query).scalars())
                parts = assembler.page(session, page)
            if not page:
                return
            yield from zip(page, parts, strict=True)
            after = page[-1].id

    def _signed_manifest(self, archive: ZipStream, manifest: ManifestWriter) -> Iterator[bytes]:
        # Two passes over the spooled manifest: its size, CRC and digest are needed before its
        # bytes (in the zip's local header, and for the signature that follows it).
        size, crc, digest = 0, 0, hashlib.sha256()
        for chunk in manifest.chunks():
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            digest.update(chunk)
        exports = self.exports
        signature = exports.notary_key.sign(digest.digest(), ec.ECDSA(Prehashed(hashes.SHA256())))
        fingerprint = key_fingerprint(
            exports.notary_cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
        signature_bytes = signature_file(key_fingerprint=fingerprint, signature=signature)
        # The signature is what is dated (as a CAdES signature timestamp): from then on the
        # export is judged at the authority's time, not at its own exported_at.
        stamped = exports.tsa_client.stamp_first(hashlib.sha256(signature_bytes).digest())
        yield from archive.member_chunks(MANIFEST, size, crc, manifest.chunks())
        yield from archive.member(SIGNATURE, signature_bytes)
        yield from archive.member(TIMESTAMP, stamped.response)
        yield from archive.member(TIMESTAMP_CHAIN, stamped.chain_pem)
        self.summary.bundles = manifest.bundle_count
        self.summary.openings = manifest.opening_count
        self.summary.not_included = manifest.not_included_count
        self.summary.manifest_sha256 = digest.hexdigest()


def _not_ready_status(contract: Contract, now: str) -> str:
    status = effective_status(contract, now)
    return EVIDENCE_PENDING if status == SEALED else status


class CaseExports:
    """Case exports: the database, the documents, the bundles, the notary key that signs each
    manifest, the authorities that date it, and the personal-data key that opens the
    identities of the parties in a case's scope."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        clock: Clock,
        bundles: EvidenceBundles,
        notary_key: ec.EllipticCurvePrivateKey,
        notary_cert: x509.Certificate,
        *,
        identity_secrets: IdentitySecrets,
        tsa_client: TimestampClient,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.bundles = bundles
        self.notary_key = notary_key
        self.notary_cert = notary_cert
        self.identity_secrets = identity_secrets
        self.tsa_client = tsa_client

    def begin(self, case_id: str, *, actor: audit.Actor, investigator_id: str | None = None) -> CaseExport:
        """Allow an export of case ``case_id`` and record it (``case.export``) before any byte.

        With ``investigator_id`` (an investigator's own request) the case must be theirs, else
        :class:`NotFound`; without it (an operator's ``notary export``) any case. Either way the
        case must be approved, else :class:`~notary.services.access.cases.CasePending` (403).
        """
        now = now_text(self.clock)
        with self.db.read() as session:
            if investigator_id is not None:
                case = cases.own_case(session, case_id, investigator_id=investigator_id)
            else:
                found = session.get(Case, case_id)
                if found is None:
                    raise NotFound(f"no case {case_id}")
                case = found
            if case.status != cases.APPROVED:
                raise cases.CasePending("this case has not been approved yet")
            investigator = session.get(Investigator, case.investigator_id)
            if investigator is None:
                raise NotFound(f"the investigator of case {case_id} is missing")
            in_scope = session.execute(
                select(func.count()).select_from(Contract).where(cases.scope_condition(case))
            ).scalar_one()
        header = {
            "format": EXPORT_FORMAT,
            "purpose": EXPORT_PURPOSE,
            "case": {
                "case_id": case.id,
                "case_number": case.case_number,
                "legal_basis": case.legal_basis,
                "scope": cases.scope_view(case),
            },
            "exported_by": {"kind": actor.kind, "id": actor.id},
            "investigator": {
                "investigator_id": investigator.id,
                "name": investigator.name,
                "agency": investigator.agency,
            },
            "exported_at": now,
            "tool_version": __version__,
        }
        with self.db.write() as session:
            audit.record(
                session,
                at=now,
                actor=actor,
                action="case.export",
                object_kind="case",
                object_id=case.id,
                case_id=case.id,
                details={
                    "case_number": case.case_number,
                    "investigator_id": investigator.id,
                    "contracts_in_scope": in_scope,
                },
            )
        return CaseExport(self, case, header, in_scope)
