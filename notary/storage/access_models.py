"""Tables of access after the collapse: logins, verified identities, investigators, cases, audit.

Nothing here holds a clear ID number: identities are found by the keyed lookup hash
(``id_lookup``, see :class:`notary.services.ceremony.identity.PiiCipher`) and shown masked.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notary.storage.models import ID, SHA256, TIME, Base


class LoginChallenge(Base):
    """An outstanding login challenge, stored as the SHA-256 of its 32 random bytes only.

    A row is deleted when it is answered (rightly or not), so each challenge is used once.
    """

    __tablename__ = "login_challenges"
    __table_args__ = (Index("ix_login_challenges_key_expires", "key_fingerprint", "expires_at"),)

    challenge_sha256: Mapped[str] = mapped_column(SHA256, primary_key=True)
    key_fingerprint: Mapped[str] = mapped_column(SHA256)
    created_at: Mapped[str] = mapped_column(TIME)
    expires_at: Mapped[str] = mapped_column(TIME, index=True)


class IdentityVerification(Base):
    """An operator checked a person's identity document and bound this key to that identity."""

    __tablename__ = "identity_verifications"

    key_fingerprint: Mapped[str] = mapped_column(SHA256, primary_key=True)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    algorithm: Mapped[str] = mapped_column(String(32))
    id_type: Mapped[str] = mapped_column(String(32))
    id_lookup: Mapped[str] = mapped_column(SHA256, index=True)
    id_number_masked: Mapped[str] = mapped_column(String(40))
    verified_by: Mapped[str] = mapped_column(String(200))
    verified_at: Mapped[str] = mapped_column(TIME)


class Investigator(Base):
    """A police or court investigator; reads evidence only through an approved case."""

    __tablename__ = "investigators"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(TIME)


class Case(Base):
    """An investigator's case: a case number, a legal basis and one scope.

    ``scope_kind`` is ``platform`` (``scope_platform_id``), ``party`` (``scope_party_id``) or
    ``person`` (``scope_id_type`` + ``scope_id_lookup``, on every platform; masked for display).
    The scope ids are not foreign keys: a case naming an unknown id is stored (and answered)
    like any other until an operator, who is shown that it names nothing, refuses it.
    """

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    investigator_id: Mapped[str] = mapped_column(ForeignKey("investigators.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[str] = mapped_column(Text)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_platform_id: Mapped[str | None] = mapped_column(ID)
    scope_party_id: Mapped[str | None] = mapped_column(ID)
    scope_id_type: Mapped[str | None] = mapped_column(String(32))
    scope_id_lookup: Mapped[str | None] = mapped_column(SHA256)
    scope_id_masked: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(TIME)
    approved_at: Mapped[str | None] = mapped_column(TIME)
    approved_by: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """One entry of the hash-chained audit trail; ``entry`` is its canonical JSON, byte for byte.

    The other columns repeat fields of ``entry`` so the trail can be searched; ``notary audit``
    checks that they agree with the bytes.
    """

    __tablename__ = "audit_entries"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    previous_sha256: Mapped[str] = mapped_column(SHA256)
    entry_sha256: Mapped[str] = mapped_column(SHA256, unique=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[str] = mapped_column(TIME)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    case_id: Mapped[str | None] = mapped_column(String(40), index=True)


class AuditAnchor(Base):
    """A log leaf (``notary-audit-head/1``) that wrote the audit trail's head into the log."""

    __tablename__ = "audit_anchors"

    leaf_sequence: Mapped[int] = mapped_column(
        ForeignKey("log_leaves.sequence"), primary_key=True, autoincrement=False
    )
    audit_sequence: Mapped[int] = mapped_column(BigInteger)
    audit_head_sha256: Mapped[str] = mapped_column(SHA256)
    anchored_at: Mapped[str] = mapped_column(TIME)
