"""build_bundle: the members of notary-evidence/1 in their order, same parts, same bytes."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import pytest

from notary.verify.canonical import canonical_json
from notary.verify.errors import MalformedInput
from notary.verify.evidence.bundle import (
    BUNDLE_FORMAT,
    EvidenceBundle,
    InclusionProof,
    build_bundle,
    document_extension,
)
from notary.verify.payloads import sha256_hex
from tests.support.evidence import READY, SampleLog, SampleNotary, members


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return SampleLog(SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys"), 4)


@pytest.fixture(scope="module")
def parts(log):
    return log.parts(1, 3, checkpoint_tokens=2)


def test_members_in_the_order_of_api_md(parts):
    assert list(members(build_bundle(parts))) == [
        "manifest.json",
        "document.pdf",
        "terms.json",
        "record.json",
        "keys/investor.pem",
        "keys/borrower.pem",
        "keys/notary.pem",
        "timestamp/record.tsr",
        "timestamp/tsa-chain.pem",
        "timestamp/checkpoint-1.tsr",
        "timestamp/checkpoint-1-chain.pem",
        "timestamp/checkpoint-2.tsr",
        "timestamp/checkpoint-2-chain.pem",
        "log/inclusion.json",
        "log/checkpoint.txt",
        "log/key.json",
        "README.txt",
    ]


def test_same_parts_same_bytes(parts):
    first = build_bundle(parts)
    assert build_bundle(dataclasses.replace(parts)) == first
    later = dataclasses.replace(parts, created_at="2026-12-01T08:00:09.000Z")
    assert build_bundle(later) != first


def test_members_hold_the_parts_byte_for_byte(parts):
    entries = members(build_bundle(parts))
    assert entries["document.pdf"] == parts.document
    assert entries["terms.json"] == parts.terms
    assert entries["record.json"] == parts.record
    assert entries["timestamp/record.tsr"] == parts.record_token
    assert entries["timestamp/checkpoint-2.tsr"] == parts.checkpoint_tokens[1].token
    assert entries["log/checkpoint.txt"] == parts.checkpoint.encode()
    assert entries["log/key.json"] == canonical_json(parts.log_key.to_dict())
    proof = json.loads(entries["log/inclusion.json"])
    assert proof == {
        "leaf_index": 1,
        "tree_size": 3,
        "hashes": [value.hex() for value in parts.inclusion_proof.hashes],
    }


def test_the_manifest_lists_every_other_member(parts):
    entries = members(build_bundle(parts))
    manifest = entries["manifest.json"]
    assert canonical_json(json.loads(manifest)) == manifest
    assert json.loads(manifest) == {
        "format": BUNDLE_FORMAT,
        "contract_id": parts.contract_id,
        "created_at": parts.created_at,
        "files": {name: sha256_hex(content) for name, content in entries.items() if name != "manifest.json"},
    }


def test_members_are_stored_and_dated_at_the_ready_time(parts):
    with zipfile.ZipFile(io.BytesIO(build_bundle(parts))) as archive:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (READY.year, READY.month, READY.day, READY.hour, READY.minute, 6)
            assert info.extra == b""


def test_pem_parts_are_written_canonically(parts):
    crlf = parts.investor_key_pem.replace(b"\n", b"\r\n")
    chain = b"junk before\n" + parts.record_tsa_chain_pem
    entries = members(
        build_bundle(dataclasses.replace(parts, investor_key_pem=crlf, record_tsa_chain_pem=chain))
    )
    assert entries["keys/investor.pem"] == parts.investor_key_pem
    assert entries["timestamp/tsa-chain.pem"] == parts.record_tsa_chain_pem


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"created_at": "2026-12-01T08:00:06Z"}, "created_at"),
        ({"checkpoint_tokens": ()}, "checkpoint has a timestamp"),
        ({"investor_key_pem": b"not a key"}, "investor key"),
        ({"notary_chain_pem": b""}, "notary chain"),
    ],
)
def test_parts_that_cannot_be_are_refused(parts, change, match):
    with pytest.raises(MalformedInput, match=match):
        build_bundle(dataclasses.replace(parts, **change))


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [
        ("application/pdf", "pdf"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        ("application/ofd", "ofd"),
        ("text/plain; charset=utf-8", "txt"),
        ("Application/PDF", "pdf"),
        ("application/x-unknown", "bin"),
    ],
)
def test_document_extension(media_type, extension):
    assert document_extension(media_type) == extension


def test_the_document_member_is_named_by_its_media_type(parts):
    entries = members(build_bundle(dataclasses.replace(parts, media_type="application/x-whatever")))
    assert "document.bin" in entries
    assert b"document.bin" in entries["README.txt"]


def test_the_model_holds_every_member(parts):
    bundle = EvidenceBundle.from_zip(build_bundle(parts))
    assert bundle.document_names == ("document.pdf",)
    assert bundle.checkpoint_token_indices == (1, 2)
    assert bundle.get("record.json") == parts.record
    assert bundle.get("nothing") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.members = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b'{"hashes":[],"leaf_index":0,"tree_size":1}', None),
        (b'{"hashes":[],"leaf_index":0}', "exactly"),
        (b'{"hashes":[],"leaf_index":-1,"tree_size":1}', "integer"),
        (b'{"hashes":[],"leaf_index":true,"tree_size":1}', "integer"),
        (b'{"hashes":["AB"],"leaf_index":0,"tree_size":1}', "hex"),
        (b'{"hashes": [],"leaf_index":0,"tree_size":1}', "canonical"),
        (b'{"hashes":"","leaf_index":0,"tree_size":1}', "list"),
    ],
)
def test_inclusion_proof_json_is_strict(text, match):
    if match is None:
        assert InclusionProof.from_json(text) == InclusionProof(0, 1, ())
    else:
        with pytest.raises(MalformedInput, match=match):
            InclusionProof.from_json(text)
