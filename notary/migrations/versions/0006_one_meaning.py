"""one meaning per stored value: amounts in fen, one identity per key, case scopes as given

- ``contracts.amount_fen``: the signed amount string in hundredths, for arithmetic in SQL (the
  string in ``terms_json`` stays what is shown and signed). Filled from the stored terms.
- ``key_identities``: one row per key, the identity it is bound to; its primary key enforces
  "one key, one identity" under concurrency. Filled from the parties and the operators'
  verifications; where old data already binds a key to two identities (the race this table
  closes), the earliest binding is kept and the later one stays as stored.
- ``cases.scope_platform_id`` / ``scope_party_id`` lose their foreign keys: an unknown id is
  stored like a known one until an operator is shown that it names nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _fen(amount: str) -> int:
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int((cents + "00")[:2])


def upgrade() -> None:
    connection = op.get_bind()

    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("amount_fen", sa.BigInteger(), nullable=True))
    contracts = sa.table(
        "contracts",
        sa.column("id", sa.String),
        sa.column("terms_json", sa.LargeBinary),
        sa.column("amount_fen"),
    )
    for contract_id, terms_json in connection.execute(
        sa.select(contracts.c.id, contracts.c.terms_json)
    ).all():
        amount = json.loads(bytes(terms_json).decode("utf-8"))["amount"]
        connection.execute(
            contracts.update().where(contracts.c.id == contract_id).values(amount_fen=_fen(amount))
        )
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.alter_column("amount_fen", existing_type=sa.BigInteger(), nullable=False)

    op.create_table(
        "key_identities",
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("id_lookup", sa.String(length=64), nullable=False),
        sa.Column("bound_at", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("key_fingerprint", name=op.f("pk_key_identities")),
    )
    op.create_index(op.f("ix_key_identities_id_lookup"), "key_identities", ["id_lookup"], unique=False)
    bindings = connection.execute(
        sa.text(
            "SELECT key_fingerprint, id_lookup, created_at FROM parties "
            "UNION ALL SELECT key_fingerprint, id_lookup, verified_at FROM identity_verifications "
            "ORDER BY 3, 1"
        )
    ).all()
    earliest: dict[str, tuple[str, str]] = {}
    for key_fingerprint, id_lookup, at in bindings:
        earliest.setdefault(key_fingerprint, (id_lookup, at))
    if earliest:
        key_identities = sa.table(
            "key_identities", sa.column("key_fingerprint"), sa.column("id_lookup"), sa.column("bound_at")
        )
        connection.execute(
            key_identities.insert(),
            [
                {"key_fingerprint": key, "id_lookup": lookup, "bound_at": at}
                for key, (lookup, at) in earliest.items()
            ],
        )

    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_constraint("fk_cases_scope_party_id_parties", type_="foreignkey")
        batch_op.drop_constraint("fk_cases_scope_platform_id_platforms", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.create_foreign_key(
            "fk_cases_scope_platform_id_platforms", "platforms", ["scope_platform_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_cases_scope_party_id_parties", "parties", ["scope_party_id"], ["id"])
    op.drop_index(op.f("ix_key_identities_id_lookup"), table_name="key_identities")
    op.drop_table("key_identities")
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.drop_column("amount_fen")
