"""``/cases``: investigators open cases, follow their approval, and download the exports.

Everything the page does goes through the API with the investigator's token (kept in this
tab's ``sessionStorage``), so every act is audited exactly as through the API; a large export
streams from a single-use download ticket.
"""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("cases", __name__)


@blp.get("/cases")
def index() -> str:
    return render_template("pages/cases.html")
