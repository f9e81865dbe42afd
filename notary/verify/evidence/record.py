"""The evidence record (``record.json``, formats ``notary-record/1`` and ``/2``), parsed strictly.

A record is the log leaf of a sealed contract, byte for byte. It is accepted only in the exact
form the notary writes (see payloads.md): canonical JSON, exactly the fields of its format,
each of its type and text form. Anything else is a changed record, not a variant to tolerate.
From a parsed record alone each party's signing payload is rebuilt, so a verifier needs
nothing from the service to check the signatures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from notary.verify.canonical import parse_canonical_json
from notary.verify.encoding import b64decode
from notary.verify.errors import MalformedInput
from notary.verify.keys import ALGORITHMS, ECDSA_P256, ED25519
from notary.verify.merkle.proofs import leaf_hash
from notary.verify.payloads import (
    GENESIS_SHA256,
    PURPOSE_SIGN,
    RECORD_FORMAT_V2,
    RECORD_FORMATS,
    ROLES,
    contract_payload,
    enrol_payload_v2,
)

__all__ = [
    "IDENTITY_ASSURANCES",
    "EvidenceRecord",
    "MalformedRecord",
    "RecordSignature",
    "UnknownRecordFormat",
    "parse_record",
    "parse_time",
]

IDENTITY_ASSURANCES = ("platform", "verified")
MAX_ID_LENGTH = 200
#: JSON integers beyond 2**53 lose precision in other languages' parsers.
MAX_SAFE_INTEGER = 2**53 - 1

_RECORD_FIELDS = frozenset(
    {
        "format",
        "sequence",
        "previous_record_sha256",
        "contract_id",
        "platform_id",
        "document_sha256",
        "document_size",
        "media_type",
        "terms_sha256",
        "signatures",
        "received_at",
        "sealed_at",
    }
)
_SIGNATURE_FIELDS = frozenset(
    {
        "party_id",
        "key_fingerprint",
        "identity_sha256",
        "identity_assurance",
        "algorithm",
        "signature",
        "signed_at",
    }
)
#: record/2: the salted commitment instead of the unsalted hash, and optionally the signing
#: key's own ``notary.enrol.v2`` proof over it (docs/formats.md section 2).
_SIGNATURE_FIELDS_V2 = (_SIGNATURE_FIELDS - {"identity_sha256"}) | {"identity_commitment"}
_OPTIONAL_V2 = frozenset({"enrolment_proof"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MalformedRecord(MalformedInput):
    """``record.json`` is not a well-formed ``notary-record/1`` or ``/2`` record."""

    code = "malformed_record"


class UnknownRecordFormat(MalformedRecord):
    """A record (log leaf) of a format this verifier does not know: refused, never guessed at."""

    code = "unknown_record_format"


def parse_time(text: object, *, what: str = "time") -> dt.datetime:
    """A time as the service writes it (``2026-12-01T08:00:01.250Z``); raises :class:`MalformedInput`."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise MalformedInput(f"{what} must be RFC 3339 UTC with milliseconds, like 2026-12-01T08:00:01.250Z")
    try:
        return dt.datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise MalformedInput(f"{what} is not a valid date and time") from exc


@dataclass(frozen=True)
class RecordSignature:
    """One role's signature as logged: who, with which key, what assurance, and when."""

    role: str
    party_id: str
    key_fingerprint: str
    #: record/1: the unsalted ``identity_sha256``; record/2: the salted ``identity_commitment``.
    identity_digest: str
    identity_assurance: str
    algorithm: str
    signature: bytes
    signed_at: str
    #: record/2 only, and absent for a party enrolled before record/2.
    enrolment_proof: bytes | None = None
    salted: bool = True

    @property
    def identity_commitment(self) -> str | None:
        """The salted commitment (record/2), or None for a record/1's unsalted hash."""
        return self.identity_digest if self.salted else None

    @property
    def identity_sha256(self) -> str | None:
        """Round 1's unsalted hash (record/1), or None."""
        return None if self.salted else self.identity_digest


