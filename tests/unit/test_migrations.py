"""Upgrading a store made by an earlier release keeps its data (and downgrading restores it)."""

from __future__ import annotations

import itertools
import os

import pytest
from alembic import command
from sqlalchemy import select, text

from notary.storage.db import Database
from notary.storage.models import CheckpointTimestamp, RecordTimestamp, TsaChain
from notary.storage.schema import alembic_config

CHAIN_A = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
CHAIN_B = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
_names = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    cluster = request.getfixturevalue("postgres")
    name = f"notary_migration_{os.getpid()}_{next(_names)}"
    cluster.execute(f"CREATE DATABASE {name}")
    database = Database(cluster.url(name))
    yield database
    database.dispose()
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate(database: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0005_moves_each_tokens_chain_to_one_stored_copy_and_back(empty_database):
    db = empty_database
    migrate(db, "0004")
    now = "2026-01-01T00:00:00.000Z"
    with db.engine.begin() as conn:
        for sequence in range(3):
            conn.execute(
                text(
                    "INSERT INTO log_leaves (sequence, format, record, record_sha256, leaf_hash, created_at) "
                    "VALUES (:s, 'notary-record/1', :r, :h, :l, :t)"
                ),
                {
                    "s": sequence,
                    "r": b"record %d" % sequence,
                    "h": f"{sequence:064x}",
                    "l": bytes(32),
                    "t": now,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO record_timestamps (sequence, authority, response, chain_pem, gen_time, serial,"
                    " stamped_at) VALUES (:s, 'embedded', :r, :c, :t, '1', :t)"
                ),
                {"s": sequence, "r": b"token", "c": CHAIN_A if sequence < 2 else CHAIN_B, "t": now},
            )
        conn.execute(
            text(
                "INSERT INTO checkpoints (tree_size, root_hash, note, origin, key_hash, signed_at) "
                "VALUES (3, :h, 'note', 'origin', 'abcd1234', :t)"
            ),
            {"h": bytes(32), "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO checkpoint_timestamps (tree_size, authority, position, response, chain_pem,"
                " gen_time, serial, stamped_at) VALUES (3, 'embedded', 1, :r, :c, :t, '2', :t)"
            ),
            {"r": b"token", "c": CHAIN_A, "t": now},
        )

    migrate(db, "head")
    with db.read() as session:
        assert sorted(session.execute(select(TsaChain.pem)).scalars()) == [CHAIN_A, CHAIN_B]
        records = session.execute(select(RecordTimestamp).order_by(RecordTimestamp.sequence)).scalars().all()
        assert [row.chain_pem for row in records] == [CHAIN_A, CHAIN_A, CHAIN_B]
        checkpoint = session.execute(select(CheckpointTimestamp)).scalar_one()
        assert checkpoint.chain_pem == CHAIN_A

    migrate(db, "0004", down=True)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT chain_pem FROM record_timestamps ORDER BY sequence")).scalars().all()
        assert rows == [CHAIN_A, CHAIN_A, CHAIN_B]
        assert conn.execute(text("SELECT chain_pem FROM checkpoint_timestamps")).scalar_one() == CHAIN_A


def test_the_migrations_build_exactly_the_models_schema(empty_database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from notary.storage.models import Base

    migrate(empty_database, "head")
    with empty_database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
