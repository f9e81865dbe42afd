"""核验 on ``/me``: check a contract copy (hashed in the browser), report what a platform did not
file, and the platforms one follows. Each is an HTML fragment asked for by the page's script
with the party token, read through the same services as ``POST /api/v1/me/check``,
``GET /api/v1/me/reports`` and ``GET /api/v1/me/follows``, and answered ``no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request

from notary.errors import Forbidden, Unauthenticated
from notary.pages.common import caller, personal, runtime
from notary.services import auth
from notary.verify.errors import NotaryError

blp = Blueprint("me_checks", __name__)


def _fragment(template: str, build: Callable[[str], dict[str, Any]]) -> Response:
    problem, status, values = None, 200, {}
    try:
        principal = caller()
        if principal.kind != auth.PARTY:
            raise Forbidden("for key holders")
        values = build(principal.subject_id)
    except Unauthenticated:
        problem, status = "unauthenticated", 401
    except Forbidden:
        problem, status = "not_a_party", 403
    except NotaryError as error:
        problem, status = error.code, 422
        values = {"error": error}
    return personal(Response(render_template(template, problem=problem, **values), status=status))


@blp.post("/me/check")
def check() -> Response:
    """The answer of a check (``{document_sha256, claimed?}`` as JSON), as an HTML fragment."""
    body = request.get_json(silent=True) or {}
    claimed = {k: v for k, v in (body.get("claimed") or {}).items() if v} if isinstance(body, dict) else None

    def build(key_fingerprint: str) -> dict[str, Any]:
        rt = runtime()
        answer = rt.checks.check(key_fingerprint, body.get("document_sha256"), claimed or None)
        return {
            "answer": answer.as_dict(),
            "platforms": rt.transparency.all_platforms().figures,
            "claimed": claimed or {},
        }

    return _fragment("pages/_check_answer.html", build)


@blp.get("/me/follows")
def follows() -> Response:
    """The platforms the key holder follows, with their notices (an HTML fragment)."""
    return _fragment("pages/_follows.html", lambda key: {"followed": runtime().transparency.followed(key)})


@blp.get("/me/reports")
def reports() -> Response:
    """The key holder's reports, open or filed late (an HTML fragment)."""
    return _fragment("pages/_my_reports.html", lambda key: {"reports": runtime().report_reads.mine(key)})
