"""The verification report: fail closed, frozen, rendered but never decided by its renderers."""

from __future__ import annotations

import dataclasses
import json

import pytest

from notary.verify.canonical import canonical_json
from notary.verify.report import (
    CALLER_SUPPLIED,
    FAILED,
    INTEGRITY_ONLY_BASIS,
    NOT_RUN,
    PASSED,
    TRUST_FILE,
    Check,
    LogPosition,
    VerificationReport,
    render_text,
)

OK = Check("manifest", PASSED, "all members match")


def report(*checks, basis=TRUST_FILE, **facts):
    return VerificationReport(
        checks=tuple(checks), trust_basis=basis, verified_at="2030-01-01T00:00:00.000Z", **facts
    )


def test_no_checks_is_not_valid():
    assert not report().valid
    assert "no checks were run" in render_text(report())


def test_a_check_not_run_makes_the_report_invalid():
    skipped = Check("inclusion_proof", NOT_RUN, "not run: needs record_fields, which did not pass")
    assert not report(OK, skipped).valid
    assert report(OK, skipped).failures == ()


def test_valid_only_when_every_check_passed():
    failed = Check("record_timestamp", FAILED, "the token stamps other data", code="imprint_mismatch")
    assert report(OK).valid
    assert not report(OK, failed).valid
    assert report(OK, failed).failures == (failed,)
    assert report(OK, failed).check("record_timestamp") is failed


def test_origin_is_established_only_with_a_trust_file():
    assert report(OK).origin_established
    assert report(OK).verdict == "valid"
    for basis in (INTEGRITY_ONLY_BASIS, CALLER_SUPPLIED):
        assert not report(OK, basis=basis).origin_established
        assert report(OK, basis=basis).verdict == "valid_integrity_only"
        assert "ORIGIN NOT ESTABLISHED" in render_text(report(OK, basis=basis))
    assert "you supplied" in render_text(report(OK, basis=CALLER_SUPPLIED))
    assert report(OK, basis=CALLER_SUPPLIED).to_dict()["trust_basis"] == "caller_supplied"
    with pytest.raises(ValueError, match="trust basis"):
        report(OK, basis="bundle_only")  # verification/1's implicit basis is gone


def test_the_verdict_is_derived_and_names_a_shortfall_of_witnesses_only():
    failed = Check("record_timestamp", FAILED, "the token stamps other data", code="imprint_mismatch")
    witnesses = Check("witness_cosignatures", FAILED, "1 of 2", code="witness_policy_not_met")
    assert report(OK, failed).verdict == "invalid"
    assert report(OK, witnesses).verdict == "below_witness_policy"
    assert report(OK, witnesses, failed).verdict == "invalid"
    assert report().verdict == "invalid"
    assert report(OK).to_dict()["format"] == "notary-verification/2"


def test_unknown_statuses_bases_and_repeated_checks_are_refused():
    with pytest.raises(ValueError, match="status"):
        Check("manifest", "maybe", "")
    with pytest.raises(ValueError, match="trust basis"):
        report(OK, basis="vibes")
    with pytest.raises(ValueError, match="twice"):
        report(OK, OK)


def test_reports_and_checks_are_frozen_and_details_are_json():
    check = Check("log_key", PASSED, "fine", {"key": b"\x01\x02", "sizes": (1, 2)})
    assert dict(check.details) == {"key": "0102", "sizes": [1, 2]}
    with pytest.raises(TypeError):
        check.details["key"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report(OK).checks = ()  # type: ignore[misc]


def test_json_is_canonical_and_names_every_check():
    failed = Check(
        "record_timestamp", FAILED, "other data", {"member": "timestamp/record.tsr"}, "imprint_mismatch"
    )
    data = report(OK, failed, log=LogPosition("o", 2, 5, "ab" * 32)).to_json()
    assert canonical_json(json.loads(data)) == data
    parsed = json.loads(data)
    assert parsed["valid"] is False
    assert parsed["checks"][1] == {
        "name": "record_timestamp",
        "status": "failed",
        "passed": False,
        "reason": "other data",
        "details": {"member": "timestamp/record.tsr"},
        "code": "imprint_mismatch",
    }
    assert parsed["log"] == {"origin": "o", "leaf_index": 2, "tree_size": 5, "root_hash": "ab" * 32}


def test_text_shows_the_verdict_and_one_line_per_check():
    failed = Check("record_timestamp", FAILED, "other data", code="imprint_mismatch")
    text = render_text(report(OK, failed, contract_id="ct_1"))
    assert text.startswith("Evidence bundle for contract ct_1: INVALID\n")
    assert "[FAIL] record_timestamp  imprint_mismatch: other data" in text
    assert "[ok  ] manifest" in text
