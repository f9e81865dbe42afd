"""RFC 3339 date-times, the one grammar every time the notary accepts must follow.

Python's ``datetime.fromisoformat`` reads ISO 8601 far beyond RFC 3339: week dates
(``2026-W51-1T00Z``), the basic format (``20261201T000000Z``), seconds in the offset, a comma
before the fraction, any script's digits. A deadline accepted in one of those forms is then
printed as sent (the certificate showed ``Sign by 2026-W51-1T00Z``) and read differently by
every other tool. So a time is accepted only in this grammar (RFC 3339 section 5.6, narrowed):

    date-time = YYYY "-" MM "-" DD "T" hh ":" mm ":" ss [ "." 1*9 digit ] ( "Z" / ( "+" / "-" ) hh ":" mm )

ASCII digits only, upper-case ``T`` and ``Z``, at most nine fractional digits, no leap second
(``:60``), offsets up to ``23:59``, and a real calendar date from year 0001.
"""

from __future__ import annotations

import datetime as dt
import re

from notary.verify.errors import MalformedInput

__all__ = ["RFC3339", "MalformedTime", "parse_rfc3339"]

#: The grammar above, for :func:`re.fullmatch` (groups: year, month, day, hour, minute,
#: second, fraction digits or None, offset).
RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


class MalformedTime(MalformedInput):
    """A time that is not an RFC 3339 date-time in the grammar above."""

    code = "malformed_time"


def parse_rfc3339(text: object, *, what: str = "time") -> dt.datetime:
    """The instant ``text`` names, timezone-aware; a fraction beyond microseconds is cut
    (never rounded up, so a deadline is never moved later).

    Raises :class:`MalformedTime` for anything outside the grammar (see the module), an
    impossible date or time (February 30, 24:00, a leap second) or an offset beyond 23:59.
    """
    match = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise MalformedTime(
            f"{what} must be an RFC 3339 date-time such as 2026-12-08T00:00:00Z or 2026-12-08T08:00:00+08:00",
            details={"value": text if isinstance(text, str) else None},
        )
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7) or "", match.group(8)
    try:
        if offset == "Z":
            zone = dt.UTC
        else:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            sign = -1 if offset[0] == "-" else 1
            zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        microsecond = int((fraction + "000000")[:6])
        return dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)
    except ValueError as exc:  # month 13, February 30, second 60, year 0000, offset +24:00
        raise MalformedTime(f"{what} is not a valid date and time", details={"value": text}) from exc