@dataclass(frozen=True)
class EvidenceRecord:
    """A parsed ``notary-record/1`` or ``/2`` record. Build it with :func:`parse_record`."""

    raw: bytes
    format: str
    sequence: int
    previous_record_sha256: str
    contract_id: str
    platform_id: str
    document_sha256: str
    document_size: int
    media_type: str
    terms_sha256: str
    signatures: Mapping[str, RecordSignature]
    received_at: str
    sealed_at: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the record bytes: the imprint of its timestamp, the key of ``/r/``."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def leaf_hash(self) -> bytes:
        """The Merkle leaf hash, SHA-256(0x00 ‖ record bytes)."""
        return leaf_hash(self.raw)

    def enrolment_payload(self, role: str) -> bytes | None:
        """The ``notary.enrol.v2`` bytes ``role``'s key signed, rebuilt from this record; None for
        a record/1 (its identity is an unsalted hash, not a commitment)."""
        signature = self.signatures[role]
        if signature.identity_commitment is None:
            return None
        return enrol_payload_v2(
            platform_id=self.platform_id,
            key_fingerprint=signature.key_fingerprint,
            identity_commitment=signature.identity_commitment,
        )

    def signing_payload(self, role: str) -> bytes:
        """The exact ``notary.sign.v1`` bytes that ``role`` signed, rebuilt from this record.

        Raises ``KeyError`` for a role the record does not hold (it always holds both).
        """
        signature = self.signatures[role]
        return contract_payload(
            purpose=PURPOSE_SIGN,
            contract_id=self.contract_id,
            platform_id=self.platform_id,
            role=role,
            party_id=signature.party_id,
            document_sha256=self.document_sha256,
            terms_sha256=self.terms_sha256,
        )


def _object(
    value: object, fields: frozenset[str], what: str, optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{what} must be a JSON object")
    missing, unknown = sorted(fields - value.keys()), sorted(value.keys() - fields - optional)
    if missing or unknown:
        raise MalformedRecord(
            f"{what} must hold exactly its fields"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else ""),
            details={"missing": missing, "unknown": unknown},
        )
    return value


