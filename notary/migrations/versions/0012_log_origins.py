"""the log's origin, stored: an identity fixed at init, not an address derived at each start

Round 1 computed the origin from ``NOTARY_PUBLIC_URL`` whenever the service started, so moving
an instance to its real domain published a new origin while every stored checkpoint carried
the old one (issue 15.5). ``log_origins`` now holds it. An existing instance takes it from its
stored checkpoints, never from the environment: each origin found there gets the sizes of
its checkpoints (the first from size 0), and the origin of the newest checkpoint is current
(no ``until_size``). A store without checkpoints gets its origin at its first start.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_origins",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("from_size", sa.BigInteger(), nullable=False),
        sa.Column("until_size", sa.BigInteger(), nullable=True),
        sa.Column("established_at", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_log_origins")),
    )
    checkpoints = sa.table(
        "checkpoints",
        sa.column("tree_size", sa.BigInteger),
        sa.column("origin", sa.String),
        sa.column("signed_at", sa.String),
    )
    connection = op.get_bind()
    spans = connection.execute(
        sa.select(
            checkpoints.c.origin,
            sa.func.min(checkpoints.c.tree_size).label("first"),
            sa.func.max(checkpoints.c.tree_size).label("last"),
            sa.func.min(checkpoints.c.signed_at).label("since"),
        )
        .group_by(checkpoints.c.origin)
        .order_by(sa.func.max(checkpoints.c.tree_size))
    ).all()
    origins = sa.table(
        "log_origins",
        sa.column("origin", sa.String),
        sa.column("from_size", sa.BigInteger),
        sa.column("until_size", sa.BigInteger),
        sa.column("established_at", sa.String),
    )
    for index, span in enumerate(spans):
        current = index == len(spans) - 1
        connection.execute(
            origins.insert().values(
                origin=span.origin,
                from_size=0 if index == 0 else span.first,
                until_size=None if current else span.last,
                established_at=span.since,
            )
        )


def downgrade() -> None:
    op.drop_table("log_origins")
