"""notary.verify's public API: the names it declares, loaded only when used, and the example in
its docstring, run as written against a genuine bundle and its notary's trust file."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import notary.verify
from tests.support.evidence import SampleLog, SampleNotary


def test_every_public_name_resolves_to_what_its_module_defines():
    import importlib

    assert sorted(notary.verify.__all__) == sorted(notary.verify._HOMES)
    for name in notary.verify.__all__:
        home = notary.verify._HOMES[name]
        assert getattr(notary.verify, name) is getattr(importlib.import_module(home), name), name
    with pytest.raises(AttributeError):
        notary.verify.no_such_name  # noqa: B018


def test_importing_the_package_loads_none_of_its_modules():
    code = "import sys, notary.verify; print(sorted(m for m in sys.modules if m.startswith('notary.')))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "['notary.verify']"


@pytest.mark.wallclock  # the example verifies at the machine's clock, as a court's run would
def test_the_docstring_example_runs(tmp_path, monkeypatch):
    notary_keys = SampleNotary.create(tmp_path / "keys")
    (tmp_path / "bundle.zip").write_bytes(SampleLog(notary_keys, 3).bundle(1, 3))
    (tmp_path / "trust.json").write_bytes(notary_keys.trust_json())
    monkeypatch.chdir(tmp_path)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    (test,) = finder.find(notary.verify, "notary.verify", globs={})
    assert test.examples, "the docstring has no example"
    outcome = runner.run(test)
    assert outcome.failed == 0, outcome
