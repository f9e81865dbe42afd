"""Time as a parameter: services ask a clock, tests hand them a fixed one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from notary.verify.errors import MalformedInput
from notary.verify.payloads import format_time
from notary.verify.times import parse_rfc3339


class Clock(Protocol):
    def __call__(self) -> dt.datetime:
        """The current time, timezone-aware."""


def system_clock() -> dt.datetime:
    """The machine's clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def now_text(clock: Clock) -> str:
    """The clock's current time as the service writes times (RFC 3339, ms, ``Z``).

    (Not "stamp": in this code base a stamp is only ever an RFC 3161 timestamp.)"""
    return format_time(clock())


def parse_time(text: str) -> dt.datetime:
    """Parse an RFC 3339 time (:mod:`notary.verify.times`); raises :class:`ValueError` otherwise."""
    try:
        return parse_rfc3339(text)
    except MalformedInput as exc:
        raise ValueError(exc.message) from exc
