"""The certificate never prints a value other than the one signed (issue 25.1).

Before: ``amount: "1٠٠٠٠٠.00"`` (Arabic-Indic zeros) was accepted, sealed and verified valid,
and the signed certificate printed **"1.00 CNY"**: the font had no glyph for those digits and
they vanished. Such input is now refused (``tests/http/test_strict_input.py``); this test files
every kind of value that *is* accepted, at the edges of each grammar, through the service, and
reads the signed certificate back with poppler's ``pdftotext``: each value must be there
exactly as signed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from tests.support.people import Person
from tests.support.platforms import sign_body

pytestmark = pytest.mark.slow  # a certificate is signed per case (pyHanko)


def _visible(text: str) -> str:
    """The text without whitespace: a long value may wrap at any character."""
    return "".join(text.split())


def certificate_text(runtime, platform, client, investor, borrower, **terms) -> tuple[str, dict]:
    filed = platform.file(investor, borrower, **terms)
    for role, person in (("investor", investor), ("borrower", borrower)):
        answer = client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
        assert answer.status_code == 200, answer.get_json()
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
    pdf = platform.get(f"/contracts/{filed['contract_id']}/certificate")
    assert pdf.status_code == 200, pdf.get_json()
    shown = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return shown, filed["terms"]


EDGES = {
    "largest": {
        "amount": "999999999999999.99",
        "currency": "CNY",
        "annual_rate": "0.999999",
        "term_months": 600,
    },
    "smallest": {"amount": "0.01", "currency": "USD", "annual_rate": "0", "term_months": 1},
    "plain": {"amount": "100000", "currency": "CNY", "annual_rate": "0.08", "term_months": 12},
}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make test installs it)")
@pytest.mark.parametrize("case", sorted(EDGES))
def test_every_accepted_term_is_printed_as_signed(runtime, client, make_platform, case):
    platform = make_platform("示例借贷平台")
    investor, borrower = Person("欧阳娜娜"), Person("王五")
    platform.enrol(investor)
    platform.enrol(borrower)
    # sign_by with an offset and nine fraction digits: printed as sent, never re-read.
    deadline = (runtime.clock() + dt.timedelta(days=20)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    sign_by = deadline.strftime("%Y-%m-%dT%H:%M:%S.123456789+08:00")
    shown, terms = certificate_text(
        runtime,
        platform,
        client,
        investor,
        borrower,
        start_date="2026-02-28",
        sign_by=sign_by,
        title="个人借款合同（第1期）",
        external_ref="REF-2026/0001#a",
        **EDGES[case],
    )
    visible = _visible(shown)
    assert terms["amount"] == EDGES[case]["amount"]  # accepted as sent
    for value in (
        f"{terms['amount']} {terms['currency']}",
        terms["annual_rate"],
        f"{terms['term_months']} 个月",
        terms["start_date"],
        terms["sign_by"],
        investor.name,
        borrower.name,
        "示例借贷平台",
    ):
        assert _visible(value) in visible, (value, shown)
    # No digit of another script, no replacement character, nothing hidden.
    assert not any(c.isdigit() and not c.isascii() for c in shown)
    assert "\ufffd" not in shown


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (make test installs it)")
def test_a_rare_name_the_input_accepts_is_printed(runtime, client, make_platform):
    """``𠮷田`` (CJK extension B) is accepted because a fallback font covers it."""
    platform = make_platform()
    investor, borrower = Person("𠮷田"), Person("王五")
    platform.enrol(investor)
    platform.enrol(borrower)
    shown, _ = certificate_text(runtime, platform, client, investor, borrower)
    assert "𠮷田" in _visible(shown), shown
