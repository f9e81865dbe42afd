"""timestamp chains stored once; an index to find an authority's missing checkpoint tokens

Every token row carried its authority's whole PEM chain; the chains now live once in
``tsa_chains``, named by their SHA-256, and token rows point to them. Existing rows are moved
over: each distinct chain is stored once and the rows are pointed at it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:20:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOKEN_TABLES = ("record_timestamps", "checkpoint_timestamps")


def upgrade() -> None:
    op.create_table(
        "tsa_chains",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_tsa_chains")),
    )
    for table in TOKEN_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("chain_sha256", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    chains = sa.table("tsa_chains", sa.column("sha256", sa.String), sa.column("pem", sa.Text))
    stored: set[str] = set()
    for table in TOKEN_TABLES:
        rows = sa.table(table, sa.column("chain_pem", sa.Text), sa.column("chain_sha256", sa.String))
        for (pem,) in connection.execute(sa.select(rows.c.chain_pem).distinct()).all():
            sha256 = hashlib.sha256(pem.encode("ascii")).hexdigest()
            if sha256 not in stored:
                connection.execute(chains.insert().values(sha256=sha256, pem=pem))
                stored.add(sha256)
            connection.execute(rows.update().where(rows.c.chain_pem == pem).values(chain_sha256=sha256))
    for table in TOKEN_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("chain_sha256", existing_type=sa.String(length=64), nullable=False)
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_chain_sha256_tsa_chains"), "tsa_chains", ["chain_sha256"], ["sha256"]
            )
            batch_op.drop_column("chain_pem")
    # Finding a checkpoint's missing tokens, authority by authority, without a scan.
    op.create_index("ix_checkpoint_timestamps_authority", "checkpoint_timestamps", ["authority", "tree_size"])


def downgrade() -> None:
    op.drop_index("ix_checkpoint_timestamps_authority", table_name="checkpoint_timestamps")
    connection = op.get_bind()
    for table in TOKEN_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("chain_pem", sa.Text(), nullable=True))
        connection.execute(
            sa.text(
                f"UPDATE {table} SET chain_pem = "  # noqa: S608 -- table names are the constants above
                f"(SELECT pem FROM tsa_chains WHERE tsa_chains.sha256 = {table}.chain_sha256)"
            )
        )
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("chain_pem", existing_type=sa.Text(), nullable=False)
            batch_op.drop_constraint(op.f(f"fk_{table}_chain_sha256_tsa_chains"), type_="foreignkey")
            batch_op.drop_column("chain_sha256")
    op.drop_table("tsa_chains")
