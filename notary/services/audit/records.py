"""Checks of ``notary audit`` that tie rows together: each sealed contract against its record,
the audit trail's chain, and the audit heads written into the log against the trail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from notary.services.audit.auditor import (
    Divergence,
    DivergenceFound,
    Findings,
    batches,
    count_rows,
    parse_object,
)
from notary.services.audit.trail import AUDIT_FORMAT, AUDIT_HEAD_FORMAT
from notary.services.ceremony.signatures import SEALED
from notary.services.tlog.sequencer import record_builder
from notary.storage.access_models import AuditAnchor, AuditEntry
from notary.storage.db import Database
from notary.storage.models import Contract, LogLeaf, Signature
from notary.verify import payloads
from notary.verify.errors import MalformedInput


def _differences(expected: Any, found: Any, prefix: str = "") -> list[str]:
    """The dotted paths at which two parsed JSON values differ."""
    if isinstance(expected, dict) and isinstance(found, dict):
        paths = []
        for key in sorted(set(expected) | set(found)):
            paths += _differences(expected.get(key), found.get(key), f"{prefix}{key}.")
        return paths
    return [] if expected == found else [prefix.rstrip(".") or "(whole record)"]


@dataclass
class ContractRecordAuditor:
    """Each contract's terms hash to ``terms_sha256``; each sealed contract's record is exactly the
    record rebuilt from its stored contract and signature rows.
    """

    name: str = "contract_records"
    label: str = "contracts"

    def total(self, db: Database) -> int:
        return count_rows(db, Contract.id)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (
            Contract.id, Contract.platform_id, Contract.status, Contract.document_sha256,
            Contract.document_size, Contract.media_type, Contract.terms_json, Contract.terms_sha256,
            Contract.received_at, Contract.closed_at, Contract.record_sequence,
        )  # fmt: skip
        for rows in batches(db, Contract.id, columns, size=200):
            sealed = [row for row in rows if row.record_sequence is not None]
            with db.read() as session:
                signatures: dict[str, dict[str, Any]] = {}
                for act in session.execute(
                    select(Signature).where(
                        Signature.contract_id.in_([row.id for row in sealed]),
                        Signature.purpose == payloads.PURPOSE_SIGN,
                    )
                ).scalars():
                    signatures.setdefault(act.contract_id, {})[act.role] = act
                own = session.execute(
                    select(LogLeaf.sequence, LogLeaf.contract_id, LogLeaf.format, LogLeaf.record).where(
                        LogLeaf.sequence.in_([row.record_sequence for row in sealed])
                    )
                ).all()
                previous = session.execute(
                    select(LogLeaf.sequence, LogLeaf.record_sha256).where(
                        LogLeaf.sequence.in_([row.record_sequence - 1 for row in sealed])
                    )
                ).all()
            leaves = {leaf.sequence: leaf for leaf in own}
            previous_sha256 = {leaf.sequence: leaf.record_sha256 for leaf in previous}
            for row in rows:
                with findings.item("contract", row.id):
                    self._check(row, signatures.get(row.id, {}), leaves, previous_sha256)
            yield len(rows)

    def _check(
        self, row: Any, signatures: dict[str, Any], leaves: dict[int, Any], previous: dict[int, str]
    ) -> None:
        where = row.id
        found = hashlib.sha256(row.terms_json).hexdigest()
        if found != row.terms_sha256:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "contract",
                    where,
                    "its terms do not hash to terms_sha256",
                    row.terms_sha256,
                    found,
                )
            )
        if row.record_sequence is None:
            if row.status == SEALED:
                raise DivergenceFound(
                    Divergence(self.name, "contract", where, "sealed, but no record is linked")
                )
            return
        leaf = leaves.get(row.record_sequence)
        if leaf is None or leaf.contract_id != row.id:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "contract",
                    where,
                    f"log leaf {row.record_sequence} is not this contract's record",
                )
            )
        sequence = row.record_sequence
        previous_sha256 = payloads.GENESIS_SHA256 if sequence == 0 else previous.get(sequence - 1, "")
        record_format = leaf.format if leaf.format in payloads.RECORD_FORMATS else payloads.RECORD_FORMAT_V2
        rebuilt = record_builder(row, signatures, row.closed_at or "", record_format)(
            sequence, previous_sha256
        )
        if rebuilt == bytes(leaf.record):
            return
        try:
            fields = _differences(parse_object(rebuilt, "rebuilt"), parse_object(leaf.record, "the record"))
        except MalformedInput:
            fields = ["(the stored record is not JSON)"]
        raise DivergenceFound(
            Divergence(
                self.name, "contract", where,
                f"its record (log leaf {sequence}) disagrees with the stored contract in: {', '.join(fields)}",
            )
        )  # fmt: skip


@dataclass
class AuditChainAuditor:
    """The audit trail: each entry hashes to ``entry_sha256``, names its sequence and the SHA-256
    of the previous entry's bytes, and its searchable columns agree with its bytes.
    """

    name: str = "audit_chain"
    label: str = "audit trail"

    def total(self, db: Database) -> int:
        return count_rows(db, AuditEntry.sequence)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        expected, previous = 0, payloads.GENESIS_SHA256
        columns = (
            AuditEntry.sequence, AuditEntry.previous_sha256, AuditEntry.entry_sha256, AuditEntry.entry,
            AuditEntry.at, AuditEntry.actor_kind, AuditEntry.actor_id, AuditEntry.action,
            AuditEntry.object_id, AuditEntry.case_id,
        )  # fmt: skip
        for rows in batches(db, AuditEntry.sequence, columns):
            for row in rows:
                with findings.item("audit entry", expected):
                    self._check(row, expected, previous)
                # Go on from this entry whatever it holds: --all names each broken link once.
                previous = str(row.entry_sha256)
                expected += 1
            yield len(rows)

    def _check(self, row: Any, expected: int, previous: str) -> str:
        where = str(expected)

        def diverged(message: str, wanted: object = None, found: object = None) -> DivergenceFound:
            return DivergenceFound(
                Divergence(
                    self.name, "audit entry", where, message,
                    None if wanted is None else str(wanted), None if found is None else str(found),
                )
            )  # fmt: skip

        if row.sequence != expected:
            raise diverged("a gap in the audit trail", expected, row.sequence)
        digest = hashlib.sha256(row.entry).hexdigest()
        if digest != row.entry_sha256:
            raise diverged("its bytes do not hash to entry_sha256", row.entry_sha256, digest)
        try:
            entry = parse_object(row.entry, "the audit entry")
        except MalformedInput as exc:
            raise diverged(exc.message) from exc
        if entry.get("format") != AUDIT_FORMAT or entry.get("sequence") != expected:
            raise diverged("it names another format or sequence", expected, entry.get("sequence"))
        if entry.get("previous_sha256") != previous or row.previous_sha256 != previous:
            raise diverged(
                "it does not name the SHA-256 of the previous entry", previous, entry.get("previous_sha256")
            )
        actor, obj = entry.get("actor") or {}, entry.get("object") or {}
        columns = {
            "at": (row.at, entry.get("at")),
            "actor_kind": (row.actor_kind, actor.get("kind")),
            "actor_id": (row.actor_id, actor.get("id")),
            "action": (row.action, entry.get("action")),
            "object_id": (row.object_id, obj.get("id")),
            "case_id": (row.case_id, entry.get("case_id")),
        }
        for column, (stored, in_entry) in columns.items():
            if stored != in_entry:
                raise diverged(f"column {column} disagrees with the entry's bytes", in_entry, stored)
        return digest


@dataclass
class AnchorAuditor:
    """Each audit head written into the log still matches the audit trail at that sequence."""

    name: str = "audit_anchors"
    label: str = "audit heads in the log"

    def total(self, db: Database) -> int:
        return count_rows(db, LogLeaf.sequence, LogLeaf.format == AUDIT_HEAD_FORMAT)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        columns = (LogLeaf.sequence, LogLeaf.record)
        for rows in batches(db, LogLeaf.sequence, columns, LogLeaf.format == AUDIT_HEAD_FORMAT):
            heads = {}
            for row in rows:
                with findings.item("log leaf", row.sequence):
                    try:
                        heads[row.sequence] = parse_object(row.record, "the audit head leaf")
                    except MalformedInput as exc:
                        raise DivergenceFound(
                            Divergence(self.name, "log leaf", str(row.sequence), exc.message)
                        ) from exc
            wanted = [head.get("audit_sequence") for head in heads.values()]
            with db.read() as session:
                entries = dict(
                    session.execute(
                        select(AuditEntry.sequence, AuditEntry.entry).where(AuditEntry.sequence.in_(wanted))
                    ).all()
                )
                anchors = dict(
                    session.execute(
                        select(AuditAnchor.leaf_sequence, AuditAnchor.audit_head_sha256).where(
                            AuditAnchor.leaf_sequence.in_(list(heads))
                        )
                    ).all()
                )
            for sequence, head in heads.items():
                with findings.item("log leaf", sequence):
                    self._check(sequence, head, entries, anchors)
            yield len(rows)

    def _check(
        self, sequence: int, head: dict[str, Any], entries: dict[int, bytes], anchors: dict[int, str]
    ) -> None:
        where = str(sequence)
        entry = entries.get(head.get("audit_sequence"))  # type: ignore[arg-type]
        if entry is None:
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where, f"audit entry {head.get('audit_sequence')} is missing"
                )
            )
        digest = hashlib.sha256(entry).hexdigest()
        if digest != head.get("audit_head_sha256"):
            raise DivergenceFound(
                Divergence(
                    self.name, "log leaf", where,
                    f"audit entry {head.get('audit_sequence')} is not the one whose head the log holds",
                    str(head.get("audit_head_sha256")), digest,
                )
            )  # fmt: skip
        if anchors.get(sequence) != digest:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "the audit_anchors row disagrees with the leaf",
                    digest,
                    anchors.get(sequence),
                )
            )
