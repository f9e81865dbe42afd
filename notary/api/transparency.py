"""The platforms' public record (JSON and CSV, for anyone, regulators first), and the platforms a
key holder follows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import fields

from notary.api.common import Blueprint, caller_of, json_response, runtime
from notary.api.schemas import ErrorSchema
from notary.services import auth
from notary.services.transparency.figures import STATUSES, PlatformFigures

blp = Blueprint(
    "transparency",
    __name__,
    url_prefix="/api/v1",
    description="Each platform's public record, and following platforms",
)

_PUBLIC = {"Cache-Control": "public, max-age=60"}


class PlatformFiguresSchema(ma.Schema):
    platform = fields.Dict(metadata={"description": "{platform_id, name, status, created_at, defunct_at}"})
    contracts = fields.Dict(
        metadata={"description": "filed, awaiting_signatures, signed, sealed, declined, expired (counts)"}
    )
    principal = fields.List(fields.Dict(), metadata={"description": "[{currency, principal_fen, principal}]"})
    months = fields.List(
        fields.Dict(),
        metadata={
            "description": "[{month (Beijing), currency, contracts, principal_fen, principal, last_filed_at}]"
        },
    )
    filing_delay_days = fields.Dict(metadata={"description": "{median}: start date to filing, in days"})
    reports = fields.Dict(metadata={"description": "{open, filed_late, reporters}"})
    last_filing_at = fields.String(allow_none=True)
    notices = fields.List(fields.Dict(), metadata={"description": "defunct, open_reports, filings_stopped"})
    computed_at = fields.String()


class PlatformListSchema(ma.Schema):
    platforms = fields.List(fields.Nested(PlatformFiguresSchema))
    computed_at = fields.String()


class FollowedSchema(ma.Schema):
    platform_id = fields.String()
    name = fields.String()
    status = fields.String()
    followed = fields.String(metadata={"description": "automatic (a platform of your contracts) or chosen"})
    notices = fields.List(fields.Dict())


class FollowsSchema(ma.Schema):
    platforms = fields.List(fields.Nested(FollowedSchema))


@blp.route("/platforms", methods=["GET"])
@blp.alt_response(200, schema=PlatformListSchema, description="every platform's figures, by name")
def platforms() -> Response:
    """Every platform's public record: counts and sums only, nothing personal."""
    snapshot = runtime().transparency.all_platforms()
    return json_response(
        {"platforms": snapshot.as_dicts(), "computed_at": snapshot.computed_at}, headers=_PUBLIC
    )


@blp.route("/platforms.csv", methods=["GET"])
@blp.alt_response(200, description="text/csv: one row per platform")
def platforms_csv() -> Response:
    """Every platform's figures as CSV, one row per platform (principal per currency)."""
    snapshot = runtime().transparency.all_platforms()
    return _csv(_summary_rows(snapshot.figures, snapshot.computed_at), "platforms.csv")


@blp.route("/platforms/months.csv", methods=["GET"])
@blp.alt_response(200, description="text/csv: one row per platform, Beijing month and currency")
def months_csv() -> Response:
    """Contracts filed and principal per platform and month, as CSV."""
    snapshot = runtime().transparency.all_platforms()
    return _csv(_month_rows(snapshot.figures), "platform-months.csv")


@blp.route("/platforms/<platform_id>/transparency", methods=["GET"])
@blp.alt_response(200, schema=PlatformFiguresSchema, description="the platform's figures")
@blp.alt_response(404, schema=ErrorSchema, description="not_found")
def transparency(platform_id: str) -> Response:
    """One platform's public record."""
    snapshot = runtime().transparency.platform(platform_id)
    return json_response(snapshot.as_dicts()[0], headers=_PUBLIC)


@blp.route("/platforms/<platform_id>/transparency.csv", methods=["GET"])
@blp.alt_response(200, description="text/csv: the platform's months")
@blp.alt_response(404, schema=ErrorSchema, description="not_found")
def transparency_csv(platform_id: str) -> Response:
    """One platform's months as CSV (its totals: ``/platforms.csv``)."""
    snapshot = runtime().transparency.platform(platform_id)
    return _csv(_month_rows(snapshot.figures), f"{platform_id}-months.csv")


