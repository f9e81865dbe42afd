"""Terms and contracts in words, for a person at a terminal (``notary sign``, ``notary check``).

Every value is printed exactly as signed; the readable forms of :mod:`notary.display`
(thousands separators, 大写, percent, Chinese dates, Beijing time) follow it in brackets,
labelled ``derived``, never in its place. Text from outside passes through
:func:`~notary.cli.common.shown` so it cannot act on the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notary.cli.common import shown
from notary.display import NotDerivable, amount_forms, chinese_date, rate_percent, time_forms

_LABEL_WIDTH = 16


def line(label: str, value: str, derived: list[str] | None = None) -> str:
    """``  label:  value  (derived: a; b)``."""
    text = f"  {label + ':':{_LABEL_WIDTH}} {value}"
    forms = [form for form in derived or [] if form]
    if forms:
        text += f"  (derived: {'; '.join(forms)})"
    return text


def terms_lines(terms: Mapping[str, Any]) -> list[str]:
    """The terms of a contract, one line each, in the order a person reads a loan."""
    lines = []
    if "amount" in terms:
        forms = amount_forms(str(terms["amount"]), str(terms.get("currency", "")))
        lines.append(
            line(
                "amount",
                f"{shown(terms['amount'])} {shown(terms.get('currency', ''))}".rstrip(),
                [forms.grouped or "", forms.capitals or ""],
            )
        )
    if "annual_rate" in terms:
        lines.append(
            line("annual rate", shown(terms["annual_rate"]), [_derived(rate_percent, terms["annual_rate"])])
        )
    if "term_months" in terms:
        lines.append(line("term", f"{shown(terms['term_months'])} months"))
    if "start_date" in terms:
        lines.append(
            line("start date", shown(terms["start_date"]), [_derived(chinese_date, terms["start_date"])])
        )
    if "sign_by" in terms:
        lines.append(
            line("sign by", shown(terms["sign_by"]), [time_forms(str(terms["sign_by"])).beijing or ""])
        )
    if "title" in terms:
        lines.append(line("title", shown(terms["title"])))
    if "external_ref" in terms:
        lines.append(line("platform's ref", shown(terms["external_ref"])))
    return lines


def _derived(function: Any, value: Any) -> str:
    try:
        return str(function(str(value)))
    except NotDerivable:
        return ""
