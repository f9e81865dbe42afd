"""Tables of 核验: the 瞒报 reports people lodge, and the platforms they follow.

A report is stored as its canonical bytes (``report``, the object ``docs/payloads.md`` defines;
its SHA-256 is logged in a ``notary-report/1`` leaf); the other columns repeat what the
bytes say so reports can be searched, and ``notary audit`` checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from notary.storage.models import ID, SHA256, TIME, Base


class Report(Base):
    """A person's signed report that a platform did not file a contract it holds (瞒报).

    One per key, platform and document: the unique constraint is the replay rule. Marked filed
    late (``filed_contract_id``, ``filed_at`` = the contract's filing time) once the platform
    files that document in the reporter's name.
    """

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint(
            "key_fingerprint", "platform_id", "document_sha256", name="uq_reports_key_platform_document"
        ),
        Index("ix_reports_platform_lodged", "platform_id", "lodged_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    key_fingerprint: Mapped[str] = mapped_column(SHA256)
    document_sha256: Mapped[str] = mapped_column(SHA256)
    reported_at: Mapped[str] = mapped_column(String(40))
    lodged_at: Mapped[str] = mapped_column(TIME)
    report: Mapped[bytes] = mapped_column(LargeBinary)
    report_sha256: Mapped[str] = mapped_column(SHA256, unique=True)
    claimed_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    claimed_start_date: Mapped[str | None] = mapped_column(String(10))
    document_attached: Mapped[bool] = mapped_column(Boolean)
    leaf_sequence: Mapped[int | None] = mapped_column(ForeignKey("log_leaves.sequence"), unique=True)
    filed_contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    filed_at: Mapped[str | None] = mapped_column(TIME)


class Follow(Base):
    """A platform a key holder chose to follow (the platforms of its own contracts it follows
    without a row)."""

    __tablename__ = "follows"

    key_fingerprint: Mapped[str] = mapped_column(SHA256, primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), primary_key=True, index=True)
    created_at: Mapped[str] = mapped_column(TIME)
