"""Tampering (issue 20, item 9): random single-byte changes across the evidence surface, each
undone after ``notary audit``'s checks have run on it; every one must be found.

The surface (docs/reliability.md): documents (blob rows and blob files), evidence records and
their leaves, the chain and the tree, checkpoints, contracts' filed facts, signatures, party
keys and identity commitments, the audit trail and its anchors, reports. Timestamp tokens are
drawn too when ``NOTARY_TAMPER_TOKENS=1`` (the audit does not check them yet: see the doc).

``make test`` makes 40 changes; ``make tamper`` makes 1,000 (``NOTARY_TAMPER_FLIPS``) and prints
what was changed and which check found it.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.log_audit import audit_of, populate

FLIPS = int(os.environ.get("NOTARY_TAMPER_FLIPS", "40"))

#: table -> (key columns, evidence columns). Foreign keys are left out (the database refuses a
#: changed one). Operational tables (leases, rate limits, login
#: challenges, follows, log_state's cached root) are outside the surface.
SURFACE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "blobs": (("sha256",), ("data",)),
    "log_leaves": (("sequence",), ("record", "record_sha256", "leaf_hash")),
    "tree_nodes": (("level", "idx"), ("hash",)),
    "checkpoints": (("tree_size",), ("note", "root_hash")),
    "contracts": (
        ("id",),
        ("document_sha256", "terms_json", "terms_sha256", "received_at"),
    ),
    "signatures": (
        ("contract_id", "role"),
        ("signature", "key_fingerprint", "identity_commitment", "enrolment_proof", "signed_at"),
    ),
    "parties": (("id",), ("public_key_der", "key_fingerprint", "identity_commitment", "enrol_proof")),
    "audit_entries": (("sequence",), ("entry", "entry_sha256", "previous_sha256")),
    "audit_anchors": (("leaf_sequence",), ("audit_head_sha256",)),
}
TOKENS = {
    "record_timestamps": (("sequence", "authority"), ("response",)),
    "checkpoint_timestamps": (("tree_size", "authority", "position"), ("response",)),
}


def _changed(value: Any, rng: random.Random) -> tuple[Any, str]:
    """``value`` with one byte changed, and where."""
    if isinstance(value, (bytes, memoryview)):
        data = bytearray(bytes(value))
        at = rng.randrange(len(data))
        data[at] ^= rng.randrange(1, 256)
        return bytes(data), f"byte {at} of {len(data)}"
    textual = str(value)
    at = rng.randrange(len(textual))
    replacement = rng.choice([c for c in '0123456789abcdefxyz{}":, ' if c != textual[at]])
    return textual[:at] + replacement + textual[at + 1 :], f"character {at} of {len(textual)}"


def _cells(session: Any, surface: dict[str, Any]) -> list[tuple[str, tuple[str, ...], tuple[Any, ...], str]]:
    cells = []
    for table, (keys, columns) in surface.items():
        for row in session.execute(text(f"SELECT {', '.join(keys + columns)} FROM {table}")):
            for offset, column in enumerate(columns):
                value = row[len(keys) + offset]
                if value not in (None, "", b""):
                    cells.append((table, keys, tuple(row[: len(keys)]), column))
    return cells


def _flip_cell(
    runtime: Any, cell: tuple[str, tuple[str, ...], tuple[Any, ...], str], rng: random.Random
) -> dict[str, Any]:
    table, keys, key_values, column = cell
    where = " AND ".join(f"{key} = :k{n}" for n, key in enumerate(keys))
    bound = {f"k{n}": value for n, value in enumerate(key_values)}
    with runtime.db.read() as session:
        original = session.execute(text(f"SELECT {column} FROM {table} WHERE {where}"), bound).scalar_one()
    changed, at = _changed(original, rng)
    update = text(f"UPDATE {table} SET {column} = :value WHERE {where}")
    with runtime.db.write() as session:
        session.execute(update, {**bound, "value": changed})
    try:
        report = audit_of(runtime)
    finally:
        with runtime.db.write() as session:
            session.execute(update, {**bound, "value": original})
    first = report.divergence
    return {
        "what": f"{table}.{column}",
        "where": f"{dict(zip(keys, key_values, strict=True))} {at}",
        "found_by": first.check if first is not None else None,
    }


def _flip_file(runtime: Any, path: Path, rng: random.Random) -> dict[str, Any]:
    original = path.read_bytes()
    changed, at = _changed(original, rng)
    path.write_bytes(changed)
    try:
        report = audit_of(runtime)
    finally:
        path.write_bytes(original)
    first = report.divergence
    return {"what": "blob file", "where": f"{path.name} {at}", "found_by": first.check if first else None}


@pytest.mark.slow
def test_random_single_byte_changes_across_the_evidence_surface_are_all_found(
    runtime: Any, client: Any
) -> None:
    populate(runtime, client, contracts=4)
    assert audit_of(runtime).clean
    rng = random.Random(os.environ.get("NOTARY_TAMPER_SEED", "9"))
    surface = {**SURFACE, **(TOKENS if os.environ.get("NOTARY_TAMPER_TOKENS") == "1" else {})}
    with runtime.db.read() as session:
        cells = _cells(session, surface)
    files = [path for path in runtime.settings.blob_dir.rglob("*") if path.is_file()]
    by_table: dict[str, list[Any]] = {}
    for cell in cells:
        by_table.setdefault(cell[0], []).append(cell)
    kinds = sorted(by_table) + (["blob file"] if files else [])
    results = []
    for _ in range(FLIPS):
        kind = rng.choice(kinds)  # every kind of evidence alike, whatever its number of rows
        if kind == "blob file":
            results.append(_flip_file(runtime, rng.choice(files), rng))
        else:
            results.append(_flip_cell(runtime, rng.choice(by_table[kind]), rng))
    assert audit_of(runtime).clean  # every change was undone
    missed = [result for result in results if result["found_by"] is None]
    summary = {
        "flips": len(results),
        "found": len(results) - len(missed),
        "by_what": dict(Counter(result["what"] for result in results)),
        "found_by": dict(Counter(str(result["found_by"]) for result in results)),
    }
    print(f"\nTAMPER {runtime.db.dialect} {json.dumps(summary, sort_keys=True)}")
    for result in missed:
        print(f"TAMPER missed {result['what']} {result['where']}")
    assert not missed, f"{len(missed)} of {len(results)} changes not found: {missed[:10]}"
