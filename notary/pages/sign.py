"""``/sign/<contract_id>?role=…``: the link a platform sends a party to read and sign.

The page itself holds nothing personal: after the party logs in with its key (in the
browser), the script asks for the sheet with the token and shows it. The sheet carries the
exact payload bytes; the script checks them against the terms and the document it shows
before it lets the party sign those bytes.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from notary.errors import Forbidden, NotFound, Unauthenticated, Unprocessable
from notary.pages.common import caller, now, personal, runtime
from notary.services.access.sheet import sign_sheet
from notary.verify.encoding import b64encode
from notary.verify.payloads import ROLES

blp = Blueprint("sign", __name__)


@blp.get("/sign/<contract_id>")
def page(contract_id: str) -> tuple[str, int]:
    """The shell: choose a key, log in; the sheet follows by script."""
    role = request.args.get("role", "")
    status = 200 if role in ROLES else 404
    return render_template(
        "pages/sign.html", contract_id=contract_id, role=role if role in ROLES else None
    ), status


@blp.get("/sign/<contract_id>/sheet")
def sheet(contract_id: str) -> Response:
    """The sheet (an HTML fragment) for the key holder behind the bearer token."""
    role = request.args.get("role", "")
    problem, status, view = None, 200, None
    try:
        principal = caller()
        rt = runtime()
        with rt.db.read() as session:
            view = sign_sheet(session, principal, contract_id, role, now=now())
    except Unauthenticated:
        problem, status = "unauthenticated", 401
    except Forbidden:
        problem, status = "not_a_party", 403
    except (NotFound, Unprocessable):
        problem, status = "not_found", 404
    context = {}
    if view is not None:
        context = {
            "payload_text": view.payload.decode("utf-8"),
            "data": {
                "contract_id": view.contract["contract_id"],
                "role": view.role,
                "payload_base64": b64encode(view.payload),
                "decline_payload_base64": b64encode(view.decline_payload),
                "terms": view.contract["terms"],
                "document_sha256": view.contract["document_sha256"],
                "media_type": view.contract["media_type"],
                "open": view.open and view.your_key,
            },
        }
    answer = Response(
        render_template("pages/_sheet.html", sheet=view, problem=problem, **context), status=status
    )
    return personal(answer)
