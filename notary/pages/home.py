"""The home page and the page a certificate's QR code leads a browser to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from notary import __version__
from notary.errors import NotFound
from notary.pages.common import HEX64, now, runtime
from notary.pages.messages import common_messages, role_words, status_words
from notary.services.tlog.record_facts import public_record

blp = Blueprint(
    "home", __name__, static_folder="static", static_url_path="/assets", template_folder="templates"
)


@blp.app_context_processor
def page_globals() -> dict[str, Any]:
    """What every template may use: the version (also a cache key of the assets) and the
    messages the page's scripts show (translated here, so scripts hold no text)."""
    return {
        "version": __version__,
        "js_messages": common_messages(),
        "status_words": status_words(),
        "role_words": role_words(),
    }


@blp.get("/")
def index() -> str:
    """What the notary is, and three doors: my contracts, verify evidence, investigators."""
    return render_template("pages/home.html")


@blp.get("/r/<record_sha256>")
def record(record_sha256: str) -> tuple[str, int]:
    """Where a certificate's QR code leads a browser (``/api/v1/r/<sha>`` redirects here):
    the contract's public facts, and how to verify its evidence."""
    wanted = record_sha256.lower()
    facts = None
    if HEX64.fullmatch(wanted):
        rt = runtime()
        try:
            with rt.db.read() as session:
                facts = public_record(session, wanted, now=now())
        except NotFound:
            facts = None
    status = 200 if facts is not None else 404
    return render_template("pages/record.html", facts=facts, record_sha256=record_sha256), status
