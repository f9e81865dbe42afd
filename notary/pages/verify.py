"""Placeholder: filled in by its own step."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("verify", __name__)


@blp.get("/verify")
def index() -> str:
    return render_template("pages/verify.html")
