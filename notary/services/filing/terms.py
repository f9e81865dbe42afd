"""The terms of a loan contract: what is accepted, kept exactly as sent once valid."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from notary.errors import Unprocessable
from notary.services.text import text_problem
from notary.verify.errors import MalformedInput
from notary.verify.payloads import format_time
from notary.verify.times import parse_rfc3339

# Numbers, codes and references are ASCII and matched whole (re.fullmatch, re.ASCII): "\d"
# takes any script's digits (Decimal read "1٠٠٠٠٠.00" as 100000.00 while the certificate's
# font printed "1.00"), and "$" matches before a trailing newline. docs/payloads.md gives
# each term's grammar.
_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,2})?", re.ASCII)
_RATE = re.compile(r"0(?:\.[0-9]{1,6})?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_EXTERNAL_REF = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)
_PARTY_ID = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)
MAX_SIGNING_WINDOW = dt.timedelta(days=366)


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, no floats, no booleans."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


def _amount(value: str) -> None:
    if not _AMOUNT.fullmatch(value) or not any(c in "123456789" for c in value):
        raise ValidationError('a decimal string greater than 0 with at most 2 decimals, e.g. "10000.00"')


def _rate(value: str) -> None:
    if not _RATE.fullmatch(value):
        raise ValidationError(
            'a decimal fraction at least 0 and below 1 with at most 6 decimals, e.g. "0.0800"'
        )


def _date(value: str) -> None:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("a date YYYY-MM-DD") from exc


def _date_time(value: str) -> None:
    try:
        parse_rfc3339(value)
    except MalformedInput as exc:
        raise ValidationError(
            "an RFC 3339 date-time: YYYY-MM-DDThh:mm:ss, optionally .1 to 9 digits, then Z or ±hh:mm "
            "(e.g. 2026-12-08T00:00:00Z)"
        ) from exc


def _printed_text(value: str) -> None:
    problem = text_problem(value, printed=True)
    if problem is not None:
        raise ValidationError(problem)


def _pattern(pattern: re.Pattern[str], message: str) -> Any:
    def check(value: str) -> None:
        if not pattern.fullmatch(value):
            raise ValidationError(message)

    return check


class TermsSchema(Schema):
    """The terms of ``POST /contracts``. Unknown fields are refused."""

    investor = fields.String(required=True, validate=_pattern(_PARTY_ID, "a party id"))
    borrower = fields.String(required=True, validate=_pattern(_PARTY_ID, "a party id"))
    amount = fields.String(required=True, validate=_amount)
    currency = fields.String(
        required=True, validate=_pattern(_CURRENCY, "an ISO 4217 code: three letters A-Z")
    )
    annual_rate = fields.String(required=True, validate=_rate)
    term_months = StrictInteger(required=True, validate=validate.Range(1, 600))
    start_date = fields.String(required=True, validate=_date)
    sign_by = fields.String(validate=_date_time)
    title = fields.String(validate=[validate.Length(1, 200), _printed_text])
    external_ref = fields.String(
        validate=_pattern(_EXTERNAL_REF, "1 to 128 printable ASCII characters, no spaces")
    )

    @validates_schema
    def _distinct_parties(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("investor") and data.get("investor") == data.get("borrower"):
            raise ValidationError("investor and borrower must be different parties", "borrower")


class ClaimedTermsSchema(Schema):
    """Terms as a person says the platform told them (a check, a report): any of the terms'
    own fields but the parties, each in the terms' grammar. Unknown fields are refused."""

    amount = fields.String(validate=_amount)
    currency = fields.String(validate=_pattern(_CURRENCY, "an ISO 4217 code: three letters A-Z"))
    annual_rate = fields.String(validate=_rate)
    term_months = StrictInteger(validate=validate.Range(1, 600))
    start_date = fields.String(validate=_date)
    title = fields.String(validate=[validate.Length(1, 200), _printed_text])
    external_ref = fields.String(
        validate=_pattern(_EXTERNAL_REF, "1 to 128 printable ASCII characters, no spaces")
    )


_SCHEMA = TermsSchema()
_CLAIMED = ClaimedTermsSchema()


def validate_claimed(claimed: Any, *, field: str = "claimed") -> dict[str, Any]:
    """Claimed terms as sent, checked; raises :class:`Unprocessable` naming ``field.<name>``."""
    if not isinstance(claimed, dict):
        raise Unprocessable(f"{field} must be a JSON object", details={field: ["must be an object"]})
    try:
        _CLAIMED.load(claimed)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        raise Unprocessable(
            f"{field} is not valid",
            details={
                f"{field}.{key}" if key != "_schema" else field: value for key, value in messages.items()
            },
        ) from exc
    return dict(claimed)


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
        sign_by = parse_rfc3339(accepted["sign_by"], what="sign_by")
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


def amount_in_fen(amount: str) -> int:
    """An accepted amount string in hundredths: ``"10000.5"`` gives ``1000050``. Exact (no
    float); raises ``ValueError`` for a string outside the amount grammar."""
    if not _AMOUNT.fullmatch(amount):
        raise ValueError(f"not an amount: {amount!r}")
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int((cents + "00")[:2])


def _prefixed(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return {f"terms.{key}" if key != "_schema" else "terms": value for key, value in messages.items()}
    return {"terms": messages}
