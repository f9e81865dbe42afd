"""The derived forms templates show beside a signed value (``notary.display``, made once on the
server for the certificate and the pages): thousands separators, 大写, Beijing time."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from notary.display import amount_forms, chinese_date, rate_percent, time_forms
from notary.display.errors import NotDerivable


def percent_or_none(rate: str) -> str | None:
    try:
        return rate_percent(rate)
    except NotDerivable:
        return None


def date_or_none(text: str) -> str | None:
    try:
        return chinese_date(text)
    except NotDerivable:
        return None


def safe_json(text: str) -> Markup:
    """JSON text for a ``<template>`` data block: ``<``, ``>`` and ``&`` escaped as JSON escapes,
    so nothing in it can open or close an element, a comment or a character reference."""
    escaped = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(escaped)  # noqa: S704 - escaped above for this one context


def init(app: Flask) -> None:
    app.jinja_env.filters["safe_json"] = safe_json
    app.jinja_env.globals.update(
        amount_forms=amount_forms,
        time_forms=time_forms,
        rate_percent=percent_or_none,
        chinese_date=date_or_none,
    )
