"""Checks of ``notary audit`` over the stored bytes: documents, log leaves, the record chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from notary.services.audit.auditor import (
    Divergence,
    DivergenceFound,
    Findings,
    batches,
    count_rows,
    parse_object,
)
from notary.storage.blobs import BlobStore
from notary.storage.db import Database
from notary.storage.models import Contract, LogLeaf
from notary.verify import payloads
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.leaves import parse_leaf
from notary.verify.merkle.proofs import leaf_hash


@dataclass
class DocumentAuditor:
    """Every contract's document is in the blob store and its bytes hash to its address."""

    blobs: BlobStore
    name: str = "documents"
    label: str = "documents"

    def total(self, db: Database) -> int:
        return count_rows(db, Contract.id)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (Contract.id, Contract.document_sha256, Contract.document_size)
        for rows in batches(db, Contract.id, columns, size=100):
            for row in rows:
                with findings.item("document", f"of contract {row.id}"), db.read() as session:
                    self._check(session, row)
            yield len(rows)

    def _check(self, session: Session, row: Any) -> None:
        where = f"{row.document_sha256} (contract {row.id})"
        try:
            data = self.blobs.get(session, row.document_sha256)
        except NotaryError as exc:
            raise DivergenceFound(
                Divergence(self.name, "document", where, "missing from the blob store")
            ) from exc
        found = hashlib.sha256(data).hexdigest()
        if found != row.document_sha256:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "document",
                    where,
                    "its bytes do not hash to its address",
                    row.document_sha256,
                    found,
                )
            )
        if len(data) != row.document_size:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "document",
                    where,
                    "its size differs from the contract's",
                    str(row.document_size),
                    str(len(data)),
                )
            )


@dataclass
class LeafAuditor:
    """Each log leaf's ``record_sha256`` and ``leaf_hash`` re-derived from its bytes."""

    name: str = "log_leaves"
    label: str = "log leaves"

    def total(self, db: Database) -> int:
        return count_rows(db, LogLeaf.sequence)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (LogLeaf.sequence, LogLeaf.format, LogLeaf.record, LogLeaf.record_sha256, LogLeaf.leaf_hash)
        for rows in batches(db, LogLeaf.sequence, columns):
            for row in rows:
                with findings.item("log leaf", row.sequence):
                    self._check(row)
            yield len(rows)

    def _check(self, row: Any) -> None:
        where = str(row.sequence)
        found = hashlib.sha256(row.record).hexdigest()
        if found != row.record_sha256:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "its record does not hash to record_sha256",
                    row.record_sha256,
                    found,
                )
            )
        derived = leaf_hash(row.record)
        if derived != bytes(row.leaf_hash):
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "leaf_hash is not SHA-256(0x00 || record)",
                    derived.hex(),
                    bytes(row.leaf_hash).hex(),
                )
            )
        try:
            # Every leaf is of a kind the registry holds, and its kind's parser reads it.
            record_format, _ = parse_leaf(bytes(row.record))
        except MalformedInput as exc:
            raise DivergenceFound(
                Divergence(self.name, "log leaf", where, f"{exc.code}: {exc.message}")
            ) from exc
        if record_format != row.format:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "the record's format differs from the stored one",
                    row.format,
                    str(record_format),
                )
            )


@dataclass
class ChainAuditor:
    """The hash chain: leaf ``n`` has ``sequence`` n and names the SHA-256 of leaf ``n-1``'s bytes."""

    name: str = "record_chain"
    label: str = "record chain"

    def total(self, db: Database) -> int:
        return count_rows(db, LogLeaf.sequence)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        expected, previous = 0, payloads.GENESIS_SHA256
        for rows in batches(db, LogLeaf.sequence, (LogLeaf.sequence, LogLeaf.record)):
            for row in rows:
                with findings.item("log leaf", expected):
                    self._link(row, expected, previous)
                # Go on from this leaf whatever it holds, so that --all names each broken link once.
                expected = row.sequence + 1 if isinstance(row.sequence, int) else expected + 1
                previous = (
                    hashlib.sha256(bytes(row.record)).hexdigest() if isinstance(row.record, bytes) else ""
                )
            yield len(rows)

    def _link(self, row: Any, expected: int, previous: str) -> None:
        where = str(expected)
        if row.sequence != expected:
            raise DivergenceFound(
                Divergence(self.name, "log leaf", where, "a gap in the log", str(expected), str(row.sequence))
            )
        try:
            record = parse_object(row.record, "the record")
        except MalformedInput as exc:
            raise DivergenceFound(Divergence(self.name, "log leaf", where, exc.message)) from exc
        if record.get("sequence") != expected:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "the record names another sequence",
                    str(expected),
                    str(record.get("sequence")),
                )
            )
        if record.get("previous_record_sha256") != previous:
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where, "previous_record_sha256 is not the SHA-256 of the previous leaf",
                    previous, str(record.get("previous_record_sha256")),
                )
            )  # fmt: skip
