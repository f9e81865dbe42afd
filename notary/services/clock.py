"""Time as a parameter: services ask a clock, tests hand them a fixed one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from notary.verify.payloads import format_time


class Clock(Protocol):
    def __call__(self) -> dt.datetime:
        """The current time, timezone-aware."""


def system_clock() -> dt.datetime:
    """The machine's clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def stamp(clock: Clock) -> str:
    """The clock's current time as the service writes times (RFC 3339, ms, ``Z``)."""
    return format_time(clock())


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 time with a timezone; raises :class:`ValueError` otherwise."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError("not an RFC 3339 date-time")
    value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError("an RFC 3339 date-time needs a timezone (Z or an offset)")
    return value
