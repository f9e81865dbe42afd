"""Placeholder: filled in by its own step."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("cases", __name__)


@blp.get("/cases")
def index() -> str:
    return render_template("pages/cases.html")
