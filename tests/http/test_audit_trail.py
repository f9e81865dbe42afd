"""The audit trail: hash-chained entries, one order under concurrent writers, heads in the log."""

from __future__ import annotations

import hashlib
import json
import threading

from sqlalchemy import select

from notary.services.audit import trail as audit
from notary.services.audit.integrity import run_audit
from notary.services.audit.records import AuditChainAuditor
from notary.services.clock import now_text
from notary.storage.access_models import AuditAnchor, AuditEntry
from notary.storage.models import LogLeaf
from notary.verify import payloads
from notary.verify.canonical import canonical_json


def append(runtime, action="test.act", **fields):
    with runtime.db.write() as session:
        audit.record(session, at=now_text(runtime.clock), actor=audit.operator("op"), action=action, **fields)


def entries(runtime):
    with runtime.db.read() as session:
        return session.execute(select(AuditEntry).order_by(AuditEntry.sequence)).scalars().all()


def test_entries_are_canonical_and_chained(runtime):
    append(runtime, "platform.add", object_kind="platform", object_id="pl_1", details={"name": "平台"})
    append(runtime, "case.approve", object_kind="case", object_id="cs_1", case_id="cs_1")
    first, second = entries(runtime)
    body = json.loads(first.entry)
    assert body == {
        "format": "notary-audit/1",
        "sequence": 0,
        "previous_sha256": payloads.GENESIS_SHA256,
        "at": first.at,
        "actor": {"kind": "operator", "id": "op"},
        "action": "platform.add",
        "object": {"kind": "platform", "id": "pl_1"},
        "details": {"name": "平台"},
    }
    assert first.entry == canonical_json(body)
    assert first.entry_sha256 == hashlib.sha256(first.entry).hexdigest()
    second_body = json.loads(second.entry)
    assert second_body["previous_sha256"] == second.previous_sha256 == first.entry_sha256
    assert second_body["case_id"] == "cs_1"
    assert "details" not in second_body  # absent, never null


def test_concurrent_writers_keep_one_order(runtime):
    writers, each = 4, 8
    failures = []

    def work():
        try:
            for _ in range(each):
                append(runtime)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [e.sequence for e in entries(runtime)] == list(range(writers * each))
    assert run_audit(runtime.db, [AuditChainAuditor()]).clean


class RecordingSink:
    def __init__(self):
        self.seen = []

    def leaves_appended(self, session, leaves):
        self.seen += [leaf.sequence for leaf in leaves]


def anchor(runtime):
    return audit.anchor_audit_head(runtime.db, runtime.clock, runtime.sequencer.sinks)


def test_the_head_reaches_the_log_at_least_once_a_minute(runtime, clock):
    sink = RecordingSink()
    runtime.sequencer.sinks.append(sink)
    assert anchor(runtime) == 0  # an empty trail has no head
    append(runtime)
    append(runtime)
    assert anchor(runtime) == 1  # the first growth goes in at once
    assert anchor(runtime) == 0  # nothing new
    append(runtime)
    clock.advance(seconds=30)
    assert anchor(runtime) == 0  # growing, but the last anchor is recent
    clock.advance(seconds=31)
    assert anchor(runtime) == 1
    with runtime.db.read() as session:
        leaves = session.execute(select(LogLeaf).order_by(LogLeaf.sequence)).scalars().all()
        anchors = session.execute(select(AuditAnchor).order_by(AuditAnchor.leaf_sequence)).scalars().all()
    trail = entries(runtime)
    assert [leaf.format for leaf in leaves] == ["notary-audit-head/1"] * 2
    assert sink.seen == [0, 1]  # the sequencer's sinks (the Merkle tree) see these leaves too
    second = json.loads(leaves[1].record)
    assert second == {
        "format": "notary-audit-head/1",
        "sequence": 1,
        "previous_record_sha256": leaves[0].record_sha256,
        "audit_sequence": 2,
        "audit_head_sha256": trail[2].entry_sha256,
        "at": anchors[1].anchored_at,
    }
    assert leaves[1].record == canonical_json(second)
    assert [(a.leaf_sequence, a.audit_sequence) for a in anchors] == [(0, 1), (1, 2)]


def test_the_worker_anchors(runtime, platform):
    # Registering the platform was an administrative act: the trail has grown.
    assert runtime.worker(holder="test").run_once() >= 1
    with runtime.db.read() as session:
        formats = session.execute(select(LogLeaf.format)).scalars().all()
    assert formats == ["notary-audit-head/1"]
