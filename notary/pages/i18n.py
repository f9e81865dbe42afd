"""Which language a page speaks: zh-CN unless the reader asks for English.

The choice comes from ``?lang=`` (the visible toggle) and otherwise from ``Accept-Language``.
It is carried from page to page in the query string rather than a cookie: the pages set no
cookie at all, so nothing ambient rides along with a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request, url_for
from flask_babel import Babel, get_locale

# Babel reads "zh_CN" as zh_Hans_CN, for which gettext looks in translations/zh: the
# catalogue lives there.
CHINESE, ENGLISH = "zh_CN", "en"
LOCALES = (CHINESE, ENGLISH)
#: The ``lang`` values the toggle writes, and the BCP 47 tag each page declares.
TAGS = {CHINESE: "zh-CN", ENGLISH: "en"}
_ASKED = {"zh-cn": CHINESE, "zh_cn": CHINESE, "zh": CHINESE, "en": ENGLISH}


def asked_locale() -> str | None:
    """The locale named by ``?lang=`` (the toggle), if it names one we speak."""
    value = request.args.get("lang", "")
    return _ASKED.get(value.strip().lower())


def select_locale() -> str:
    """``?lang=`` first, then ``Accept-Language`` (English only if preferred to Chinese)."""
    asked = asked_locale()
    if asked is not None:
        return asked
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return ENGLISH if best == "en" else CHINESE


def locale_tag() -> str:
    """The page's ``lang`` attribute."""
    return TAGS.get(str(get_locale()), "zh-CN")


def page_url(endpoint: str, **values: Any) -> str:
    """``url_for`` that keeps an explicit language choice (``?lang=``) on the next page."""
    asked = asked_locale()
    if asked is not None and "lang" not in values:
        values["lang"] = TAGS[asked]
    return url_for(endpoint, **values)


def switch_url(locale: str) -> str:
    """This page in the other language: the same path and query, ``lang`` replaced."""
    args = request.args.to_dict(flat=True)
    args["lang"] = TAGS[locale]
    return url_for(request.endpoint or "home.index", **(request.view_args or {}), **args)


def init(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", CHINESE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(page_url=page_url, switch_url=switch_url, locale_tag=locale_tag)
