"""salted identity commitments instead of the unsalted identity hash (issue 15.1)

Round 1 kept ``identity_sha256 = SHA-256("<id_type>:<id_number>")`` beside each party, each
signature and each identity verification: from a masked number, the eight hidden birth-date
digits come back in under a second. This revision replaces it (``docs/formats.md`` section 1):

- every party gets an identity commitment over a fresh 32-byte salt, the salt kept encrypted
  under the personal-data key; its round-1 enrolment proof (``notary.enrol.v1``, which signs the
  unsalted hash and so confirms a guess) is kept only encrypted;
- signatures of contracts not sealed yet take their party's commitment; those already sealed
  keep the round-1 hash, which their ``notary-record/1`` leaf holds anyway;
- identity verifications drop the hash (the keyed lookup finds a person).

Drawing salts and encrypting needs the instance's personal-data key, which only ``notary init``
holds: it hands this revision an ``identity_upgrade`` (``config.attributes``) with
``commit(id_type, id_number_enc) -> (commitment, salt_enc)``,
``seal_proof(proof) -> bytes``, ``open_proof(sealed) -> bytes`` and
``legacy_hash(id_type, id_number_enc) -> str``. A database with parties and no upgrader is
refused with a message saying so, never half-migrated. On SQLite, ``parties`` is copied to
change its columns, which ``notary.storage.schema.migration_connection`` allows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_parties = sa.table(
    "parties",
    sa.column("id", sa.String),
    sa.column("id_type", sa.String),
    sa.column("id_number_enc", sa.LargeBinary),
    sa.column("identity_sha256", sa.String),
    sa.column("identity_commitment", sa.String),
    sa.column("identity_salt_enc", sa.LargeBinary),
    sa.column("enrol_proof", sa.LargeBinary),
    sa.column("legacy_enrol_proof_enc", sa.LargeBinary),
)
_signatures = sa.table(
    "signatures",
    sa.column("contract_id", sa.String),
    sa.column("party_id", sa.String),
    sa.column("identity_commitment", sa.String),
    sa.column("identity_sha256", sa.String),
)
_contracts = sa.table("contracts", sa.column("id", sa.String), sa.column("record_sequence", sa.BigInteger))


def _upgrader(connection: sa.Connection) -> Any:
    upgrader = context.config.attributes.get("identity_upgrade")
    if upgrader is None and connection.execute(sa.select(sa.func.count()).select_from(_parties)).scalar():
        raise RuntimeError(
            "this upgrade replaces identity hashes with salted commitments and needs the "
            "instance's personal-data key: run `notary init` on the instance"
        )
    return upgrader


def upgrade() -> None:
    connection = op.get_bind()
    upgrader = _upgrader(connection)
    with op.batch_alter_table("parties") as batch_op:
        batch_op.add_column(sa.Column("identity_commitment", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("identity_salt_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("legacy_enrol_proof_enc", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("enrol_proof", existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table("signatures") as batch_op:
        batch_op.alter_column(
            "identity_sha256",
            new_column_name="identity_commitment",
            existing_type=sa.String(length=64),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("enrolment_proof", sa.LargeBinary(), nullable=True))

    rows = connection.execute(
        sa.select(_parties.c.id, _parties.c.id_type, _parties.c.id_number_enc, _parties.c.enrol_proof)
    ).all()
    for row in rows:
        commitment, salt_enc = upgrader.commit(row.id_type, row.id_number_enc)
        connection.execute(
            _parties.update()
            .where(_parties.c.id == row.id)
            .values(
                identity_commitment=commitment,
                identity_salt_enc=salt_enc,
                legacy_enrol_proof_enc=upgrader.seal_proof(row.enrol_proof),
                enrol_proof=None,
            )
        )
        unsealed = sa.select(_contracts.c.id).where(_contracts.c.record_sequence.is_(None))
        connection.execute(
            _signatures.update()
            .where(_signatures.c.party_id == row.id, _signatures.c.contract_id.in_(unsealed))
            .values(identity_commitment=commitment)
        )

    with op.batch_alter_table("parties") as batch_op:
        batch_op.alter_column("identity_commitment", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("identity_salt_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("identity_sha256")
    with op.batch_alter_table("identity_verifications") as batch_op:
        batch_op.drop_column("identity_sha256")


def downgrade() -> None:
    connection = op.get_bind()
    upgrader = _upgrader(connection)
    with op.batch_alter_table("parties") as batch_op:
        batch_op.add_column(sa.Column("identity_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("identity_verifications") as batch_op:
        batch_op.add_column(sa.Column("identity_sha256", sa.String(length=64), nullable=True))
    rows = connection.execute(
        sa.select(
            _parties.c.id,
            _parties.c.id_type,
            _parties.c.id_number_enc,
            _parties.c.identity_commitment,
            _parties.c.enrol_proof,
            _parties.c.legacy_enrol_proof_enc,
        )
    ).all()
    verifications = sa.table(
        "identity_verifications",
        sa.column("key_fingerprint", sa.String),
        sa.column("identity_sha256", sa.String),
        sa.column("id_lookup", sa.String),
    )
    for row in rows:
        legacy = upgrader.legacy_hash(row.id_type, row.id_number_enc)
        proof = row.enrol_proof
        if row.legacy_enrol_proof_enc is not None:
            proof = upgrader.open_proof(row.legacy_enrol_proof_enc)
        connection.execute(
            _parties.update().where(_parties.c.id == row.id).values(identity_sha256=legacy, enrol_proof=proof)
        )
        connection.execute(
            _signatures.update()
            .where(
                _signatures.c.party_id == row.id,
                _signatures.c.identity_commitment == row.identity_commitment,
            )
            .values(identity_commitment=legacy)
        )
    # A verification names a person by the keyed lookup; its hash is that of a party with the
    # same lookup (round 1 always had one: a key is verified for a person who was enrolled).
    parties = sa.table("parties", sa.column("id_lookup", sa.String), sa.column("identity_sha256", sa.String))
    connection.execute(
        verifications.update().values(
            identity_sha256=sa.select(parties.c.identity_sha256)
            .where(parties.c.id_lookup == verifications.c.id_lookup)
            .limit(1)
            .scalar_subquery()
        )
    )
    connection.execute(verifications.delete().where(verifications.c.identity_sha256.is_(None)))
    with op.batch_alter_table("identity_verifications") as batch_op:
        batch_op.alter_column("identity_sha256", existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table("signatures") as batch_op:
        batch_op.drop_column("enrolment_proof")
        batch_op.alter_column(
            "identity_commitment",
            new_column_name="identity_sha256",
            existing_type=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("parties") as batch_op:
        batch_op.drop_column("legacy_enrol_proof_enc")
        batch_op.drop_column("identity_salt_enc")
        batch_op.drop_column("identity_commitment")
        batch_op.alter_column("identity_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("enrol_proof", existing_type=sa.LargeBinary(), nullable=False)
