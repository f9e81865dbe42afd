"""The leaf-kind registry (docs/formats.md section 4): one table, format → strict parser, that
the audit and the verifiers share; a format it does not hold is refused, never guessed at."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from notary.verify import leaves, payloads
from notary.verify.canonical import canonical_json
from notary.verify.key_events import KEY_EVENT_FORMATS, parse_key_event
from notary.verify.reports import REPORT_LEAF_FORMAT
from tests.support.evidence import SampleLog, SampleNotary

FORMATS_MD = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def registry_rows() -> set[str]:
    """The leaf formats formats.md's registry table lists as built (not the reserved ones)."""
    text = FORMATS_MD.read_text(encoding="utf-8")
    table = text.split("## 4. Leaf kinds")[1].split("\n## ")[0]
    return set(re.findall(r"^\| `(notary-[a-z-]+/\d+)` \|", table, re.MULTILINE))


def test_the_registry_in_code_is_the_table_in_formats_md():
    documented = registry_rows()
    assert set(leaves.LEAF_FORMATS) == documented
    assert REPORT_LEAF_FORMAT in leaves.LEAF_KINDS
    for kind in KEY_EVENT_FORMATS:
        assert leaves.LEAF_KINDS[kind] is parse_key_event


@pytest.fixture(scope="module")
def sample_log(tmp_path_factory):
    return SampleLog(SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys"), 2)


def test_each_kind_parses_with_its_own_parser(sample_log):
    log = sample_log
    for filed in log.filed:
        assert leaves.parse_leaf(filed.record)[0] == payloads.RECORD_FORMAT_V2
    head = canonical_json(
        {
            "format": leaves.AUDIT_HEAD,
            "sequence": 2,
            "previous_record_sha256": "0" * 64,
            "audit_sequence": 7,
            "audit_head_sha256": "a" * 64,
            "at": "2026-01-01T00:00:00.000Z",
        }
    )
    kind, parsed = leaves.parse_leaf(head)
    assert kind == leaves.AUDIT_HEAD
    assert parsed.audit_sequence == 7


@pytest.mark.parametrize(
    "leaf",
    [
        {"format": "notary-made-up/1", "sequence": 0, "previous_record_sha256": "0" * 64},
        {"sequence": 0, "previous_record_sha256": "0" * 64},
        {"format": 1, "sequence": 0},
        ["notary-record/2"],
    ],
)
def test_a_format_not_in_the_registry_is_refused(leaf):
    with pytest.raises(leaves.UnknownLeafFormat):
        leaves.parse_leaf(canonical_json(leaf))


def test_a_registered_kind_with_a_field_too_many_is_refused(sample_log):
    record = sample_log.filed[0].record
    value = json.loads(record)
    value["note"] = "added"
    with pytest.raises(leaves.MalformedLeaf, match="notary-record/2"):
        leaves.parse_leaf(canonical_json(value))
    head = {
        "format": leaves.AUDIT_HEAD,
        "sequence": 2,
        "previous_record_sha256": "0" * 64,
        "audit_sequence": 7,
        "audit_head_sha256": "A" * 64,  # not lowercase hex
        "at": "2026-01-01T00:00:00.000Z",
    }
    with pytest.raises(leaves.MalformedLeaf):
        leaves.parse_leaf(canonical_json(head))


def test_bytes_that_are_not_canonical_json_are_a_malformed_leaf():
    with pytest.raises(leaves.MalformedLeaf):
        leaves.parse_leaf(b'{"format": "notary-record/2"}')
