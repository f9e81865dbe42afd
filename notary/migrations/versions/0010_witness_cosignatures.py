"""witnesses: their cosignatures on checkpoints, and the witness policies the log adopted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "witness", name=op.f("pk_checkpoint_cosignatures")),
    )
    op.create_index("ix_checkpoint_cosignatures_witness", "checkpoint_cosignatures", ["witness", "tree_size"])
    op.create_table(
        "witness_policies",
        sa.Column("from_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("until_size", sa.BigInteger(), nullable=True),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("witnesses", sa.Text(), nullable=False),
        sa.Column("adopted_at", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("from_size", name=op.f("pk_witness_policies")),
    )


def downgrade() -> None:
    op.drop_table("witness_policies")
    op.drop_table("checkpoint_cosignatures")
