"""Upgrading a store made by an earlier release keeps its data (and downgrading restores it)."""

from __future__ import annotations

import itertools
import json
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


def _insert(conn, table: str, **values) -> None:
    columns = ", ".join(values)
    conn.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
    )


def test_0006_fills_amounts_in_fen_and_one_identity_per_key(empty_database):
    db = empty_database
    migrate(db, "0005")
    now, later = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"
    key, other_key = "a" * 64, "b" * 64
    with db.engine.begin() as conn:
        for platform in ("pl_1", "pl_2"):
            _insert(conn, "platforms", id=platform, name=platform, status="active", created_at=now)
        party = {"id_type": "cn_resident", "identity_sha256": "0" * 64, "id_number_enc": b"x",
                 "id_number_masked": "110***", "public_key_der": b"k", "algorithm": "ed25519",
                 "enrol_proof": b"p", "name": "n"}  # fmt: skip
        # Old data from the race: one key enrolled under two identities; the earlier one wins.
        _insert(conn, "parties", id="pa_1", platform_id="pl_1", id_lookup="1" * 64, key_fingerprint=key,
                created_at=now, **party)  # fmt: skip
        _insert(conn, "parties", id="pa_2", platform_id="pl_2", id_lookup="2" * 64, key_fingerprint=key,
                created_at=later, **party)  # fmt: skip
        _insert(conn, "parties", id="pa_3", platform_id="pl_1", id_lookup="3" * 64,
                key_fingerprint=other_key, created_at=now, **party)  # fmt: skip
        _insert(conn, "identity_verifications", key_fingerprint="c" * 64, public_key_der=b"k",
                algorithm="ed25519", id_type="cn_resident", id_lookup="4" * 64, identity_sha256="0" * 64,
                id_number_masked="110***", verified_by="op", verified_at=later)  # fmt: skip
        for contract, amount in (("ct_1", "10000.5"), ("ct_2", "999999999999999.99"), ("ct_3", "7")):
            terms = json.dumps({"amount": amount, "currency": "CNY", "start_date": "2026-01-01"}).encode()
            _insert(conn, "contracts", id=contract, platform_id="pl_1", investor_id="pa_1", borrower_id="pa_3",
                    status="awaiting_signatures", document_sha256="0" * 64, document_size=1,
                    media_type="application/pdf", terms_json=terms, terms_sha256="0" * 64,
                    request_sha256="0" * 64, received_at=now, deadline=later)  # fmt: skip

    migrate(db, "head")
    with db.engine.begin() as conn:
        fen = dict(conn.execute(text("SELECT id, amount_fen FROM contracts")).all())
        assert fen == {"ct_1": 1000050, "ct_2": 99999999999999999, "ct_3": 700}
        assert (
            conn.execute(text("SELECT sum(amount_fen) FROM contracts")).scalar_one()
            == 99999999999999999 + 1000750
        )
        bound = dict(conn.execute(text("SELECT key_fingerprint, id_lookup FROM key_identities")).all())
        assert bound == {key: "1" * 64, other_key: "3" * 64, "c" * 64: "4" * 64}
        # A case's scope may now name an id that does not exist (answered alike until approval).
        _insert(conn, "investigators", id="iv_1", name="w", agency="a", created_by="op", created_at=now)
        _insert(conn, "cases", id="cs_1", investigator_id="iv_1", case_number="1", legal_basis="law",
                scope_kind="platform", scope_platform_id="pl_unknown", status="pending", created_at=now)  # fmt: skip
        conn.execute(text("DELETE FROM cases"))

    migrate(db, "0005", down=True)
    with db.engine.connect() as conn:
        assert "amount_fen" not in list(conn.execute(text("SELECT * FROM contracts")).keys())


def test_0007_fills_start_dates_from_the_signed_terms(empty_database):
    db = empty_database
    migrate(db, "0006")
    now = "2026-01-01T00:00:00.000Z"
    with db.engine.begin() as conn:
        _insert(conn, "platforms", id="pl_1", name="p", status="active", created_at=now)
        party = {"platform_id": "pl_1", "id_type": "cn_resident", "identity_sha256": "0" * 64,
                 "id_number_enc": b"x", "id_number_masked": "110***", "public_key_der": b"k",
                 "algorithm": "ed25519", "enrol_proof": b"p", "name": "n", "created_at": now}  # fmt: skip
        _insert(conn, "parties", id="pa_1", id_lookup="1" * 64, key_fingerprint="a" * 64, **party)
        _insert(conn, "parties", id="pa_2", id_lookup="2" * 64, key_fingerprint="b" * 64, **party)
        for contract, start in (("ct_1", "2026-12-01"), ("ct_2", "2025-02-28")):
            terms = json.dumps({"amount": "1.00", "currency": "CNY", "start_date": start}).encode()
            _insert(conn, "contracts", id=contract, platform_id="pl_1", investor_id="pa_1", borrower_id="pa_2",
                    status="awaiting_signatures", document_sha256="0" * 64, document_size=1,
                    media_type="application/pdf", terms_json=terms, terms_sha256="0" * 64, amount_fen=100,
                    request_sha256="0" * 64, received_at=now, deadline=now)  # fmt: skip

    migrate(db, "0007")
    with db.engine.connect() as conn:
        dates = dict(conn.execute(text("SELECT id, start_date FROM contracts")).all())
    assert dates == {"ct_1": "2026-12-01", "ct_2": "2025-02-28"}

    migrate(db, "0006", down=True)
    with db.engine.connect() as conn:
        assert "start_date" not in list(conn.execute(text("SELECT * FROM contracts")).keys())
