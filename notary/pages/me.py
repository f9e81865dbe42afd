"""``/me``: a key holder's contracts on every platform and its keys (revoking one), and
``/me/key``: a key in this browser.

The page logs in by script (the key signs a challenge); the token stays in this tab's
``sessionStorage``. The list is a fragment asked for with the token, read through the same
service as ``GET /api/v1/me/contracts``.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from notary.errors import Forbidden, Unauthenticated
from notary.pages.common import caller, now, personal, runtime
from notary.pages.messages import revocation_reason_words
from notary.services import auth
from notary.services.access import key_holders

blp = Blueprint("me", __name__)


@blp.get("/me")
def index() -> str:
    """Log in with a key; the contracts follow by script."""
    return render_template("pages/me.html")


@blp.get("/me/key")
def key() -> str:
    """Make a key in this browser, export its public key, prepare an enrolment request."""
    return render_template("pages/key.html")


@blp.get("/me/contracts")
def contracts() -> Response:
    """The key holder's contracts (an HTML fragment), one page of ``GET /api/v1/me/contracts``."""
    problem, status, page = None, 200, None
    try:
        principal = caller()
        if principal.kind != auth.PARTY:
            raise Forbidden("for key holders")
        rt = runtime()
        with rt.db.read() as session:
            page = key_holders.contracts_of_key(
                session, principal.subject_id, now=now(), cursor=request.args.get("cursor") or None, limit=100
            )
    except Unauthenticated:
        problem, status = "unauthenticated", 401
    except Forbidden:
        problem, status = "not_a_party", 403
    answer = Response(render_template("pages/_my_contracts.html", page=page, problem=problem), status=status)
    return personal(answer)


@blp.get("/me/keys")
def keys() -> Response:
    """The key holder's parties and every key each has had (an HTML fragment, as
    ``GET /api/v1/me/keys``), with what a revocation must sign for each party."""
    problem, status, parties = None, 200, None
    try:
        principal = caller()
        if principal.kind != auth.PARTY:
            raise Forbidden("for key holders")
        parties = runtime().keys_lifecycle.keys_of_holder(principal.subject_id)
    except Unauthenticated:
        problem, status = "unauthenticated", 401
    except Forbidden:
        problem, status = "not_a_party", 403
    reasons = revocation_reason_words()
    answer = Response(
        render_template("pages/_my_keys.html", parties=parties, problem=problem, reasons=reasons),
        status=status,
    )
    return personal(answer)
