"""Old evidence keeps verifying: the bundle, export and trust file that round 1's own code made
(``tests/fixtures/v1``, see its ``make_v1_fixtures.py``), read by today's verifier."""

from __future__ import annotations

import io
import json
from pathlib import Path

from notary.verify import payloads
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.export.verifier import verify_export
from notary.verify.identity import parse_opening
from notary.verify.trust import INTEGRITY_ONLY, TrustFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v1"


def trust() -> TrustFile:
    return TrustFile.from_json((FIXTURES / "trust-v1.json").read_bytes())


def test_a_round_one_bundle_verifies_with_a_round_one_trust_file():
    report = verify_bundle((FIXTURES / "evidence-v1.zip").read_bytes(), trust=trust())
    assert report.valid, [check.to_dict() for check in report.failures]
    assert report.verdict == "valid"
    assert (report.subject, report.record_format) == ("notary-evidence/1", "notary-record/1")
    assert {party.identity.status for party in report.parties} == {"unsalted"}
    assert report.trust_origin == "127.0.0.1:8000/contracts/v1"


def test_an_opening_proves_a_round_one_identity():
    people = json.loads((FIXTURES / "people.json").read_text())
    opening = payloads.identity_opening(
        id_type="cn_resident", id_number=people["borrower"]["id_number"], salt=bytes(range(32))
    )
    report = verify_bundle(
        (FIXTURES / "evidence-v1.zip").read_bytes(), trust=trust(), openings=[parse_opening(opening)]
    )
    assert report.valid
    identities = {party.role: party.identity for party in report.parties}
    assert identities["borrower"].status == "proven"
    assert identities["borrower"].id_number_masked == "110102********0017"


def test_a_round_one_export_verifies_with_and_without_the_trust_file():
    data = (FIXTURES / "export-v1.zip").read_bytes()
    report = verify_export(io.BytesIO(data), trust=trust())
    assert report.valid, [check.to_dict() for check in report.failures]
    assert report.verdict == "valid"
    # An export/1 has no token: judged at its own exported_at, and the report says so.
    assert (report.subject, report.manifest_time, report.manifest_gen_time) == (
        "notary-export/1",
        "claimed",
        None,
    )
    assert "manifest_timestamp" not in [check.name for check in report.checks]
    assert verify_export(io.BytesIO(data), trust=INTEGRITY_ONLY).verdict == "valid_integrity_only"
