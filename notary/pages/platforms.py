"""``/platforms``: every platform's public record; ``/platforms/<id>``: one platform's, with its
months; ``/platforms/<id>/feed.atom``: its Atom feed. Public and without personal data: counts
and sums per platform only, from the same service as ``GET /api/v1/platforms``."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from notary.errors import NotFound
from notary.pages.common import runtime
from notary.services.transparency.feed import platform_feed

blp = Blueprint("platforms", __name__)


@blp.get("/platforms")
def index() -> str:
    """Every platform: contracts filed and sealed, open reports, defunct or not, notices."""
    snapshot = runtime().transparency.all_platforms()
    return render_template("pages/platforms.html", snapshot=snapshot)


@blp.get("/platforms/<platform_id>")
def platform(platform_id: str) -> tuple[str, int]:
    """One platform's record: counts, principal per month, filing delay, reports, notices."""
    try:
        snapshot = runtime().transparency.platform(platform_id)
    except NotFound:
        return render_template("pages/platform.html", figures=None, platform_id=platform_id), 404
    (figures,) = snapshot.figures
    top = max((month["principal_fen"] for month in figures.months), default=0)
    return (
        render_template(
            "pages/platform.html",
            figures=figures,
            months=list(reversed(figures.months)),
            top=top,
            computed_at=snapshot.computed_at,
            platform_id=platform_id,
        ),
        200,
    )


@blp.get("/platforms/<platform_id>/feed.atom")
def feed(platform_id: str) -> Response:
    """The platform's Atom feed: defunct, open reports over the threshold, filings stopped, months."""
    rt = runtime()
    (figures,) = rt.transparency.platform(platform_id).figures
    response = Response(platform_feed(figures, public_url=rt.settings.public_url))
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
