"""The audit runner with stand-in auditors: every check runs, the first divergence leads."""

from __future__ import annotations

import pytest

from notary.services.audit.auditor import Divergence, DivergenceFound
from notary.services.audit.integrity import run_audit


class Counting:
    def __init__(self, name, items, diverge_at=None, wrong_type_at=None):
        self.name = self.label = name
        self.items = items
        self.diverge_at = diverge_at
        self.wrong_type_at = wrong_type_at

    def total(self, db):
        return self.items

    def run(self, db, findings):
        for index in range(self.items):
            with findings.item("item", index):
                if index == self.diverge_at:
                    raise DivergenceFound(Divergence(self.name, "item", str(index), "changed", "a", "b"))
                if index == self.wrong_type_at:
                    int("not a number")  # what a text read from a number column does to a check
            yield 1


class Bar:
    def __init__(self, log, label, total):
        self.log, self.label, self.total = log, label, total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        self.log.append((self.label, n))


def test_every_auditor_runs_and_the_first_divergence_leads():
    progress = []
    report = run_audit(
        None,
        [Counting("one", 3), Counting("two", 5, diverge_at=2), Counting("three", 4, diverge_at=0)],
        progress=lambda label, total: Bar(progress, label, total),
    )
    assert not report.clean
    assert report.divergence.check == "two"
    assert [(r.name, r.checked) for r in report.results] == [("one", 3), ("two", 2), ("three", 0)]
    assert progress.count(("one", 1)) == 3
    body = report.as_dict()
    assert body["divergence"] == {
        "check": "two",
        "what": "item",
        "where": "2",
        "message": "changed",
        "expected": "a",
        "found": "b",
    }
    assert [c["status"] for c in body["checks"]] == ["ok", "diverged", "diverged"]


def test_an_audit_without_auditors_refuses_to_pass():
    with pytest.raises(ValueError, match="at least one"):
        run_audit(None, [])


def test_all_lists_every_divergence_and_a_wrong_typed_value_is_one_not_a_traceback():
    auditors = [Counting("one", 6, diverge_at=1, wrong_type_at=4), Counting("two", 3)]
    first_only = run_audit(None, auditors)
    assert [(r.name, r.checked) for r in first_only.results] == [("one", 1), ("two", 3)]
    assert len(first_only.divergences) == 1

    every = run_audit(None, auditors, collect_all=True)
    assert [(r.name, r.checked) for r in every.results] == [("one", 6), ("two", 3)]
    assert [(d.where, d.message[:30]) for d in every.divergences] == [
        ("1", "changed"),
        ("4", "a stored value is not of its c"),
    ]
    assert "ValueError" in every.divergences[1].message
    body = every.as_dict()
    assert len(body["divergences"]) == 2
    assert [len(check["divergences"]) for check in body["checks"]] == [2, 0]
