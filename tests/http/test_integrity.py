"""``notary audit``: one changed byte anywhere is found, named, and reported as the first divergence."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import delete, select, update

from notary.app import create_app
from notary.cli import main
from notary.runtime import Runtime
from notary.signing.note_signer import NoteSigner
from notary.storage.access_models import AuditEntry
from notary.storage.models import Blob, LogLeaf, SignedCheckpoint, TreeNode
from notary.verify.canonical import canonical_json
from notary.verify.merkle.proofs import leaf_hash
from notary.verify.note import Checkpoint
from tests.support.log_audit import audit_of, populate


def change_one_digit(data: bytes, after: bytes) -> bytes:
    """``data`` with the first digit after ``after`` changed to another digit: one byte differs."""
    match = re.compile(re.escape(after) + rb"[^0-9]*([0-9])").search(data)
    assert match is not None
    at = match.start(1)
    return data[:at] + bytes([ord("0") + (data[at] - ord("0") + 1) % 10]) + data[at + 1 :]


@pytest.fixture
def filed(runtime, client):
    return populate(runtime, client)


def test_a_clean_store_passes_every_check(runtime, client):
    empty = audit_of(runtime)
    assert empty.clean
    assert [result.checked for result in empty.results] == [0] * 14
    populate(runtime, client)
    report = audit_of(runtime)
    assert report.clean
    checked = {result.name: result.checked for result in report.results}
    assert checked == {
        "documents": 3,
        "log_leaves": 4,  # three records and one audit head
        "record_chain": 4,
        "merkle_tree": 7,  # 4 leaves, 2 pairs, 1 of four
        "checkpoints": 3,
        "timestamp_tokens": 0,  # not stamped here: tests/http/test_audit_surface.py stamps them
        "contract_records": 3,
        "party_keys": 2,
        "certificates": 0,
        "audit_chain": checked["audit_chain"],
        "audit_anchors": 1,
        "reports": 0,
        "report_leaves": 0,
        "key_events": 0,
    }
    assert checked["audit_chain"] >= 4  # platform.add and three document reads


def test_one_changed_byte_is_found_each_time(runtime, filed, settings):
    """A record, a document on disk and an audit entry: each change is the first divergence, and
    putting the byte back makes the store clean again.
    """

    def swap_leaf(sequence, record):
        with runtime.db.write() as session:
            session.execute(update(LogLeaf).where(LogLeaf.sequence == sequence).values(record=record))

    with runtime.db.read() as session:
        record = session.execute(select(LogLeaf.record).where(LogLeaf.sequence == 1)).scalar_one()
    changed = change_one_digit(record, b'"document_size":')
    swap_leaf(1, changed)
    report = audit_of(runtime)
    first = report.divergence
    assert first is not None
    assert (first.check, first.what, first.where) == ("log_leaves", "log leaf", "1")
    assert (first.expected, first.found) == (
        hashlib.sha256(record).hexdigest(),
        hashlib.sha256(changed).hexdigest(),
    )
    others = {result.name: result.divergence for result in report.results if result.divergence}
    # The chain breaks at the next leaf, and the record no longer matches its contract.
    assert others["record_chain"].where == "2"
    assert others["contract_records"].where == filed[1]["contract_id"]
    assert "document_size" in others["contract_records"].message
    swap_leaf(1, record)
    assert audit_of(runtime).clean

    digest = filed[1]["document_sha256"]
    path = settings.blob_dir / digest[:2] / digest[2:4] / digest
    original = path.read_bytes()
    data = bytearray(original)
    data[5] ^= 0x01
    path.write_bytes(bytes(data))
    first = audit_of(runtime).divergence
    assert first is not None
    assert (first.check, first.what) == ("documents", "document")
    assert first.where == f"{digest} (contract {filed[1]['contract_id']})"
    assert (first.expected, first.found) == (digest, hashlib.sha256(bytes(data)).hexdigest())
    path.unlink()
    assert "missing" in audit_of(runtime).divergence.message
    path.write_bytes(original)
    assert audit_of(runtime).clean

    with runtime.db.read() as session:
        entry = session.execute(select(AuditEntry.entry).where(AuditEntry.sequence == 2)).scalar_one()
    changed = change_one_digit(entry, b'"at":')
    with runtime.db.write() as session:
        session.execute(update(AuditEntry).where(AuditEntry.sequence == 2).values(entry=changed))
    first = audit_of(runtime).divergence
    assert first is not None
    assert (first.check, first.what, first.where) == ("audit_chain", "audit entry", "2")
    assert first.found == hashlib.sha256(changed).hexdigest()


def test_the_tree_and_checkpoints_are_rederived(runtime, filed):
    with runtime.db.read() as session:
        node = session.execute(
            select(TreeNode.hash).where(TreeNode.level == 1, TreeNode.idx == 1)
        ).scalar_one()
        note = session.execute(
            select(SignedCheckpoint.note).where(SignedCheckpoint.tree_size == 2)
        ).scalar_one()
    changed = bytes([node[0] ^ 0x01]) + node[1:]
    with runtime.db.write() as session:
        session.execute(update(TreeNode).where(TreeNode.level == 1, TreeNode.idx == 1).values(hash=changed))
    report = audit_of(runtime)
    first = report.divergence
    assert (first.check, first.where) == ("merkle_tree", "node (1, 1)")
    assert (first.expected, first.found) == (node.hex(), changed.hex())
    with runtime.db.write() as session:
        session.execute(update(TreeNode).where(TreeNode.level == 1, TreeNode.idx == 1).values(hash=node))
        session.execute(delete(TreeNode).where(TreeNode.level == 1, TreeNode.idx == 1))
    assert audit_of(runtime).divergence.where == "node (1, 1)"  # a complete subtree is missing
    with runtime.db.write() as session:
        session.add(TreeNode(level=1, idx=1, hash=node))

    # One changed character of a checkpoint's signature line.
    body, _, signature = note.rpartition(" ")
    forged = body + " " + ("B" if signature[0] != "B" else "C") + signature[1:]
    with runtime.db.write() as session:
        session.execute(update(SignedCheckpoint).where(SignedCheckpoint.tree_size == 2).values(note=forged))
    first = audit_of(runtime).divergence
    assert (first.check, first.what, first.where) == ("checkpoints", "checkpoint", "at tree size 2")
    # A checkpoint signed by another key, however well formed, is not the log's.
    impostor = NoteSigner(runtime.log_signer.name, ed25519.Ed25519PrivateKey.generate())
    with runtime.db.read() as session:
        root = session.execute(
            select(SignedCheckpoint.root_hash).where(SignedCheckpoint.tree_size == 2)
        ).scalar_one()
    signed = impostor.sign_checkpoint(Checkpoint(runtime.log_signer.name, 2, root))
    with runtime.db.write() as session:
        session.execute(update(SignedCheckpoint).where(SignedCheckpoint.tree_size == 2).values(note=signed))
    first = audit_of(runtime).divergence
    assert first.check == "checkpoints"
    with runtime.db.write() as session:
        session.execute(update(SignedCheckpoint).where(SignedCheckpoint.tree_size == 2).values(note=note))
    assert audit_of(runtime).clean


def test_rewrites_with_recomputed_hashes_are_still_caught(runtime, filed):
    # A record rewritten with its own hashes: the next leaf and its contract disagree.
    with runtime.db.write() as session:
        leaf = session.execute(select(LogLeaf).where(LogLeaf.sequence == 2)).scalar_one()
        record = json.loads(leaf.record)
        record["signatures"]["investor"]["signed_at"] = "2020-01-01T00:00:00.000Z"
        forged = canonical_json(record)
        original = (leaf.record, leaf.record_sha256, leaf.leaf_hash)
        leaf.record, leaf.record_sha256, leaf.leaf_hash = (
            forged,
            hashlib.sha256(forged).hexdigest(),
            leaf_hash(forged),
        )
    report = audit_of(runtime)
    assert (report.divergence.check, report.divergence.where) == (
        "record_chain",
        "3",
    )  # leaf 3 names the old 2
    diverged = {r.name: r.divergence for r in report.results if r.divergence}
    assert "signatures.investor.signed_at" in diverged["contract_records"].message
    with runtime.db.write() as session:
        leaf = session.execute(select(LogLeaf).where(LogLeaf.sequence == 2)).scalar_one()
        leaf.record, leaf.record_sha256, leaf.leaf_hash = original

    # An operator who rewrites an audit entry and re-chains every later one still cannot
    # change the heads already written into the log.
    with runtime.db.write() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.sequence)).scalars().all()
        previous = None
        for row in rows:
            body = json.loads(row.entry)
            if row.sequence == 0:
                body["actor"]["id"] = row.actor_id = "someone-else"
            if previous is not None:
                body["previous_sha256"] = row.previous_sha256 = previous
            row.entry = canonical_json(body)
            row.entry_sha256 = previous = hashlib.sha256(row.entry).hexdigest()
    report = audit_of(runtime)
    assert {r.name for r in report.results if r.divergence} == {"audit_anchors"}
    assert report.divergence.what == "log leaf"


def test_one_changed_byte_of_a_document_in_the_database(settings, clock):
    runtime = Runtime(dataclasses.replace(settings, blob_store="database"), clock=clock, web=True)
    try:
        filed = populate(runtime, create_app(runtime=runtime).test_client(), contracts=2)
        digest = filed[0]["document_sha256"]
        with runtime.db.write() as session:
            data = session.execute(select(Blob.data).where(Blob.sha256 == digest)).scalar_one()
            session.execute(update(Blob).where(Blob.sha256 == digest).values(data=b"X" + data[1:]))
        first = audit_of(runtime).divergence
        assert first is not None
        assert (first.check, first.expected) == ("documents", digest)
    finally:
        runtime.close()


@pytest.mark.wallclock  # the CLI builds its own runtime on the machine clock
def test_the_command_exits_0_clean_and_1_at_a_divergence(runtime, filed, settings):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    clean = CliRunner().invoke(main, ["audit", "--json"], env=env)
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["clean"] is True
    with runtime.db.write() as session:
        entry = session.execute(select(AuditEntry.entry).where(AuditEntry.sequence == 1)).scalar_one()
        session.execute(
            update(AuditEntry).where(AuditEntry.sequence == 1).values(entry=change_one_digit(entry, b'"at":'))
        )
    diverged = CliRunner().invoke(main, ["audit", "--json"], env=env)
    assert diverged.exit_code == 1
    report = json.loads(diverged.stdout)
    assert report["clean"] is False
    assert report["divergence"]["check"] == "audit_chain"
    assert report["divergence"]["where"] == "1"
    text = CliRunner().invoke(main, ["audit"], env=env)
    assert text.exit_code == 1
    assert "first divergence: audit_chain: audit entry 1" in text.stdout
