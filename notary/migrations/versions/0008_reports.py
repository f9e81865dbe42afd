"""瞒报 reports and followed platforms

- ``reports``: a person's signed report that a platform did not file a contract it holds, its
  canonical bytes and SHA-256 (logged as a ``notary-report/1`` leaf), one per key, platform
  and document, marked filed late once the platform files it.
- ``follows``: platforms a key holder chose to follow.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.String(length=40), nullable=False),
        sa.Column("lodged_at", sa.String(length=24), nullable=False),
        sa.Column("report", sa.LargeBinary(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("claimed_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("claimed_start_date", sa.String(length=10), nullable=True),
        sa.Column("document_attached", sa.Boolean(), nullable=False),
        sa.Column("leaf_sequence", sa.BigInteger(), nullable=True),
        sa.Column("filed_contract_id", sa.String(length=40), nullable=True),
        sa.Column("filed_at", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["filed_contract_id"], ["contracts.id"], name=op.f("fk_reports_filed_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["leaf_sequence"], ["log_leaves.sequence"], name=op.f("fk_reports_leaf_sequence_log_leaves")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_reports_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "key_fingerprint", "platform_id", "document_sha256", name="uq_reports_key_platform_document"
        ),
        sa.UniqueConstraint("leaf_sequence", name=op.f("uq_reports_leaf_sequence")),
        sa.UniqueConstraint("report_sha256", name=op.f("uq_reports_report_sha256")),
    )
    op.create_index("ix_reports_platform_lodged", "reports", ["platform_id", "lodged_at"], unique=False)
    op.create_table(
        "follows",
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_follows_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("key_fingerprint", "platform_id", name=op.f("pk_follows")),
    )
    op.create_index(op.f("ix_follows_platform_id"), "follows", ["platform_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_follows_platform_id"), table_name="follows")
    op.drop_table("follows")
    op.drop_index("ix_reports_platform_lodged", table_name="reports")
    op.drop_table("reports")
