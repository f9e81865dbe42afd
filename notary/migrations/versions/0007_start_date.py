"""contracts.start_date: the signed start date as a column, for checks and transparency figures

A person checking a contract copy may say what the platform told it (amount, start date); the
check matches that against the contracts in the person's name, and the platforms' figures
take the delay from a contract's start date to its filing. Both need the date outside the
terms' JSON. Filled from the stored terms (the string exactly as signed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("start_date", sa.String(length=10), nullable=True))
    contracts = sa.table(
        "contracts",
        sa.column("id", sa.String),
        sa.column("terms_json", sa.LargeBinary),
        sa.column("start_date"),
    )
    for contract_id, terms_json in connection.execute(
        sa.select(contracts.c.id, contracts.c.terms_json)
    ).all():
        start_date = json.loads(bytes(terms_json).decode("utf-8"))["start_date"]
        connection.execute(
            contracts.update().where(contracts.c.id == contract_id).values(start_date=start_date)
        )
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.alter_column("start_date", existing_type=sa.String(length=10), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.drop_column("start_date")
