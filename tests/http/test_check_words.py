"""Every check a verifier can put in a report has words on the /verify page, in Chinese and
in English: a clerk reading the zh-CN page never meets a check's code name.

The names come from the verifiers' own lists (which their runners enforce), so a new check
fails here until it has words.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from notary.pages import i18n
from notary.pages.report_view import check_words
from notary.verify.export.report import EXPORT_CHECK_NAMES
from notary.verify.report import CHECK_NAMES
from notary.verify_pdf import PDF_CHECK_NAMES

EVERY_CHECK = sorted({*CHECK_NAMES, *EXPORT_CHECK_NAMES, *PDF_CHECK_NAMES, "witness_cosignatures"})


@pytest.fixture(scope="module")
def pages_app() -> Flask:
    app = Flask(__name__)
    i18n.init(app)
    return app


def words_in(app: Flask, lang: str) -> dict[str, tuple[str, str]]:
    with app.test_request_context(f"/verify?lang={lang}"):
        return {name: (str(title), str(meaning)) for name, (title, meaning) in check_words().items()}


@pytest.mark.parametrize("name", EVERY_CHECK)
def test_every_check_has_words_in_both_languages(pages_app: Flask, name: str) -> None:
    english, chinese = words_in(pages_app, "en"), words_in(pages_app, "zh-CN")
    assert name in english, f"{name} has no words on the verify page (report_view.check_words)"
    title, meaning = english[name]
    assert title
    assert meaning
    assert name not in (title, meaning)
    zh_title, zh_meaning = chinese[name]
    assert (zh_title, zh_meaning) != (title, meaning), f"{name}'s words are not in the zh catalogue"
    assert zh_title != title
    assert zh_meaning != meaning
    assert all(any("\u4e00" <= char <= "\u9fff" for char in text) for text in (zh_title, zh_meaning))


def test_the_lists_are_what_the_verifiers_enforce() -> None:
    """A runner refuses a check name missing from its list, so the lists above are complete."""
    from notary.verify.evidence import verifier as bundle_verifier
    from notary.verify.export import verifier as export_verifier
    from notary.verify_pdf import certificate

    def passed() -> Any:
        raise AssertionError("an unlisted check must not run")

    for runner in (bundle_verifier._Checks(), export_verifier._Checks(), certificate._Runner()):
        with pytest.raises(ValueError, match="not in"):
            runner.run("unlisted_check", passed)
