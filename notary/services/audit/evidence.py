"""Auditors of the evidence that the hash chain and tree do not cover (issue 15.4).

Round 1's audit re-derived documents, records, the chain, the tree, checkpoints and the audit
trail, and reported clean after each of these changes: a record's RFC 3161 token swapped with
another's or one byte of it flipped; one byte of a stored certificate PDF flipped; a
certificate's stored facts edited; a party's public key replaced (that key goes into bundles'
``keys/*.pem`` and into login). These auditors see them:

- ``timestamp_tokens``: every record token and checkpoint token verifies over its own imprint
  (the record's bytes; the checkpoint's body) and chains to the configured authorities' roots,
  carries no certificate but its stored chain's (those bytes are outside its signature), and
  its stored genTime and serial are the token's;
- ``certificates``: every certificate PDF is in the blob store with its recorded SHA-256 and
  size, its PAdES signature is intact and by the notary's key under the notary root, and its
  stored facts are the facts re-derived from the stored evidence (when the certificate
  service is given, as ``notary audit`` does);
- ``party_keys``: every party's key loads (strictly), has its recorded fingerprint and
  algorithm, its enrolment proof verifies over its identity commitment, and every signature
  row names that key; every identity verification's key has its fingerprint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from notary.services.audit.auditor import Divergence, DivergenceFound, Findings, batches, count_rows
from notary.storage.access_models import IdentityVerification
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import (
    CheckpointTimestamp,
    Contract,
    IssuedCertificate,
    LogLeaf,
    Party,
    PartyKey,
    RecordTimestamp,
    Signature,
    SignedCheckpoint,
)
from notary.verify import payloads
from notary.verify.errors import NotaryError
from notary.verify.evidence.record import parse_time
from notary.verify.keys import PublicKey
from notary.verify.note import Checkpoint
from notary.verify.payloads import format_time
from notary.verify.timestamp.parser import parse as parse_token
from notary.verify.timestamp.verifier import verify_timestamp


def _chain(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode("ascii"))


@dataclass
class TokenAuditor:
    """Every stored RFC 3161 token verifies over what it stamps and chains to a trusted root."""

    tsa_roots: Sequence[x509.Certificate] = field(default_factory=tuple)
    name: str = "timestamp_tokens"
    label: str = "timestamp tokens"

    def total(self, db: Database) -> int:
        return count_rows(db, RecordTimestamp.sequence) + count_rows(db, CheckpointTimestamp.tree_size)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (
            RecordTimestamp.sequence,
            RecordTimestamp.response,
            RecordTimestamp.chain_pem,  # type: ignore[attr-defined]
            RecordTimestamp.gen_time,
            RecordTimestamp.serial,
        )
        for rows in batches(db, RecordTimestamp.sequence, columns, size=200):
            with db.read() as session:
                records = dict(
                    session.execute(
                        select(LogLeaf.sequence, LogLeaf.record).where(
                            LogLeaf.sequence.in_([row.sequence for row in rows])
                        )
                    ).all()
                )
            for row in rows:
                with findings.item("record token", f"of log leaf {row.sequence}"):
                    record = records.get(row.sequence)
                    if record is None:
                        raise self._diverged(
                            "record token", f"of log leaf {row.sequence}", "its leaf is missing"
                        )
                    self._check("record token", f"of log leaf {row.sequence}", row, bytes(record))
            yield len(rows)
        columns = (
            CheckpointTimestamp.tree_size,
            CheckpointTimestamp.authority,
            CheckpointTimestamp.response,
            CheckpointTimestamp.chain_pem,  # type: ignore[attr-defined]
            CheckpointTimestamp.gen_time,
            CheckpointTimestamp.serial,
        )
        for rows in batches(db, CheckpointTimestamp.tree_size, columns, size=200):
            with db.read() as session:
                heads = {
                    head.tree_size: head
                    for head in session.execute(
                        select(
                            SignedCheckpoint.tree_size, SignedCheckpoint.origin, SignedCheckpoint.root_hash
                        ).where(SignedCheckpoint.tree_size.in_([row.tree_size for row in rows]))
                    )
                }
            for row in rows:
                where = f"of the checkpoint at size {row.tree_size} ({row.authority})"
                with findings.item("checkpoint token", where):
                    head = heads.get(row.tree_size)
                    if head is None:
                        raise self._diverged("checkpoint token", where, "its checkpoint is missing")
                    body = Checkpoint(head.origin, head.tree_size, bytes(head.root_hash)).body
                    self._check("checkpoint token", where, row, body)
            yield len(rows)

    def _diverged(self, what: str, where: str, message: str, *values: str) -> DivergenceFound:
        return DivergenceFound(Divergence(self.name, what, where, message, *values))

    def _check(self, what: str, where: str, row: Any, message: bytes) -> None:
        chain = _chain(row.chain_pem)
        try:
            info = verify_timestamp(
                bytes(row.response), message=message, trust_roots=self.tsa_roots, intermediates=chain
            )
        except NotaryError as exc:
            raise self._diverged(what, where, f"{exc.code}: {exc.message}") from exc
        # The certificates a token carries are outside what its signature covers: a changed byte
        # there verifies still, so each must be one of its stored chain's, byte for byte.
        known = {cert.public_bytes(Encoding.DER) for cert in chain}
        if any(embedded not in known for embedded in parse_token(bytes(row.response)).certificates):
            raise self._diverged(
                what, where, "it carries a certificate that is not one of its stored chain's"
            )
        gen_time, serial = format_time(info.gen_time), format(info.serial_number, "x")
        if (row.gen_time, row.serial) != (gen_time, serial):
            raise self._diverged(
                what,
                where,
                "its stored genTime or serial is not the token's",
                f"{gen_time} {serial}",
                f"{row.gen_time} {row.serial}",
            )


@dataclass
class CertificateAuditor:
    """Every stored certificate PDF is the one recorded, signed by the notary, and its facts are
    what the stored evidence says (``certificates``: a ``CertificateService``, or None to leave
    the facts out)."""

    blobs: BlobStore
    notary_root: x509.Certificate
    tsa_roots: Sequence[x509.Certificate] = field(default_factory=tuple)
    certificates: Any = None
    name: str = "certificates"
    label: str = "certificates"

    def total(self, db: Database) -> int:
        return count_rows(db, IssuedCertificate.contract_id)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (
            IssuedCertificate.contract_id,
            IssuedCertificate.pdf_sha256,
            IssuedCertificate.pdf_size,
            IssuedCertificate.facts,
        )
        for rows in batches(db, IssuedCertificate.contract_id, columns, size=50):
            for row in rows:
                with findings.item("certificate", f"of contract {row.contract_id}"), db.read() as session:
                    self._check(session, row)
            yield len(rows)

    def _diverged(self, row: Any, message: str, *values: str) -> DivergenceFound:
        return DivergenceFound(
            Divergence(self.name, "certificate", f"of contract {row.contract_id}", message, *values)
        )

    def _check(self, session: Any, row: Any) -> None:
        try:
            pdf = self.blobs.get(session, row.pdf_sha256)
        except NotaryError as exc:
            raise self._diverged(row, "its PDF is missing from the blob store") from exc
        found = hashlib.sha256(pdf).hexdigest()
        if found != row.pdf_sha256 or len(pdf) != row.pdf_size:
            raise self._diverged(
                row, "its PDF does not hash to its recorded SHA-256 and size", row.pdf_sha256, found
            )
        from notary.services.evidence.certificates import facts_from_json

        # Judged when it was signed (its stored issue time), as a court would: not at the
        # audit's present, which may be years after the notary certificate expired.
        signed_at = parse_time(facts_from_json(bytes(row.facts)).issued_at, what="issued_at")
        self._signature(row, pdf, signed_at)
        if self.certificates is not None:
            self._facts(session, row)

    def _signature(self, row: Any, pdf: bytes, signed_at: dt.datetime) -> None:
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext

        def asn1(cert: x509.Certificate) -> Any:
            return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))

        try:
            signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
        except Exception as exc:  # pyHanko's many parse errors: a PDF changed past reading
            raise self._diverged(row, f"its PDF cannot be read ({type(exc).__name__})") from exc
        if len(signatures) != 1:
            raise self._diverged(row, f"its PDF holds {len(signatures)} signatures, not one")
        status = validate_pdf_signature(
            signatures[0],
            signer_validation_context=ValidationContext(
                trust_roots=[asn1(self.notary_root)], moment=signed_at
            ),
            ts_validation_context=ValidationContext(
                trust_roots=[asn1(root) for root in self.tsa_roots], moment=signed_at
            ),
        )
        if not (status.intact and status.valid and status.trusted):
            raise self._diverged(
                row,
                "its PDF signature does not verify "
                f"(intact {status.intact}, valid {status.valid}, trusted {status.trusted})",
            )
        if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise self._diverged(row, "its PDF was changed after it was signed (an incremental update)")

    def _facts(self, session: Any, row: Any) -> None:
        from notary.services.evidence.certificates import facts_from_json, facts_to_json

        stored = facts_from_json(bytes(row.facts))
        contract = session.get(Contract, row.contract_id)
        if contract is None:
            raise self._diverged(row, "its contract is missing")
        again = self.certificates.facts(
            session,
            contract,
            issued_at=stored.issued_at,
            public_url=stored.public_url,
            notary_version=stored.notary_version,
        )
        if again != stored:
            changed = sorted(
                name for name in vars(stored) if getattr(stored, name) != getattr(again, name, None)
            )
            raise self._diverged(
                row,
                f"its stored facts are not what the evidence says: {', '.join(changed) or 'the facts'}",
                hashlib.sha256(facts_to_json(again)).hexdigest(),
                hashlib.sha256(bytes(row.facts)).hexdigest(),
            )


@dataclass
class PartyKeyAuditor:
    """Every stored party key is the key its fingerprint, its enrolment proof and its signatures
    name; likewise every key an operator verified.

    A party's keys are its current one (``parties``) and every key it has had (``party_keys``,
    issue 25: bundles carry the key that signed from there). Each is held to its fingerprint and
    its own enrolment proof over the party's unchanged commitment, and a signature may name any
    of them, never a key the party never had."""

    name: str = "party_keys"
    label: str = "party keys"

    def total(self, db: Database) -> int:
        return count_rows(db, Party.id) + count_rows(db, IdentityVerification.key_fingerprint)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (
            Party.id,
            Party.platform_id,
            Party.public_key_der,
            Party.key_fingerprint,
            Party.algorithm,
            Party.identity_commitment,
            Party.enrol_proof,
        )
        for rows in batches(db, Party.id, columns):
            ids = [row.id for row in rows]
            with db.read() as session:
                signed_with: dict[str, set[str]] = {}
                for party_id, fingerprint in session.execute(
                    select(Signature.party_id, Signature.key_fingerprint).where(Signature.party_id.in_(ids))
                ):
                    signed_with.setdefault(party_id, set()).add(fingerprint)
                had: dict[str, list[Any]] = {}
                for key_row in session.execute(
                    select(
                        PartyKey.party_id,
                        PartyKey.public_key_der,
                        PartyKey.key_fingerprint,
                        PartyKey.algorithm,
                        PartyKey.enrol_proof,
                    ).where(PartyKey.party_id.in_(ids))
                ):
                    had.setdefault(key_row.party_id, []).append(key_row)
            for row in rows:
                with findings.item("party", row.id):
                    self._party(row, signed_with.get(row.id, set()), had.get(row.id, []))
            yield len(rows)
        columns = (
            IdentityVerification.key_fingerprint,
            IdentityVerification.public_key_der,
            IdentityVerification.algorithm,
        )
        for rows in batches(db, IdentityVerification.key_fingerprint, columns):
            for row in rows:
                with findings.item("verified key", row.key_fingerprint):
                    self._key(row, f"verified key {row.key_fingerprint}")
            yield len(rows)

    def _diverged(self, where: str, message: str, *values: str) -> DivergenceFound:
        return DivergenceFound(Divergence(self.name, "key", where, message, *values))

    def _key(self, row: Any, where: str) -> PublicKey:
        try:
            key = PublicKey.from_der(bytes(row.public_key_der))
        except NotaryError as exc:
            raise self._diverged(where, f"its key does not load: {exc.code}: {exc.message}") from exc
        if key.fingerprint != row.key_fingerprint or key.algorithm != row.algorithm:
            raise self._diverged(
                where,
                "its key is not the key its fingerprint names",
                f"{row.key_fingerprint} {row.algorithm}",
                f"{key.fingerprint} {key.algorithm}",
            )
        return key

    def _proven(self, party: Any, row: Any, where: str) -> None:
        """``row``'s key is the key its fingerprint names and its enrolment proof, if it has
        one, verifies with it over ``party``'s commitment."""
        key = self._key(row, where)
        if row.enrol_proof is None:
            return
        payload = payloads.enrol_payload_v2(
            platform_id=party.platform_id,
            key_fingerprint=row.key_fingerprint,
            identity_commitment=party.identity_commitment,
        )
        try:
            key.verify(bytes(row.enrol_proof), payload)
        except NotaryError as exc:
            raise self._diverged(
                where, "its enrolment proof does not verify with its key over its commitment"
            ) from exc

    def _party(self, row: Any, signed_with: set[str], had: Sequence[Any]) -> None:
        where = f"of party {row.id}"
        self._proven(row, row, where)
        for key_row in had:
            self._proven(row, key_row, f"{key_row.key_fingerprint} of party {row.id}")
        known = {row.key_fingerprint} | {key_row.key_fingerprint for key_row in had}
        if others := sorted(signed_with - known):
            raise self._diverged(
                where, "a signature of this party names another key", row.key_fingerprint, others[0]
            )
