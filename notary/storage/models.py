"""SQLAlchemy 2 models. Times the service writes are RFC 3339 UTC strings with milliseconds
(fixed width, so they compare and sort as text on every database).

Personal data (ID and phone numbers) is stored encrypted (``*_enc``) with a keyed hash for
lookup (``id_lookup``) and a masked form for display (``*_masked``); the clear text never
reaches a column.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from notary.verify.vocabulary import PlatformStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TIME = String(24)
ID = String(40)
SHA256 = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Platform(Base):
    """A lending platform that files contracts; ``defunct`` once it has collapsed."""

    __tablename__ = "platforms"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PlatformStatus.ACTIVE)
    created_at: Mapped[str] = mapped_column(TIME)
    defunct_at: Mapped[str | None] = mapped_column(TIME)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only (tokens carry 256 random bits)."""

    __tablename__ = "api_tokens"

    token_sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # platform, party, investigator
    subject_id: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[str] = mapped_column(TIME)
    expires_at: Mapped[str | None] = mapped_column(TIME)
    revoked_at: Mapped[str | None] = mapped_column(TIME)


class Party(Base):
    """A person (or company) as enrolled by one platform, with one key."""

    __tablename__ = "parties"
    __table_args__ = (
        UniqueConstraint("platform_id", "id_lookup", name="uq_parties_platform_identity"),
        UniqueConstraint("platform_id", "key_fingerprint", name="uq_parties_platform_key"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    id_type: Mapped[str] = mapped_column(String(32))
    id_lookup: Mapped[str] = mapped_column(SHA256, index=True)
    #: SHA-256 of the identity opening (``docs/formats.md``); the salt is kept encrypted.
    identity_commitment: Mapped[str] = mapped_column(SHA256)
    identity_salt_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_masked: Mapped[str] = mapped_column(String(40))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(40))
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_fingerprint: Mapped[str] = mapped_column(SHA256, index=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    #: The key's ``notary.enrol.v2`` proof over the commitment; None for a party enrolled before
    #: round 2, whose ``notary.enrol.v1`` proof (a guessing oracle for the unsalted identity
    #: hash it signed) is kept only encrypted, in ``legacy_enrol_proof_enc``.
    enrol_proof: Mapped[bytes | None] = mapped_column(LargeBinary)
    legacy_enrol_proof_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(TIME)


class KeyStatus(StrEnum):
    """Where a party's key stands: it signs for the party, it was replaced, or it was revoked."""

    ACTIVE = "active"
    ROTATED = "rotated"
    REVOKED = "revoked"


class PartyKey(Base):
    """Every key a party has had: the one it signs with now (``active``), the ones it replaced
    (``rotated``) and the ones revoked. ``parties`` keeps the current key's columns; these rows
    are what old contracts keep verifying with (a bundle carries the key that signed) and what
    decides whether a key may still log in or sign for this party.
    """

    __tablename__ = "party_keys"
    __table_args__ = (Index("ix_party_keys_key_status", "key_fingerprint", "status"),)

    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    key_fingerprint: Mapped[str] = mapped_column(SHA256, primary_key=True)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    algorithm: Mapped[str] = mapped_column(String(32))
    #: This key's own ``notary.enrol.v2`` proof over the party's commitment (None before round 2).
    enrol_proof: Mapped[bytes | None] = mapped_column(LargeBinary)
    added_at: Mapped[str] = mapped_column(TIME)
    status: Mapped[str] = mapped_column(String(16))  # active, rotated, revoked
    retired_at: Mapped[str | None] = mapped_column(TIME)
    #: Why it was revoked (``lost``, ``compromised``, ``superseded``, ``other``); None otherwise.
    reason: Mapped[str | None] = mapped_column(String(16))
    #: The log leaf that retired it (a rotation or a revocation).
    event_sequence: Mapped[int | None] = mapped_column(BigInteger)


class KeyEventRow(Base):
    """An index of the key event leaves (``notary.verify.key_events``), so a bundle finds the
    events about its signing keys without reading the log. The leaf's bytes stay in
    ``log_leaves``; ``notary audit`` holds this table to them."""

    __tablename__ = "key_events"

    leaf_sequence: Mapped[int] = mapped_column(
        ForeignKey("log_leaves.sequence"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(16))  # revoked, rotated, bound, unbound
    key_fingerprint: Mapped[str] = mapped_column(SHA256, index=True)
    party_id: Mapped[str | None] = mapped_column(ID)
    at: Mapped[str] = mapped_column(TIME)


class KeyIdentity(Base):
    """One key, one identity: the identity (keyed lookup hash) each key is bound to, on every
    platform, by an enrolment or an operator's verification.

    The primary key is the rule. Checking first and inserting after let two simultaneous
    enrolments of one key under two identities (on two platforms) both commit under
    PostgreSQL's READ COMMITTED; now the second insert waits for the first and fails.
    """

    __tablename__ = "key_identities"

    key_fingerprint: Mapped[str] = mapped_column(SHA256, primary_key=True)
    id_lookup: Mapped[str] = mapped_column(SHA256, index=True)
    bound_at: Mapped[str] = mapped_column(TIME)


class Contract(Base):
    """A filed contract and where it is in its life."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("platform_id", "external_ref", name="uq_contracts_platform_external_ref"),
        UniqueConstraint("platform_id", "idempotency_key", name="uq_contracts_platform_idempotency_key"),
        Index("ix_contracts_status_signed_at", "status", "signed_at"),
        Index("ix_contracts_status_deadline", "status", "deadline"),
        # The platforms' public figures, each from one index alone (docs/checks.md): counts by
        # status, and months, principal and filing delays.
        Index("ix_contracts_platform_status", "platform_id", "status", "deadline"),
        Index(
            "ix_contracts_platform_filed",
            "platform_id",
            "received_at",
            "currency",
            "amount_fen",
            "start_date",
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    investor_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    document_sha256: Mapped[str] = mapped_column(SHA256)
    document_size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(127))
    terms_json: Mapped[bytes] = mapped_column(LargeBinary)
    terms_sha256: Mapped[str] = mapped_column(SHA256)
    # The signed amount string stays in terms_json, exactly as sent; this is the same amount
    # in hundredths (fen for CNY) for sums and medians in SQL, never for display.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # The signed start_date string, as in terms_json: a person's check matches the terms it
    # was told against it, and the transparency figures take the filing delay from it.
    start_date: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    request_sha256: Mapped[str] = mapped_column(SHA256)
    external_ref: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[str] = mapped_column(TIME)
    deadline: Mapped[str] = mapped_column(TIME)
    signed_at: Mapped[str | None] = mapped_column(TIME)
    closed_at: Mapped[str | None] = mapped_column(TIME)
    decline_role: Mapped[str | None] = mapped_column(String(16))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    record_sequence: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class Signature(Base):
    """One role's act on a contract: its signature (``sign``) or its signed refusal (``decline``)."""

    __tablename__ = "signatures"

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(24))
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    key_fingerprint: Mapped[str] = mapped_column(SHA256)
    #: The party's identity commitment as of signing (round 1's unsalted identity hash for a
    #: contract sealed as ``notary-record/1``, which its leaf holds anyway).
    identity_commitment: Mapped[str] = mapped_column(SHA256)
    #: The signing key's ``notary.enrol.v2`` proof, copied into the record; None for a party
    #: enrolled before round 2.
    enrolment_proof: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_assurance: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_sha256: Mapped[str] = mapped_column(SHA256)
    signed_at: Mapped[str] = mapped_column(TIME)


class LogLeaf(Base):
    """A leaf of the transparency log: an evidence record (or another leaf kind), byte for byte.

    ``sequence`` is both the hash-chain position and the leaf index.
    """

    __tablename__ = "log_leaves"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    format: Mapped[str] = mapped_column(String(40))
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"), unique=True)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    record_sha256: Mapped[str] = mapped_column(SHA256, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[str] = mapped_column(TIME)


class Blob(Base):
    """A document held by the database blob store, addressed by its SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Lease(Base):
    """Leadership of background work (SQLite; PostgreSQL uses an advisory lock beside it)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[float] = mapped_column(Float)
    epoch: Mapped[int] = mapped_column(Integer, default=0)


class TreeNode(Base):
    """A complete subtree of the Merkle tree: the hash of leaves [idx·2^level, (idx+1)·2^level).

    Written once when the subtree completes and never changed, so any proof or root needs only
    O(log n) of these rows. Level 0 holds the leaf hashes.
    """

    __tablename__ = "tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogState(Base):
    """The integrated tree: one row, updated in the same transaction as the leaves and nodes."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class SignedCheckpoint(Base):
    """A signed checkpoint, kept forever. One per tree size: the log never signs two roots for one size."""

    __tablename__ = "checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(8))
    signed_at: Mapped[str] = mapped_column(TIME)


class CheckpointCosignature(Base):
    """A witness's cosignature (C2SP tlog-cosignature line) on a signed checkpoint."""

    __tablename__ = "checkpoint_cosignatures"
    __table_args__ = (Index("ix_checkpoint_cosignatures_witness", "witness", "tree_size"),)

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(255), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255))
    line: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[str] = mapped_column(TIME)
    received_at: Mapped[str] = mapped_column(TIME)


