"""The audit runner with stand-in auditors: every check runs, the first divergence leads."""

from __future__ import annotations

import pytest

from notary.services.audit.auditor import Divergence, DivergenceFound
from notary.services.audit.integrity import run_audit


class Counting:
    def __init__(self, name, items, diverge_at=None):
        self.name = self.label = name
        self.items = items
        self.diverge_at = diverge_at

    def total(self, db):
        return self.items

    def run(self, db):
        for index in range(self.items):
            if index == self.diverge_at:
                raise DivergenceFound(Divergence(self.name, "item", str(index), "changed", "a", "b"))
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
