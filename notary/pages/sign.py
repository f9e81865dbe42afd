"""Placeholder: filled in by its own step."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("sign", __name__)


@blp.get("/sign/<contract_id>")
def page(contract_id: str) -> str:
    return render_template("pages/sign.html", contract_id=contract_id)
