"""瞒报 reports: the payload a person signs, the report the notary stores, its log leaf, and the
evidence of a report in a case export.

A person whose check found that a platform did not file a contract it holds signs a report
with its own key. The notary stores it and logs a leaf naming its SHA-256, so no report can be
dropped quietly. Every object is RFC 8785 canonical JSON; ``docs/payloads.md`` gives the bytes
and a worked example:

- payload (signed, purpose ``notary.report.v1``): ``{"claimed": {…}, "document_sha256",
  "key_fingerprint", "platform_id", "purpose", "reported_at"}``;
- stored report (its SHA-256 is the leaf's ``report_sha256``): ``{"algorithm", "lodged_at",
  "payload": {…as signed}, "public_key": <base64 DER SPKI>, "report_id", "signature"}``;
- leaf (format ``notary-report/1``): ``{"format", "lodged_at", "platform_id",
  "previous_record_sha256", "report_id", "report_sha256", "sequence"}``;
- evidence (``reports/<report_id>.json`` in a case export, format
  ``notary-report-evidence/1``): ``{"checkpoint": <signed note text>, "format", "inclusion":
  {"hashes", "leaf_index", "tree_size"}, "leaf": {…}, "report": {…}}``: the report, its leaf,
  and the leaf's inclusion in a signed checkpoint, so a court checks it offline.

Pure: standard library, ``cryptography`` through :mod:`notary.verify.keys`, and this package.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.encoding import b64decode, b64encode
from notary.verify.errors import InvalidSignature, MalformedInput, NotaryError, VerificationError
from notary.verify.keys import PublicKey
from notary.verify.merkle.proofs import leaf_hash, verify_inclusion
from notary.verify.note import NoteVerifierKey, verify_checkpoint
from notary.verify.times import parse_rfc3339

__all__ = [
    "CLAIMED_FIELDS",
    "PURPOSE_REPORT",
    "REPORT_EVIDENCE_FORMAT",
    "REPORT_LEAF_FORMAT",
    "BadReportSignature",
    "MalformedReport",
    "ReportEvidence",
    "ReportLeaf",
    "ReportLeafMismatch",
    "ReportPayload",
    "StoredReport",
    "parse_report_evidence",
    "parse_report_leaf",
    "parse_report_payload",
    "parse_stored_report",
    "report_evidence",
    "report_leaf",
    "report_payload",
    "stored_report",
    "verify_report_evidence",
]

PURPOSE_REPORT = "notary.report.v1"
REPORT_LEAF_FORMAT = "notary-report/1"
REPORT_EVIDENCE_FORMAT = "notary-report-evidence/1"
CLAIMED_FIELDS = frozenset(
    {"amount", "annual_rate", "currency", "external_ref", "start_date", "term_months", "title"}
)
_PAYLOAD_FIELDS = frozenset(
    {"claimed", "document_sha256", "key_fingerprint", "platform_id", "purpose", "reported_at"}
)
_STORED_FIELDS = frozenset({"algorithm", "lodged_at", "payload", "public_key", "report_id", "signature"})
_LEAF_FIELDS = frozenset(
    {"format", "lodged_at", "platform_id", "previous_record_sha256", "report_id", "report_sha256", "sequence"}
)
_EVIDENCE_FIELDS = frozenset({"checkpoint", "format", "inclusion", "leaf", "report"})
_INCLUSION_FIELDS = frozenset({"hashes", "leaf_index", "tree_size"})
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_ID = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)
_SERVICE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)


class MalformedReport(MalformedInput):
    """A report, its payload, its leaf or its evidence is not the canonical JSON the format defines."""

    code = "malformed_report"


class BadReportSignature(InvalidSignature):
    """The report's signature does not verify over its payload with the reporter's key."""

    code = "bad_report_signature"


class ReportLeafMismatch(VerificationError):
    """The logged leaf does not name the report beside it (another report, a changed one)."""

    code = "report_leaf_mismatch"


def report_payload(
    *,
    platform_id: str,
    document_sha256: str,
    key_fingerprint: str,
    reported_at: str,
    claimed: Mapping[str, Any] | None = None,
) -> bytes:
    """What a reporter signs (``notary.report.v1``)."""
    return canonical_json(
        {
            "claimed": dict(claimed or {}),
            "document_sha256": document_sha256,
            "key_fingerprint": key_fingerprint,
            "platform_id": platform_id,
            "purpose": PURPOSE_REPORT,
            "reported_at": reported_at,
        }
    )


def stored_report(
    *, report_id: str, lodged_at: str, payload: bytes, public_key: PublicKey, signature: bytes
) -> bytes:
    """The report as the notary stores, logs (by its SHA-256) and exports it."""
    return canonical_json(
        {
            "algorithm": public_key.algorithm,
            "lodged_at": lodged_at,
            "payload": parse_canonical_json(payload, what="the report payload"),
            "public_key": b64encode(public_key.spki_der),
            "report_id": report_id,
            "signature": b64encode(signature),
        }
    )


def report_leaf(
    *,
    sequence: int,
    previous_record_sha256: str,
    report_id: str,
    report_sha256: str,
    platform_id: str,
    lodged_at: str,
) -> bytes:
    """The log leaf of a lodged report (format ``notary-report/1``)."""
    return canonical_json(
        {
            "format": REPORT_LEAF_FORMAT,
            "lodged_at": lodged_at,
            "platform_id": platform_id,
            "previous_record_sha256": previous_record_sha256,
            "report_id": report_id,
            "report_sha256": report_sha256,
            "sequence": sequence,
        }
    )


def report_evidence(
    *, report: bytes, leaf: bytes, leaf_index: int, tree_size: int, proof: Iterable[bytes], checkpoint: str
) -> bytes:
    """``reports/<report_id>.json`` of a case export: the report, its leaf, and the leaf's
    inclusion in the signed ``checkpoint`` of ``tree_size``."""
    return canonical_json(
        {
            "checkpoint": checkpoint,
            "format": REPORT_EVIDENCE_FORMAT,
            "inclusion": {
                "hashes": [h.hex() for h in proof],
                "leaf_index": leaf_index,
                "tree_size": tree_size,
            },
            "leaf": parse_canonical_json(leaf, what="the report's leaf"),
            "report": parse_canonical_json(report, what="the report"),
        }
    )


@dataclass(frozen=True)
class ReportPayload:
    platform_id: str
    document_sha256: str
    key_fingerprint: str
    reported_at: str
    claimed: Mapping[str, Any]


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    lodged_at: str
    algorithm: str
    public_key: PublicKey
    signature: bytes
    payload_bytes: bytes
    payload: ReportPayload
    sha256: str

    def verify(self) -> None:
        """The signature over the payload, with the reporter's key; raises :class:`BadReportSignature`."""
        try:
            self.public_key.verify(self.signature, self.payload_bytes)
        except InvalidSignature as exc:
            raise BadReportSignature(
                "the report's signature does not verify with the reporter's key"
            ) from exc


