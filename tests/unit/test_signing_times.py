"""``notary verify`` checks each signature's time against filing, sealing and the deadline
(issue 25 item 5; round2-notes "Checks on old data").

Before, a bundle whose record said a party signed before the contract was filed, after it was
sealed, or after its deadline verified VALID. Each is now a named failure; an old ``sign_by``
that is not RFC 3339 is reported as not checked, and does not invalidate the evidence.
"""

from __future__ import annotations

import json

import pytest

from notary.verify.evidence.verifier import verify_bundle
from notary.verify.report import FAILED, NOT_RUN, PASSED
from tests.support.evidence import SampleLog, SampleNotary

CASES = {
    0: {},
    1: {"investor_signed_at": "2026-12-01T07:59:59.999Z"},  # before received_at 08:00:00.000
    2: {"borrower_signed_at": "2026-12-01T08:00:05.001Z"},  # after sealed_at 08:00:05.000
    3: {"sign_by": "2026-12-01T08:00:01.000Z"},  # both signed at 08:00:01.250
    4: {"sign_by": "2026-12-01T16:00:01.250+08:00"},  # the same instant as the signatures: in time
    5: {"sign_by": "2026-W49-2T00Z"},  # accepted by fromisoformat before round 2
    6: {"sign_by": "2026-12-08T00:00:00+0800"},
    7: {"sign_by": "2026-12-01T08:00:01.2504Z"},  # nine-digit grammar: just after 01.250
}


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    notary = SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")
    return SampleLog(notary, len(CASES), times=CASES)


def signing_times(log, index):
    report = verify_bundle(log.bundle(index, len(CASES)), trust=log.notary.trust())
    return report, report.check("signing_times")


def test_signatures_within_the_contracts_life_pass(log):
    for index in (0, 4, 7):
        report, check = signing_times(log, index)
        assert check.status == PASSED, check
        assert report.valid


@pytest.mark.parametrize(
    ("index", "code", "role"),
    [
        (1, "signed_before_filing", "investor"),
        (2, "signed_after_sealing", "borrower"),
        (3, "signed_after_deadline", "investor"),
    ],
)
def test_each_time_out_of_order_is_a_named_failure(log, index, code, role):
    report, check = signing_times(log, index)
    assert (check.status, check.code) == (FAILED, code)
    assert check.details["role"] == role
    assert not report.valid
    # Everything else about the bundle is genuine: only this check fails.
    assert [c.name for c in report.checks if c.status == FAILED] == ["signing_times"]


@pytest.mark.parametrize("index", [5, 6])
def test_an_old_sign_by_that_is_not_rfc_3339_is_not_run_and_not_required(log, index):
    report, check = signing_times(log, index)
    assert check.status == NOT_RUN
    assert check.required is False
    assert "not an RFC 3339" in check.reason
    assert "between filing" in check.reason  # what was checked is still said
    assert report.valid  # old evidence keeps verifying
    as_json = json.loads(report.to_json())
    (entry,) = [c for c in as_json["checks"] if c["name"] == "signing_times"]
    assert entry["status"] == "not_run"
    assert entry["required"] is False
    assert all("required" not in c for c in as_json["checks"] if c["name"] != "signing_times")


def test_a_required_check_not_run_still_invalidates(log):
    """The exception is only for old data: a check not run for lack of its inputs fails closed."""
    from notary.verify.evidence.bundle import RECORD
    from tests.support.evidence import members, rezip

    entries = members(log.bundle(0, len(CASES)))
    entries[RECORD] = b"{}"
    report = verify_bundle(rezip(entries, fix_manifest=True), trust=log.notary.trust())
    check = report.check("signing_times")
    assert check.status == NOT_RUN
    assert check.required is True
    assert not report.valid
