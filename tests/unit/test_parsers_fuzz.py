"""Hypothesis against the parsers of the pure verifier (issue 20, item 4): records, notes and
checkpoints, report payloads, export manifests, bundles and Merkle proofs. Whatever the input,
each either parses or raises one of the notary's own errors (a code a client or a court can
read), never anything else (an IndexError, a KeyError, a UnicodeDecodeError, an overflow...)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from notary.verify.errors import NotaryError
from notary.verify.evidence.bundle import EvidenceBundle
from notary.verify.evidence.record import parse_record
from notary.verify.export.manifest import parse_manifest
from notary.verify.merkle.proofs import verify_consistency, verify_inclusion
from notary.verify.note import parse_checkpoint, parse_note
from notary.verify.reports import parse_report_payload

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
#: Objects with the field names the formats use, so parsing gets past "not a record".
FIELDS = st.sampled_from(
    ["format", "sequence", "previous_record_sha256", "contract", "signatures", "terms", "document",
     "platform_id", "document_sha256", "claimed", "purpose", "reported_at", "bundles", "origin", "at"]
)  # fmt: skip
OBJECTS = st.dictionaries(FIELDS, JSON, max_size=10)
HASHES = st.lists(st.binary(min_size=0, max_size=40), max_size=70)
SIZES = st.integers(min_value=-5, max_value=2**70)


def _parses_or_refuses(parse: Any, data: Any) -> None:
    with contextlib.suppress(NotaryError):
        parse(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | OBJECTS.map(lambda value: json.dumps(value).encode()))
def test_records_manifests_and_reports_parse_or_refuse(data: bytes) -> None:
    for parse in (parse_record, parse_manifest, parse_report_payload):
        _parses_or_refuses(parse, data)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=200)
    | st.builds(
        lambda origin, size, root, sig: f"{origin}\n{size}\n{root}\n\n— {sig}\n",
        st.text(max_size=30), st.integers(min_value=-2, max_value=2**70), st.text(max_size=50), st.text(max_size=90),
    )
)  # fmt: skip
def test_notes_and_checkpoints_parse_or_refuse(text: str) -> None:
    _parses_or_refuses(parse_note, text)
    _parses_or_refuses(parse_checkpoint, text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_a_bundle_of_any_bytes_opens_or_is_refused(data: bytes) -> None:
    _parses_or_refuses(EvidenceBundle.from_zip, data)


@settings(max_examples=300, deadline=None)
@given(SIZES, SIZES, HASHES, st.binary(max_size=40), st.binary(max_size=40))
def test_proofs_verify_or_refuse(first: int, second: int, proof: list[bytes], one: bytes, two: bytes) -> None:
    _parses_or_refuses(
        lambda _: verify_inclusion(leaf_hash=one, leaf_index=first, tree_size=second, proof=proof, root=two),
        None,
    )
    _parses_or_refuses(
        lambda _: verify_consistency(size1=first, size2=second, proof=proof, root1=one, root2=two), None
    )