@dataclass(frozen=True)
class ReportLeaf:
    sequence: int
    previous_record_sha256: str
    report_id: str
    report_sha256: str
    platform_id: str
    lodged_at: str


@dataclass(frozen=True)
class ReportEvidence:
    report: StoredReport
    leaf: ReportLeaf
    leaf_bytes: bytes
    tree_size: int
    proof: tuple[bytes, ...]
    checkpoint: str


def _object(data: bytes | Mapping[str, Any], fields: frozenset[str], what: str) -> dict[str, Any]:
    try:
        value = parse_canonical_json(data, what=what) if isinstance(data, bytes) else dict(data)
    except MalformedInput as exc:
        raise MalformedReport(exc.message) from exc
    if not isinstance(value, dict):
        raise MalformedReport(f"{what} is not a JSON object")
    if set(value) != fields:
        raise MalformedReport(
            f"{what} must hold exactly {', '.join(sorted(fields))}",
            details={"unknown": sorted(set(value) - fields), "missing": sorted(fields - set(value))},
        )
    return value


def _text(value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise MalformedReport(f"{what} is not of its form")
    return value


def parse_report_payload(data: bytes | Mapping[str, Any]) -> ReportPayload:
    """A ``notary.report.v1`` payload, strictly: exactly its fields, canonical; raises
    :class:`MalformedReport`. (The claimed terms' grammar is checked where a report is lodged.)"""
    value = _object(data, _PAYLOAD_FIELDS, "the report payload")
    if value["purpose"] != PURPOSE_REPORT:
        raise MalformedReport(f"the report payload's purpose is not {PURPOSE_REPORT}")
    claimed = value["claimed"]
    if not isinstance(claimed, dict) or not set(claimed) <= CLAIMED_FIELDS:
        raise MalformedReport(f"claimed is an object of {', '.join(sorted(CLAIMED_FIELDS))}")
    for name, item in claimed.items():
        if not isinstance(item, int if name == "term_months" else str) or isinstance(item, bool):
            raise MalformedReport(f"claimed.{name} is not of its type")
    try:
        parse_rfc3339(value["reported_at"], what="reported_at")
    except MalformedInput as exc:
        raise MalformedReport(exc.message) from exc
    return ReportPayload(
        platform_id=_text(value["platform_id"], _ID, "platform_id"),
        document_sha256=_text(value["document_sha256"], _HEX64, "document_sha256"),
        key_fingerprint=_text(value["key_fingerprint"], _HEX64, "key_fingerprint"),
        reported_at=value["reported_at"],
        claimed=MappingProxyType(dict(claimed)),
    )


def parse_stored_report(data: bytes | Mapping[str, Any]) -> StoredReport:
    """A stored report, strictly; raises :class:`MalformedReport` (also when the public key is not
    the one the payload names). Its signature is checked by :meth:`StoredReport.verify`."""
    value = _object(data, _STORED_FIELDS, "the report")
    payload = parse_report_payload(value["payload"] if isinstance(value["payload"], dict) else b"")
    payload_bytes = canonical_json(value["payload"])
    try:
        public_key = PublicKey.from_der(b64decode(value["public_key"], what="public_key"))
        signature = b64decode(value["signature"], what="signature")
    except NotaryError as exc:
        raise MalformedReport(exc.message) from exc
    if public_key.fingerprint != payload.key_fingerprint:
        raise MalformedReport("the report's public key is not the key its payload names")
    if value["algorithm"] != public_key.algorithm:
        raise MalformedReport("the report's algorithm is not its key's")
    whole = canonical_json(value)
    return StoredReport(
        report_id=_text(value["report_id"], _ID, "report_id"),
        lodged_at=_text(value["lodged_at"], _SERVICE_TIME, "lodged_at"),
        algorithm=public_key.algorithm,
        public_key=public_key,
        signature=signature,
        payload_bytes=payload_bytes,
        payload=payload,
        sha256=hashlib.sha256(whole).hexdigest(),
    )


def parse_report_leaf(data: bytes | Mapping[str, Any]) -> ReportLeaf:
    """A ``notary-report/1`` leaf, strictly; raises :class:`MalformedReport`."""
    value = _object(data, _LEAF_FIELDS, "the report leaf")
    if value["format"] != REPORT_LEAF_FORMAT:
        raise MalformedReport(f"the leaf's format is not {REPORT_LEAF_FORMAT}")
    sequence = value["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise MalformedReport("the leaf's sequence is not a leaf index")
    return ReportLeaf(
        sequence=sequence,
        previous_record_sha256=_text(value["previous_record_sha256"], _HEX64, "previous_record_sha256"),
        report_id=_text(value["report_id"], _ID, "report_id"),
        report_sha256=_text(value["report_sha256"], _HEX64, "report_sha256"),
        platform_id=_text(value["platform_id"], _ID, "platform_id"),
        lodged_at=_text(value["lodged_at"], _SERVICE_TIME, "lodged_at"),
    )


def parse_report_evidence(data: bytes) -> ReportEvidence:
    """``reports/<report_id>.json`` of a case export, strictly; raises :class:`MalformedReport`."""
    value = _object(data, _EVIDENCE_FIELDS, "the report evidence")
    if value["format"] != REPORT_EVIDENCE_FORMAT:
        raise MalformedReport(f"the report evidence's format is not {REPORT_EVIDENCE_FORMAT}")
    if not isinstance(value["report"], dict) or not isinstance(value["leaf"], dict):
        raise MalformedReport("report and leaf are JSON objects")
    inclusion = _object(
        value["inclusion"] if isinstance(value["inclusion"], dict) else {}, _INCLUSION_FIELDS, "inclusion"
    )
    hashes = inclusion["hashes"]
    if not isinstance(hashes, list) or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
        raise MalformedReport("inclusion.hashes is a list of 64 lowercase hex digits each")
    tree_size = inclusion["tree_size"]
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or tree_size < 1:
        raise MalformedReport("inclusion.tree_size is a tree size")
    if not isinstance(value["checkpoint"], str):
        raise MalformedReport("checkpoint is the signed note's text")
    report = parse_stored_report(value["report"])
    leaf = parse_report_leaf(value["leaf"])
    if inclusion["leaf_index"] != leaf.sequence:
        raise MalformedReport("inclusion.leaf_index is not the leaf's sequence")
    return ReportEvidence(
        report=report,
        leaf=leaf,
        leaf_bytes=canonical_json(value["leaf"]),
        tree_size=tree_size,
        proof=tuple(bytes.fromhex(h) for h in hashes),
        checkpoint=value["checkpoint"],
    )


def verify_report_evidence(
    evidence: ReportEvidence, verifier_keys: Iterable[NoteVerifierKey], *, origin: str
) -> None:
    """Check a report's evidence offline, in this order: the reporter's signature over the
    payload; the leaf names this report (id, SHA-256, platform, time); the checkpoint is signed
    by a trusted log key of ``origin``; the leaf is included in it.

    Raises :class:`BadReportSignature`, :class:`ReportLeafMismatch`, then what
    :func:`~notary.verify.note.verify_checkpoint` and :func:`~notary.verify.merkle.proofs.verify_inclusion` raise.
    """
    report, leaf = evidence.report, evidence.leaf
    report.verify()
    differs = [
        name
        for name, stored, logged in (
            ("report_id", report.report_id, leaf.report_id),
            ("report_sha256", report.sha256, leaf.report_sha256),
            ("platform_id", report.payload.platform_id, leaf.platform_id),
            ("lodged_at", report.lodged_at, leaf.lodged_at),
        )
        if stored != logged
    ]
    if differs:
        raise ReportLeafMismatch(
            f"the leaf does not name this report: {', '.join(differs)} differ", details={"fields": differs}
        )
    verified = verify_checkpoint(evidence.checkpoint, verifier_keys, origin=origin)
    if verified.checkpoint.size != evidence.tree_size:
        raise ReportLeafMismatch("the inclusion proof is not for the checkpoint's tree size")
    verify_inclusion(
        leaf_hash=leaf_hash(evidence.leaf_bytes),
        leaf_index=leaf.sequence,
        tree_size=evidence.tree_size,
        proof=evidence.proof,
        root=verified.checkpoint.root_hash,
    )
