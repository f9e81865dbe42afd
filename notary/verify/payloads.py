"""The exact bytes that are signed, hashed and logged (see docs/payloads in the design).

Every builder returns RFC 8785 canonical JSON bytes. A verifier rebuilds the signing payloads
from a record alone, so these functions are the single definition both sides use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from notary.verify.canonical import canonical_json
from notary.verify.encoding import b64encode
from notary.verify.vocabulary import Role

#: Round 1's enrolment proof, over the unsalted identity hash: retired (``docs/formats.md``).
PURPOSE_ENROL = "notary.enrol.v1"
#: The enrolment proof over the salted identity commitment.
PURPOSE_ENROL_V2 = "notary.enrol.v2"
#: The domain of an identity opening, whose SHA-256 is the commitment (hashed, never signed).
PURPOSE_IDENTITY = "notary.identity.v1"
PURPOSE_SIGN = "notary.sign.v1"
PURPOSE_DECLINE = "notary.decline.v1"
PURPOSE_LOGIN = "notary.login.v1"
PURPOSE_EXPORT = "notary.export.v1"
CONTRACT_PURPOSES = (PURPOSE_SIGN, PURPOSE_DECLINE)

ROLES = tuple(Role)
RECORD_FORMAT = "notary-record/1"
RECORD_FORMAT_V2 = "notary-record/2"
RECORD_FORMATS = (RECORD_FORMAT, RECORD_FORMAT_V2)
#: An identity salt is 32 random bytes (256 bits), drawn by the party's own tool.
SALT_BYTES = 32
GENESIS_SHA256 = "0" * 64


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``, the form of every time the service writes."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def normalise_id_number(id_number: str) -> str:
    """Upper case, spaces removed: the form the identity hash is taken over."""
    return "".join(id_number.split()).upper()


def identity_sha256(id_type: str, id_number: str) -> str:
    """SHA-256 of ``<id_type>:<ID number>`` (normalised), lowercase hex: round 1's unsalted
    identity hash, kept to check openings against records sealed before round 2."""
    return sha256_hex(f"{id_type}:{normalise_id_number(id_number)}".encode())


def identity_opening(*, id_type: str, id_number: str, salt: bytes) -> bytes:
    """The opening of an identity commitment (``notary.identity.v1``): its exact bytes.

    Raises ``ValueError`` for a salt that is not :data:`SALT_BYTES` long.
    """
    if len(salt) != SALT_BYTES:
        raise ValueError(f"an identity salt is {SALT_BYTES} bytes")
    return canonical_json(
        {
            "purpose": PURPOSE_IDENTITY,
            "id_type": id_type,
            "id_number": normalise_id_number(id_number),
            "salt": b64encode(salt),
        }
    )


def identity_commitment(opening: bytes) -> str:
    """The commitment a record carries: lowercase hex SHA-256 of the opening's bytes."""
    return sha256_hex(opening)


def enrol_payload(*, platform_id: str, key_fingerprint: str, identity_sha256: str) -> bytes:
    """Round 1's enrolment payload (``notary.enrol.v1``, over the unsalted hash); retired."""
    return canonical_json(
        {
            "purpose": PURPOSE_ENROL,
            "platform_id": platform_id,
            "key_fingerprint": key_fingerprint,
            "identity_sha256": identity_sha256,
        }
    )


def enrol_payload_v2(*, platform_id: str, key_fingerprint: str, identity_commitment: str) -> bytes:
    """What a party signs to prove it holds its key and binds it to its identity commitment
    on this platform (``notary.enrol.v2``, the ``proof`` of ``POST /parties``)."""
    return canonical_json(
        {
            "purpose": PURPOSE_ENROL_V2,
            "platform_id": platform_id,
            "key_fingerprint": key_fingerprint,
            "identity_commitment": identity_commitment,
        }
    )


def contract_payload(
    *,
    purpose: str,
    contract_id: str,
    platform_id: str,
    role: str,
    party_id: str,
    document_sha256: str,
    terms_sha256: str,
) -> bytes:
    """The signing (``notary.sign.v1``) or decline (``notary.decline.v1``) payload of one role."""
    if purpose not in CONTRACT_PURPOSES:
        raise ValueError(f"not a contract purpose: {purpose}")
    if role not in ROLES:
        raise ValueError(f"not a role: {role}")
    return canonical_json(
        {
            "purpose": purpose,
            "contract_id": contract_id,
            "platform_id": platform_id,
            "role": role,
            "party_id": party_id,
            "document_sha256": document_sha256,
            "terms_sha256": terms_sha256,
        }
    )


def login_payload(*, challenge_base64: str, key_fingerprint: str) -> bytes:
    """What a key holder signs to log in: the challenge text exactly as received, never raw bytes."""
    return canonical_json(
        {"purpose": PURPOSE_LOGIN, "challenge": challenge_base64, "key_fingerprint": key_fingerprint}
    )


def record_signature(
    *,
    party_id: str,
    key_fingerprint: str,
    identity_sha256: str,
    identity_assurance: str,
    algorithm: str,
    signature_base64: str,
    signed_at: str,
) -> dict[str, str]:
    """One role's entry in a ``notary-record/1`` record's ``signatures``."""
    return {
        "party_id": party_id,
        "key_fingerprint": key_fingerprint,
        "identity_sha256": identity_sha256,
        "identity_assurance": identity_assurance,
        "algorithm": algorithm,
        "signature": signature_base64,
        "signed_at": signed_at,
    }


def record_signature_v2(
    *,
    party_id: str,
    key_fingerprint: str,
    identity_commitment: str,
    identity_assurance: str,
    algorithm: str,
    signature_base64: str,
    signed_at: str,
    enrolment_proof_base64: str | None,
) -> dict[str, str]:
    """One role's entry in a ``notary-record/2`` record's ``signatures``; ``enrolment_proof``
    is left out for a party enrolled before record/2 (its commitment drawn by the notary)."""
    entry = {
        "party_id": party_id,
        "key_fingerprint": key_fingerprint,
        "identity_commitment": identity_commitment,
        "identity_assurance": identity_assurance,
        "algorithm": algorithm,
        "signature": signature_base64,
        "signed_at": signed_at,
    }
    if enrolment_proof_base64 is not None:
        entry["enrolment_proof"] = enrolment_proof_base64
    return entry


def evidence_record(
    *,
    sequence: int,
    previous_record_sha256: str,
    contract_id: str,
    platform_id: str,
    document_sha256: str,
    document_size: int,
    media_type: str,
    terms_sha256: str,
    signatures: Mapping[str, Mapping[str, Any]],
    received_at: str,
    sealed_at: str,
    record_format: str,
) -> bytes:
    """The evidence record of a sealed contract: the log leaf, byte for byte. The sequencer
    writes ``notary-record/2``; ``record_format`` rebuilds a stored record/1 (the audit).
    The signature entries must be of the same format (:func:`record_signature_v2` or
    :func:`record_signature`)."""
    if record_format not in RECORD_FORMATS:
        raise ValueError(f"not a record format: {record_format}")
    return canonical_json(
        {
            "format": record_format,
            "sequence": sequence,
            "previous_record_sha256": previous_record_sha256,
            "contract_id": contract_id,
            "platform_id": platform_id,
            "document_sha256": document_sha256,
            "document_size": document_size,
            "media_type": media_type,
            "terms_sha256": terms_sha256,
            "signatures": {role: dict(entry) for role, entry in signatures.items()},
            "received_at": received_at,
            "sealed_at": sealed_at,
        }
    )