class WitnessPolicyRecord(Base):
    """A witness policy the log adopted: k of the listed witnesses for checkpoints of sizes
    ``from_size``..``until_size`` (published in the trust file)."""

    __tablename__ = "witness_policies"

    from_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    until_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    k: Mapped[int] = mapped_column(Integer)
    witnesses: Mapped[str] = mapped_column(Text)
    adopted_at: Mapped[str] = mapped_column(TIME)


class TsaChain(Base):
    """An authority's certificate chain (PEM, signer first), stored once, named by its SHA-256."""

    __tablename__ = "tsa_chains"

    sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    pem: Mapped[str] = mapped_column(Text)


class RecordTimestamp(Base):
    """The RFC 3161 token over a leaf's exact bytes (imprint = SHA-256 of the record)."""

    __tablename__ = "record_timestamps"

    sequence: Mapped[int] = mapped_column(
        ForeignKey("log_leaves.sequence"), primary_key=True, autoincrement=False
    )
    authority: Mapped[str] = mapped_column(String(255))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    chain_sha256: Mapped[str] = mapped_column(ForeignKey("tsa_chains.sha256"))
    gen_time: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(64))
    stamped_at: Mapped[str] = mapped_column(TIME)


class CheckpointTimestamp(Base):
    """A token over a checkpoint's body from one configured authority (each authority once)."""

    __tablename__ = "checkpoint_timestamps"
    __table_args__ = (Index("ix_checkpoint_timestamps_authority", "authority", "tree_size"),)

    tree_size: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.tree_size"), primary_key=True, autoincrement=False
    )
    authority: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    response: Mapped[bytes] = mapped_column(LargeBinary)
    chain_sha256: Mapped[str] = mapped_column(ForeignKey("tsa_chains.sha256"))
    gen_time: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(64))
    stamped_at: Mapped[str] = mapped_column(TIME)


