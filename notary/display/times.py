"""Times and dates for people: Beijing time written as Chinese readers write it.

Input is a time string as stored or signed. Only RFC 3339 as the service accepts it is read:
upper-case ``T``, ``Z`` or ``±HH:MM``, at most 9 fractional digits, no leap second. The
fraction is carried over digit for digit, so the derived form loses nothing; everything else
gets no derived form (:class:`NotDerivable`) and is shown as signed only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from notary.display.errors import NotDerivable

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+8")
BEIJING_LABEL = "(北京时间, UTC+8)"
# The Gregorian calendar repeats every 400 years: shifting by one cycle keeps arithmetic near
# the years 0000 and 9999, which RFC 3339 allows, inside Python's datetime.
_CYCLE_YEARS = 400


def _unreadable(text: object, what: str) -> NotDerivable:
    return NotDerivable(f"not {what}", details={"value": text})


def _parse(text: str) -> tuple[dt.datetime, str, int]:
    """(instant in whole seconds shifted by ``shift`` years, fraction digits, shift)."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _unreadable(text, "an RFC 3339 date-time")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7) or "", match.group(8)
    shift = _CYCLE_YEARS if year < 5000 else -_CYCLE_YEARS
    try:
        if offset == "Z":
            zone = dt.UTC
        else:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            sign = -1 if offset[0] == "-" else 1
            zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        moment = dt.datetime(year + shift, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as exc:  # month 13, February 30, second 60, offset +24:00...
        raise _unreadable(text, "a valid RFC 3339 date-time") from exc
    return moment, fraction[1:], shift


def beijing_time(text: str) -> str:
    """``"2026-12-01T08:00:05Z"`` gives ``"2026年12月1日 16:00:05 (北京时间, UTC+8)"``.

    Month and day without leading zeros, the clock with them, the fraction kept as written
    (``16:00:05.123``). Raises :class:`NotDerivable` for a string that is not RFC 3339.
    """
    moment, fraction, shift = _parse(text)
    local = moment.astimezone(BEIJING)
    clock = local.strftime("%H:%M:%S") + (f".{fraction}" if fraction else "")
    return f"{local.year - shift}年{local.month}月{local.day}日 {clock} {BEIJING_LABEL}"


def chinese_date(text: str) -> str:
    """``"2026-12-08"`` gives ``"2026年12月8日"``; raises :class:`NotDerivable` for another form."""
    match = _DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _unreadable(text, "a date YYYY-MM-DD")
    year, month, day = (int(part) for part in match.groups())
    try:
        dt.date(year or _CYCLE_YEARS, month, day)  # year 0000 is a leap year, as 400 is
    except ValueError as exc:
        raise _unreadable(text, "a valid date") from exc
    return f"{year}年{month}月{day}日"


@dataclass(frozen=True)
class TimeForms:
    """A time as signed, with its Beijing-time form (``None`` when it is not RFC 3339)."""

    signed: str
    beijing: str | None


def time_forms(text: str) -> TimeForms:
    """``text`` and its Beijing time; never raises (see :class:`TimeForms`)."""
    try:
        beijing: str | None = beijing_time(text)
    except NotDerivable:
        beijing = None
    return TimeForms(signed=text, beijing=beijing)
