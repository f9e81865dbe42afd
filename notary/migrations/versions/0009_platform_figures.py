"""the platforms' public figures: contracts.currency, and two indexes that answer them

- ``contracts.currency``: principal is summed per currency (in hundredths, ``amount_fen``).
  Filled from the stored terms.
- ``ix_contracts_platform_status`` (platform, status, deadline): contracts per status, an
  unsigned one past its deadline counted as expired, from the index alone.
- ``ix_contracts_platform_filed`` (platform, filing time, currency, amount, start date):
  months, principal and the start-to-filing delays, from the index alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    contracts = sa.table(
        "contracts",
        sa.column("id", sa.String),
        sa.column("terms_json", sa.LargeBinary),
        sa.column("currency"),
    )
    for contract_id, terms_json in connection.execute(
        sa.select(contracts.c.id, contracts.c.terms_json)
    ).all():
        currency = json.loads(bytes(terms_json).decode("utf-8"))["currency"]
        connection.execute(contracts.update().where(contracts.c.id == contract_id).values(currency=currency))
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.alter_column("currency", existing_type=sa.String(length=3), nullable=False)
    op.create_index(
        "ix_contracts_platform_status", "contracts", ["platform_id", "status", "deadline"], unique=False
    )
    op.create_index(
        "ix_contracts_platform_filed",
        "contracts",
        ["platform_id", "received_at", "currency", "amount_fen", "start_date"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contracts_platform_filed", table_name="contracts")
    op.drop_index("ix_contracts_platform_status", table_name="contracts")
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.drop_column("currency")
