"""Issue 15.4: what ``notary audit`` did not see, each change now found and named.

Before the fix each of these left ``notary audit`` reporting clean: a record's RFC 3161 token
swapped with another record's, or one byte of a token flipped; one byte of a stored certificate
PDF flipped; ``certificates.facts`` edited; a party's ``public_key_der`` replaced (that key goes
into bundles' ``keys/*.pem`` and into login). A value of the wrong type in a column was a
traceback; ``notary audit --all`` lists every divergence instead of each check's first.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select, text, update

from notary.cli import main
from notary.storage.models import Blob, IssuedCertificate, LogLeaf, Party, RecordTimestamp
from tests.http.test_integrity import audit_of, populate


@pytest.fixture
def store(runtime, client):
    """Sealed, stamped and certified contracts, on a clean store."""
    filed = populate(runtime, client)
    runtime.stamper.stamp_records()
    runtime.stamper.stamp_checkpoints()
    for item in filed:
        runtime.certificates.certificate(item["contract_id"])
    report = audit_of(runtime)
    assert report.clean, report.as_dict()
    checked = {result.name: result.checked for result in report.results}
    assert checked["timestamp_tokens"] >= 6  # three records, three checkpoints
    assert checked["certificates"] == 3
    return filed


def diverged(runtime):
    return {result.name: result.divergence for result in audit_of(runtime).results if result.divergence}


def test_a_record_token_swapped_with_another_is_found(runtime, store):
    with runtime.db.write() as session:
        first, second = session.execute(
            select(RecordTimestamp.sequence, RecordTimestamp.response)
            .order_by(RecordTimestamp.sequence)
            .limit(2)
        ).all()
        for sequence, response in ((first.sequence, second.response), (second.sequence, first.response)):
            session.execute(
                update(RecordTimestamp).where(RecordTimestamp.sequence == sequence).values(response=response)
            )
    found = diverged(runtime)
    assert found["timestamp_tokens"].where == f"of log leaf {first.sequence}"
    assert "imprint_mismatch" in found["timestamp_tokens"].message


def test_one_flipped_byte_of_a_token_is_found(runtime, store):
    with runtime.db.write() as session:
        row = session.execute(select(RecordTimestamp.sequence, RecordTimestamp.response).limit(1)).one()
        token = bytearray(row.response)
        token[len(token) // 2] ^= 0x01
        session.execute(
            update(RecordTimestamp)
            .where(RecordTimestamp.sequence == row.sequence)
            .values(response=bytes(token))
        )
    assert diverged(runtime)["timestamp_tokens"].where == f"of log leaf {row.sequence}"


def test_one_flipped_byte_of_a_certificate_pdf_is_found(runtime, store, settings):
    with runtime.db.read() as session:
        issued = session.execute(select(IssuedCertificate).limit(1)).scalar_one()
        digest, contract_id = issued.pdf_sha256, issued.contract_id
        inline = session.get(Blob, digest)
    if inline is not None:
        with runtime.db.write() as session:
            data = bytearray(session.get(Blob, digest).data)
            data[len(data) // 3] ^= 0x01
            session.execute(update(Blob).where(Blob.sha256 == digest).values(data=bytes(data)))
    else:
        path = settings.blob_dir / digest[:2] / digest[2:4] / digest
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0x01
        path.write_bytes(bytes(data))
    found = diverged(runtime)["certificates"]
    assert found.where == f"of contract {contract_id}"
    assert "does not hash" in found.message


def test_a_certificate_resigned_with_its_hash_updated_is_still_found(runtime, store):
    """An operator who changes the PDF and records its new hash: the signature gives it away."""
    with runtime.db.read() as session:
        issued = session.execute(select(IssuedCertificate).limit(1)).scalar_one()
        pdf = runtime.blobs.get(session, issued.pdf_sha256)
    changed = pdf.replace(b"/Producer", b"/Producex", 1) if b"/Producer" in pdf else pdf + b"%\n"
    import hashlib

    digest = hashlib.sha256(changed).hexdigest()
    runtime.blobs.stage([(digest, changed)])
    with runtime.db.write() as session:
        runtime.blobs.put_many(session, [(digest, changed)])
        session.execute(
            update(IssuedCertificate)
            .where(IssuedCertificate.contract_id == issued.contract_id)
            .values(pdf_sha256=digest, pdf_size=len(changed))
        )
    found = diverged(runtime)["certificates"]
    assert found.where == f"of contract {issued.contract_id}"


def test_edited_certificate_facts_are_found(runtime, store):
    with runtime.db.write() as session:
        issued = session.execute(select(IssuedCertificate).limit(1)).scalar_one()
        facts = json.loads(issued.facts)
        facts["amount"] = "99999.00"
        session.execute(
            update(IssuedCertificate)
            .where(IssuedCertificate.contract_id == issued.contract_id)
            .values(facts=json.dumps(facts, ensure_ascii=False).encode())
        )
    found = diverged(runtime)["certificates"]
    assert "amount" in found.message


def test_a_replaced_party_key_is_found(runtime, store):
    stranger = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with runtime.db.write() as session:
        party = session.execute(select(Party).where(Party.algorithm == "ed25519").limit(1)).scalar_one()
        session.execute(update(Party).where(Party.id == party.id).values(public_key_der=stranger))
    found = diverged(runtime)["party_keys"]
    assert found.where == f"of party {party.id}"
    assert "not the key its fingerprint names" in found.message


def test_a_value_of_the_wrong_type_is_a_divergence_not_a_traceback(runtime, store, database_url):
    if database_url.startswith("postgresql"):
        # PostgreSQL refuses the wrong type on write; what it can hold wrongly is text.
        with runtime.db.write() as session:
            session.execute(update(RecordTimestamp).values(gen_time="not a time"))
    else:
        with runtime.db.write() as session:  # SQLite keeps whatever it is given
            session.execute(
                text("UPDATE record_timestamps SET response = 'text, not bytes' WHERE sequence = 0")
            )
            session.execute(text("UPDATE parties SET public_key_der = 42"))
    report = audit_of(runtime)  # no exception
    assert not report.clean
    names = {result.name for result in report.results if result.divergence}
    assert "timestamp_tokens" in names


@pytest.mark.wallclock  # the CLI builds its own runtime, on the machine's clock
def test_audit_all_lists_every_divergence(runtime, store, settings):
    with runtime.db.write() as session:
        rows = session.execute(select(RecordTimestamp.sequence, RecordTimestamp.response)).all()
        for row in rows:
            token = bytearray(row.response)
            token[len(token) // 2] ^= 0x01
            session.execute(
                update(RecordTimestamp)
                .where(RecordTimestamp.sequence == row.sequence)
                .values(response=bytes(token))
            )
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    first = CliRunner().invoke(main, ["audit", "--json"], env=env)
    assert first.exit_code == 1, first.output
    every = CliRunner().invoke(main, ["audit", "--all", "--json"], env=env)
    assert every.exit_code == 1, every.output
    report = json.loads(every.stdout)
    tokens = [d for d in report["divergences"] if d["check"] == "timestamp_tokens"]
    assert len(rows) == 4  # three contracts' records and the audit head's
    # Each flipped token, not just the first.
    assert [d["where"] for d in tokens] == [f"of log leaf {row.sequence}" for row in rows]
    assert "divergences" not in json.loads(first.stdout)
    text_report = CliRunner().invoke(main, ["audit", "--all"], env=env)
    assert f"{len(report['divergences'])} divergence(s):" in text_report.stdout


def test_a_leaf_of_a_kind_the_registry_does_not_hold_is_found(runtime, store):
    """A leaf written with its hashes kept consistent but a format no issue registered (what a
    rogue or buggy writer would leave): round 1's audit only compared the leaf's format with
    its column, and passed it."""
    from notary.verify.canonical import canonical_json
    from notary.verify.merkle.proofs import leaf_hash

    with runtime.db.write() as session:
        leaf = session.execute(select(LogLeaf).order_by(LogLeaf.sequence.desc()).limit(1)).scalar_one()
        value = json.loads(leaf.record)
        value["format"] = "notary-made-up/1"
        record = canonical_json(value)
        session.execute(
            update(LogLeaf)
            .where(LogLeaf.sequence == leaf.sequence)
            .values(
                record=record,
                format="notary-made-up/1",
                record_sha256=hashlib.sha256(record).hexdigest(),
                leaf_hash=leaf_hash(record),
            )
        )
    found = diverged(runtime)["log_leaves"]
    assert found.where == str(leaf.sequence)
    assert found.message.startswith("unknown_leaf_format")
