"""Placeholder: filled in by its own step."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("me", __name__)


@blp.get("/me")
def index() -> str:
    return render_template("pages/me.html")
