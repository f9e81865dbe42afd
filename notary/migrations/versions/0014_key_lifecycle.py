"""keys have a lifecycle: every key a party has had, and an index of the key event leaves

- ``party_keys``: one row per (party, key). Until now a party had exactly the key in
  ``parties``; that key becomes its one ``active`` row (its enrolment proof with it). A
  rotation adds a row and marks the old one ``rotated``; a revocation marks it ``revoked``.
  Old contracts keep verifying with the row of the key that signed them.
- ``key_events``: which log leaf revoked, rotated, bound or unbound which key (of which
  party), so a bundle finds the events about its keys without reading the log.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "party_keys",
        sa.Column("party_id", sa.String(length=40), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("public_key_der", sa.LargeBinary(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("enrol_proof", sa.LargeBinary(), nullable=True),
        sa.Column("added_at", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("retired_at", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("event_sequence", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name=op.f("fk_party_keys_party_id_parties")),
        sa.PrimaryKeyConstraint("party_id", "key_fingerprint", name=op.f("pk_party_keys")),
    )
    op.create_index("ix_party_keys_key_status", "party_keys", ["key_fingerprint", "status"], unique=False)
    op.create_table(
        "key_events",
        sa.Column("leaf_sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=40), nullable=True),
        sa.Column("at", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["leaf_sequence"], ["log_leaves.sequence"], name=op.f("fk_key_events_leaf_sequence_log_leaves")
        ),
        sa.PrimaryKeyConstraint("leaf_sequence", name=op.f("pk_key_events")),
    )
    op.create_index(op.f("ix_key_events_key_fingerprint"), "key_events", ["key_fingerprint"], unique=False)
    op.execute(
        sa.text(
            "INSERT INTO party_keys (party_id, key_fingerprint, public_key_der, algorithm, enrol_proof,"
            " added_at, status) SELECT id, key_fingerprint, public_key_der, algorithm, enrol_proof,"
            " created_at, 'active' FROM parties"
        )
    )


def downgrade() -> None:
    # Each party keeps its current key in ``parties``; the keys it had before are dropped.
    op.drop_index(op.f("ix_key_events_key_fingerprint"), table_name="key_events")
    op.drop_table("key_events")
    op.drop_index("ix_party_keys_key_status", table_name="party_keys")
    op.drop_table("party_keys")