def _hex64(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise MalformedRecord(f"{what} must be 64 lowercase hex digits", details={"field": what})
    return value


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH or _CONTROL.search(value):
        raise MalformedRecord(
            f"{what} must be a non-empty id without control characters", details={"field": what}
        )
    return value


def _count(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SAFE_INTEGER:
        raise MalformedRecord(f"{what} must be an integer from {minimum} to 2**53-1", details={"field": what})
    return value


def _time(value: object, what: str) -> str:
    try:
        parse_time(value, what=what)
    except MalformedInput as exc:
        raise MalformedRecord(exc.message, details={"field": what}) from exc
    assert isinstance(value, str)
    return value


def _choice(value: object, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise MalformedRecord(f"{what} must be one of {', '.join(choices)}", details={"field": what})
    return value


def _signature_bytes(value: object, algorithm: str, what: str) -> bytes:
    try:
        raw = b64decode(value if isinstance(value, str) else b"\x00", what=what)
    except MalformedInput as exc:
        raise MalformedRecord(exc.message, details={"field": what}) from exc
    if algorithm == ED25519:
        if len(raw) != 64:
            raise MalformedRecord(f"{what}: an Ed25519 signature is 64 bytes", details={"field": what})
        return raw
    # ECDSA is logged as DER only, and DER has one encoding per signature.
    try:
        r, s = decode_dss_signature(raw)
    except ValueError as exc:
        raise MalformedRecord(
            f"{what}: an ECDSA signature is logged as DER", details={"field": what}
        ) from exc
    if encode_dss_signature(r, s) != raw:
        raise MalformedRecord(f"{what}: ECDSA signature is not in DER form", details={"field": what})
    return raw


def _signature(role: str, value: object, record_format: str) -> RecordSignature:
    where = f"signatures.{role}"
    salted = record_format == RECORD_FORMAT_V2
    if salted:
        entry = _object(value, _SIGNATURE_FIELDS_V2, where, _OPTIONAL_V2)
        digest_field = "identity_commitment"
    else:
        entry = _object(value, _SIGNATURE_FIELDS, where)
        digest_field = "identity_sha256"
    algorithm = _choice(entry["algorithm"], ALGORITHMS, f"{where}.algorithm")
    assert algorithm in (ED25519, ECDSA_P256)
    proof = None
    if "enrolment_proof" in entry:
        proof = _signature_bytes(entry["enrolment_proof"], algorithm, f"{where}.enrolment_proof")
    return RecordSignature(
        role=role,
        party_id=_identifier(entry["party_id"], f"{where}.party_id"),
        key_fingerprint=_hex64(entry["key_fingerprint"], f"{where}.key_fingerprint"),
        identity_digest=_hex64(entry[digest_field], f"{where}.{digest_field}"),
        identity_assurance=_choice(
            entry["identity_assurance"], IDENTITY_ASSURANCES, f"{where}.identity_assurance"
        ),
        algorithm=algorithm,
        signature=_signature_bytes(entry["signature"], algorithm, f"{where}.signature"),
        signed_at=_time(entry["signed_at"], f"{where}.signed_at"),
        enrolment_proof=proof,
        salted=salted,
    )


def parse_record(data: bytes) -> EvidenceRecord:
    """Parse ``record.json`` bytes into an :class:`EvidenceRecord`.

    Raises :class:`UnknownRecordFormat` when ``format`` is neither ``notary-record/1`` nor
    ``notary-record/2`` and
    :class:`MalformedRecord` for anything else that is not exactly such a record: bytes that
    are not canonical JSON (RFC 8785), missing or unknown fields, wrong types, digests that
    are not 64 lowercase hex digits, times not in the service's form, non-canonical base64,
    signatures of the wrong size or not in DER, unknown algorithms, assurances or roles, and
    a chain link that contradicts the sequence (only leaf 0 follows the 64 zeros).
    """
    try:
        value = parse_canonical_json(data, what="record.json")
    except MalformedInput as exc:
        raise MalformedRecord(exc.message) from exc
    if not isinstance(value, dict):
        raise MalformedRecord("record.json must be a JSON object")
    record_format = value.get("format")
    if record_format not in RECORD_FORMATS:
        raise UnknownRecordFormat(
            f"record format {record_format!r} is not one of {', '.join(RECORD_FORMATS)}; "
            "this verifier refuses formats it does not know",
            details={"format": record_format if isinstance(record_format, str) else None},
        )
    assert isinstance(record_format, str)
    record = _object(value, _RECORD_FIELDS, "record.json")
    sequence = _count(record["sequence"], "sequence", 0)
    previous = _hex64(record["previous_record_sha256"], "previous_record_sha256")
    if (sequence == 0) != (previous == GENESIS_SHA256):
        raise MalformedRecord(
            "previous_record_sha256 is 64 zeros for leaf 0 and only for leaf 0",
            details={"field": "previous_record_sha256"},
        )
    media_type = record["media_type"]
    if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
        raise MalformedRecord("media_type must be a lowercase MIME type", details={"field": "media_type"})
    signatures = record["signatures"]
    _object(signatures, frozenset(ROLES), "signatures")
    return EvidenceRecord(
        raw=bytes(data),
        format=record_format,
        sequence=sequence,
        previous_record_sha256=previous,
        contract_id=_identifier(record["contract_id"], "contract_id"),
        platform_id=_identifier(record["platform_id"], "platform_id"),
        document_sha256=_hex64(record["document_sha256"], "document_sha256"),
        document_size=_count(record["document_size"], "document_size", 1),
        media_type=media_type,
        terms_sha256=_hex64(record["terms_sha256"], "terms_sha256"),
        signatures=MappingProxyType(
            {role: _signature(role, signatures[role], record_format) for role in ROLES}
        ),
        received_at=_time(record["received_at"], "received_at"),
        sealed_at=_time(record["sealed_at"], "sealed_at"),
    )
