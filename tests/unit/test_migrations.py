"""Upgrading a store made by an earlier release keeps its data (and downgrading restores it)."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from alembic import command
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text

from notary.storage.db import Database
from notary.storage.models import CheckpointTimestamp, RecordTimestamp, TsaChain
from notary.storage.schema import alembic_config, migration_connection

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
    # As `notary init` does: SQLite's table copies need its foreign keys off (schema.py).
    with migration_connection(database) as connection:
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

    migrate(db, "0006")  # its own revision: 0011 needs the personal-data key
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


# --- 0011: salted identity commitments (issue 15.1) ----------------------------------------------


def _secrets():
    import secrets as random_source

    from notary.services.ceremony.identity import IdentitySecrets, PiiCipher

    return IdentitySecrets(PiiCipher(random_source.token_bytes(32), random_source.token_bytes(32)))


def _round_one_store(db, secrets):
    """What round 1 stored: two parties with unsalted hashes and v1 proofs, a sealed contract and
    an unsealed one, and an operator's identity verification."""
    from notary.verify import payloads

    now = "2026-01-01T00:00:00.000Z"
    numbers = {"pa_1": "11010519491231002X", "pa_2": "110102198001010017"}
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO platforms (id, name, status, created_at) VALUES ('pl_1', 'P', 'active', :t)"),
            {"t": now},
        )
        for party_id, number in numbers.items():
            conn.execute(
                text(
                    "INSERT INTO parties (id, platform_id, name, id_type, id_lookup, identity_sha256, id_number_enc,"
                    " id_number_masked, public_key_der, key_fingerprint, algorithm, enrol_proof, created_at)"
                    " VALUES (:id, 'pl_1', 'n', 'cn_resident', :lookup, :hash, :enc, 'm', :der, :fp, 'ed25519',"
                    " :proof, :t)"
                ),
                {
                    "id": party_id,
                    "lookup": secrets.cipher.lookup("cn_resident", number),
                    "hash": payloads.identity_sha256("cn_resident", number),
                    "enc": secrets.cipher.encrypt(number, context="party.id_number"),
                    "der": b"der " + party_id.encode(),
                    "fp": f"{party_id:0>64}",
                    "proof": b"v1 proof of " + party_id.encode(),
                    "t": now,
                },
            )
        for contract_id, sequence in (("ct_sealed", 0), ("ct_open", None)):
            conn.execute(
                text(
                    "INSERT INTO contracts (id, platform_id, investor_id, borrower_id, status, document_sha256,"
                    " document_size, media_type, terms_json, terms_sha256, request_sha256, received_at, deadline,"
                    " record_sequence) VALUES (:id, 'pl_1', 'pa_1', 'pa_2', 'signed', :h, 1, 'application/pdf',"
                    " :terms, :h, :h, :t, :t, :seq)"
                ),
                {
                    "id": contract_id,
                    "h": "0" * 64,
                    "terms": b'{"amount":"1.00","currency":"CNY","start_date":"2026-01-01"}',
                    "t": now,
                    "seq": sequence,
                },
            )
            for role, party_id in (("investor", "pa_1"), ("borrower", "pa_2")):
                conn.execute(
                    text(
                        "INSERT INTO signatures (contract_id, role, purpose, party_id, algorithm, key_fingerprint,"
                        " identity_sha256, identity_assurance, signature, submitted_sha256, signed_at) VALUES"
                        " (:c, :r, 'notary.sign.v1', :p, 'ed25519', :fp, :hash, 'platform', :s, :h, :t)"
                    ),
                    {
                        "c": contract_id,
                        "r": role,
                        "p": party_id,
                        "fp": f"{party_id:0>64}",
                        "hash": payloads.identity_sha256("cn_resident", numbers[party_id]),
                        "s": b"sig",
                        "h": "0" * 64,
                        "t": now,
                    },
                )
        conn.execute(
            text(
                "INSERT INTO identity_verifications (key_fingerprint, public_key_der, algorithm, id_type, id_lookup,"
                " identity_sha256, id_number_masked, verified_by, verified_at) VALUES (:fp, :der, 'ed25519',"
                " 'cn_resident', :lookup, :hash, 'm', 'op', :t)"
            ),
            {
                "fp": "pa_1".rjust(64, "0"),
                "der": b"der pa_1",
                "lookup": secrets.cipher.lookup("cn_resident", numbers["pa_1"]),
                "hash": payloads.identity_sha256("cn_resident", numbers["pa_1"]),
                "t": now,
            },
        )
    return numbers


def _upgrade_0011(db, secrets, *, down=False, revision="0011"):
    config = alembic_config(db)
    with migration_connection(db) as connection:
        config.attributes["connection"] = connection
        config.attributes["identity_upgrade"] = secrets
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0011_gives_round_one_parties_salted_commitments_and_hides_their_hashes(empty_database):
    from notary.verify import payloads
    from notary.verify.canonical import parse_canonical_json

    db, secrets = empty_database, _secrets()
    migrate(db, "0005")
    numbers = _round_one_store(db, secrets)
    migrate(db, "0010")
    with pytest.raises(RuntimeError, match="notary init"):
        migrate(db, "0011")  # no personal-data key: refused, nothing half-done
    _upgrade_0011(db, secrets)

    with db.engine.connect() as conn:
        parties = conn.execute(
            text(
                "SELECT id, id_type, id_number_enc, identity_commitment, identity_salt_enc, enrol_proof,"
                " legacy_enrol_proof_enc FROM parties ORDER BY id"
            )
        ).all()
        signatures = {
            (row.contract_id, row.party_id): row.identity_commitment
            for row in conn.execute(text("SELECT contract_id, party_id, identity_commitment FROM signatures"))
        }
        party_columns = {c["name"] for c in sa_inspect(conn).get_columns("parties")}
        verification_columns = {c["name"] for c in sa_inspect(conn).get_columns("identity_verifications")}
    assert "identity_sha256" not in party_columns | verification_columns
    for party in parties:
        opening = secrets.opening(
            id_type=party.id_type, id_number_enc=party.id_number_enc, salt_enc=party.identity_salt_enc
        )
        assert parse_canonical_json(opening)["id_number"] == numbers[party.id]
        assert payloads.identity_commitment(opening) == party.identity_commitment
        assert party.enrol_proof is None
        assert secrets.open_proof(party.legacy_enrol_proof_enc) == b"v1 proof of " + party.id.encode()
        # A contract not sealed yet will be sealed as record/2 with the commitment; a sealed one
        # keeps the round-1 hash its record/1 leaf already holds.
        assert signatures[("ct_open", party.id)] == party.identity_commitment
        assert signatures[("ct_sealed", party.id)] == payloads.identity_sha256(
            "cn_resident", numbers[party.id]
        )

    _upgrade_0011(db, secrets, down=True, revision="0010")
    with db.engine.connect() as conn:
        restored = dict(conn.execute(text("SELECT id, identity_sha256 FROM parties")).all())
        proofs = dict(conn.execute(text("SELECT id, enrol_proof FROM parties")).all())
        opened = dict(
            conn.execute(text("SELECT contract_id || party_id, identity_sha256 FROM signatures")).all()
        )
        verified = conn.execute(text("SELECT identity_sha256 FROM identity_verifications")).scalar_one()
    assert restored == {pid: payloads.identity_sha256("cn_resident", n) for pid, n in numbers.items()}
    assert {pid: bytes(proof) for pid, proof in proofs.items()} == {
        pid: b"v1 proof of " + pid.encode() for pid in numbers
    }
    assert opened["ct_openpa_2"] == restored["pa_2"]
    assert verified == restored["pa_1"]