class IssuedCertificate(Base):
    """A contract's evidence certificate: made once, its PDF kept in the blob store, the same
    bytes served ever after. ``facts`` (canonical JSON) is what it shows, so it can be rendered
    again and compared."""

    __tablename__ = "certificates"

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    certificate_number: Mapped[str] = mapped_column(String(40), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(SHA256)
    pdf_size: Mapped[int] = mapped_column(BigInteger)
    facts: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[str] = mapped_column(TIME)


def _chain_pem_of(model: type[RecordTimestamp] | type[CheckpointTimestamp]) -> Any:
    return column_property(
        select(TsaChain.pem)
        .where(TsaChain.sha256 == model.chain_sha256)
        .correlate_except(TsaChain)
        .scalar_subquery()
    )


# A token's chain reads like a column of its own (``token.chain_pem``), stored once per chain.
RecordTimestamp.chain_pem = _chain_pem_of(RecordTimestamp)  # type: ignore[attr-defined]
CheckpointTimestamp.chain_pem = _chain_pem_of(CheckpointTimestamp)  # type: ignore[attr-defined]


class LogOrigin(Base):
    """The log's identity: the origin its checkpoints are signed under, for which tree sizes.

    Fixed when the instance first runs (``notary init``), taken from its stored checkpoints
    when an older instance is upgraded, and changed only by ``notary log rotate-origin``, which
    closes the old row (``until_size``) and opens a new one; never derived from the public URL
    again. The row without ``until_size`` is the current origin.
    """

    __tablename__ = "log_origins"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    from_size: Mapped[int] = mapped_column(BigInteger)
    until_size: Mapped[int | None] = mapped_column(BigInteger)
    established_at: Mapped[str] = mapped_column(TIME)
