"""The home page and the page a certificate's QR code leads a browser to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from notary import __version__
from notary.pages.messages import common_messages

blp = Blueprint(
    "home", __name__, static_folder="static", static_url_path="/assets", template_folder="templates"
)


@blp.app_context_processor
def page_globals() -> dict[str, Any]:
    """What every template may use: the version (also a cache key of the assets) and the
    messages the page's scripts show (translated here, so scripts hold no text)."""
    return {"version": __version__, "js_messages": common_messages()}


@blp.get("/")
def index() -> str:
    """What the notary is, and three doors: my contracts, verify evidence, investigators."""
    return render_template("pages/home.html")