@blp.route("/me/follows", methods=["GET"])
@blp.alt_response(200, schema=FollowsSchema, description="the platforms you follow, with their notices")
def follows() -> Response:
    """The platforms of your contracts (followed automatically) and those you chose, with notices."""
    key_fingerprint = caller_of(auth.PARTY)
    answer = {"platforms": runtime().transparency.followed(key_fingerprint)}
    return json_response(answer, headers={"Cache-Control": "no-store"})


@blp.route("/me/follows/<platform_id>", methods=["PUT"])
@blp.alt_response(200, schema=FollowsSchema, description="already followed")
@blp.alt_response(201, schema=FollowsSchema, description="newly followed")
@blp.alt_response(404, schema=ErrorSchema, description="not_found: no such platform")
def follow(platform_id: str) -> Response:
    """Follow a platform by choice."""
    key_fingerprint = caller_of(auth.PARTY)
    rt = runtime()
    created = rt.transparency.follow(key_fingerprint, platform_id)
    return json_response({"platforms": rt.transparency.followed(key_fingerprint)}, 201 if created else 200)


@blp.route("/me/follows/<platform_id>", methods=["DELETE"])
@blp.alt_response(204, description="no longer followed")
@blp.alt_response(404, schema=ErrorSchema, description="not_found: not followed by choice")
@blp.alt_response(409, schema=ErrorSchema, description="followed_automatically: a platform of your contracts")
def unfollow(platform_id: str) -> Response:
    """Stop following a platform you chose."""
    key_fingerprint = caller_of(auth.PARTY)
    runtime().transparency.unfollow(key_fingerprint, platform_id)
    return Response(status=204)


SUMMARY_COLUMNS = (
    "platform_id", "name", "status", "created_at", "defunct_at", "contracts_filed", *STATUSES,
    "currency", "principal_fen", "principal", "median_filing_delay_days", "reports_open",
    "reports_filed_late", "reporters", "last_filing_at", "filings_stopped", "computed_at",
)  # fmt: skip
MONTH_COLUMNS = (
    "platform_id",
    "name",
    "month",
    "currency",
    "contracts",
    "principal_fen",
    "principal",
    "last_filed_at",
)


def _summary_rows(figures: Sequence[PlatformFigures], computed_at: str) -> Iterable[dict[str, Any]]:
    for item in figures:
        base = {
            "platform_id": item.platform_id,
            "name": item.name,
            "status": item.status,
            "created_at": item.created_at,
            "defunct_at": item.defunct_at or "",
            "contracts_filed": item.filed,
            **item.contracts,
            "median_filing_delay_days": "" if item.median_delay_days is None else item.median_delay_days,
            "reports_open": item.reports_open,
            "reports_filed_late": item.reports_filed_late,
            "reporters": item.reporters,
            "last_filing_at": item.last_filing_at or "",
            "filings_stopped": "yes" if any(n["kind"] == "filings_stopped" for n in item.notices) else "no",
            "computed_at": computed_at,
        }
        principal = item.principal() or [{"currency": "", "principal_fen": 0, "principal": "0.00"}]
        for amount in principal:
            yield {**base, **amount}


def _month_rows(figures: Sequence[PlatformFigures]) -> Iterable[dict[str, Any]]:
    for item in figures:
        for month in item.months:
            yield {"platform_id": item.platform_id, "name": item.name, **month}


def _csv(rows: Iterable[dict[str, Any]], file_name: str) -> Response:
    rows = list(rows)
    columns = MONTH_COLUMNS if file_name.endswith("months.csv") else SUMMARY_COLUMNS
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column, "")) for column in columns})
    # A byte order mark, so a spreadsheet opens the Chinese names as UTF-8.
    response = Response("\ufeff" + text.getvalue(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers.update(_PUBLIC)
    return response


def _cell(value: Any) -> Any:
    # A name beginning with = + - @ is a formula to a spreadsheet: quote it as text (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
