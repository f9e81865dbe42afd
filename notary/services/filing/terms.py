"""The terms of a loan contract: what is accepted, kept exactly as sent once valid."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notary.errors import Unprocessable
from notary.services.clock import parse_time
from notary.verify.payloads import format_time

_AMOUNT = re.compile(r"^(?:0|[1-9]\d{0,14})(?:\.\d{1,2})?$")
_RATE = re.compile(r"^0(?:\.\d{1,6})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_SIGNING_WINDOW = dt.timedelta(days=366)


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, no floats, no booleans."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


def _amount(value: str) -> None:
    if not _AMOUNT.match(value) or not any(c in "123456789" for c in value):
        raise ValidationError('a decimal string greater than 0 with at most 2 decimals, e.g. "10000.00"')


def _rate(value: str) -> None:
    if not _RATE.match(value):
        raise ValidationError(
            'a decimal fraction at least 0 and below 1 with at most 6 decimals, e.g. "0.0800"'
        )


def _date(value: str) -> None:
    try:
        if not _DATE.match(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("a date YYYY-MM-DD") from exc


def _date_time(value: str) -> None:
    try:
        parse_time(value)
    except ValueError as exc:
        raise ValidationError("an RFC 3339 date-time with a timezone, e.g. 2026-12-08T00:00:00Z") from exc


class TermsSchema(Schema):
    """The terms of ``POST /contracts``. Unknown fields are refused."""

    investor = fields.String(required=True, validate=validate.Length(1, 40))
    borrower = fields.String(required=True, validate=validate.Length(1, 40))
    amount = fields.String(required=True, validate=_amount)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code"))
    annual_rate = fields.String(required=True, validate=_rate)
    term_months = StrictInteger(required=True, validate=validate.Range(1, 600))
    start_date = fields.String(required=True, validate=_date)
    sign_by = fields.String(validate=_date_time)
    title = fields.String(validate=validate.Length(1, 200))
    external_ref = fields.String(
        validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$", error="1 to 128 printable ASCII")
    )

    @validates_schema
    def _distinct_parties(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("investor") and data.get("investor") == data.get("borrower"):
            raise ValidationError("investor and borrower must be different parties", "borrower")


_SCHEMA = TermsSchema()


def validate_terms(terms: Any) -> dict[str, Any]:
    """The terms as sent, checked; raises :class:`Unprocessable` with ``details`` field → messages."""
    if not isinstance(terms, dict):
        raise Unprocessable("terms must be a JSON object", details={"terms": ["must be an object"]})
    try:
        _SCHEMA.load(terms)
    except ValidationError as exc:
        raise Unprocessable("the terms are not valid", details=_prefixed(exc.normalized_messages())) from exc
    # The loaded values equal what was sent (strings are kept, integers are integers): keep
    # the platform's exact text, so people sign the bytes they saw.
    return dict(terms)


def accept_terms(
    terms: dict[str, Any], *, now: dt.datetime, signing_window: float
) -> tuple[dict[str, Any], str]:
    """Fill defaults (``sign_by``) and check the deadline; returns (terms as accepted, deadline).

    The deadline is ``sign_by`` in the service's own time format, for comparisons.
    """
    accepted = dict(terms)
    if "sign_by" in accepted:
        sign_by = parse_time(accepted["sign_by"])
        if sign_by <= now:
            raise Unprocessable(
                "sign_by is in the past", details={"terms.sign_by": ["must be in the future"]}
            )
        if sign_by - now > MAX_SIGNING_WINDOW:
            raise Unprocessable(
                "sign_by is too far ahead", details={"terms.sign_by": ["at most 366 days ahead"]}
            )
    else:
        sign_by = now + dt.timedelta(seconds=signing_window)
        accepted["sign_by"] = format_time(sign_by)
    return accepted, format_time(sign_by)


def _prefixed(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return {f"terms.{key}" if key != "_schema" else "terms": value for key, value in messages.items()}
    return {"terms": messages}
