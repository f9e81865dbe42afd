"""Pages for people: investors, signers, police and court clerks, in a browser.

Server-rendered Flask + Jinja2, small plain JavaScript modules served by the app itself (no
build step, no CDN), Flask-Babel catalogues with zh-CN first and an English switch. Pages carry
no personal data in their HTML: what is personal is fetched by script with a bearer token kept
in ``sessionStorage`` and answered ``no-store``. No cookie is ever set.
"""

from __future__ import annotations

from flask import Flask

from notary.pages import (
    cases,
    docs,
    errors,
    forms,
    home,
    i18n,
    me,
    me_checks,
    platforms,
    security,
    sign,
    verify,
)


def init_pages(app: Flask) -> None:
    """Register the pages' blueprints, the locale selector, the security headers and the HTML
    error pages (after the API's handlers, which keep answering JSON under ``/api/``)."""
    i18n.init(app)
    forms.init(app)
    for blueprint in (
        home.blp,
        docs.blp,
        verify.blp,
        sign.blp,
        me.blp,
        me_checks.blp,
        cases.blp,
        platforms.blp,
    ):
        app.register_blueprint(blueprint)
    security.init(app)
    errors.init(app)
