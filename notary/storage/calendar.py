"""Calendar arithmetic in SQL, one meaning on SQLite and PostgreSQL, for the platforms' figures.

The service writes times as fixed-width RFC 3339 UTC text (``2026-12-01T08:00:01.250Z``) and
keeps a contract's start date as ``YYYY-MM-DD``. The figures count days and months in Beijing
time (UTC+8, no daylight saving), as the people they are for do:

- :class:`BeijingDate` — the Beijing calendar date of a service time, as ``YYYY-MM-DD`` text;
- :class:`BeijingMonth` — its month, ``YYYY-MM``;
- :class:`DaysBetween` — whole days from one ``YYYY-MM-DD`` date to another (negative if before).

Each compiles to the database's own date functions, so aggregation stays in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class BeijingDate(FunctionElement[str]):
    """``YYYY-MM-DD``: the Beijing date of a service time."""

    type = String()
    inherit_cache = True
    name = "beijing_date"


class BeijingMonth(FunctionElement[str]):
    """``YYYY-MM``: the Beijing month of a service time."""

    type = String()
    inherit_cache = True
    name = "beijing_month"


class DaysBetween(FunctionElement[int]):
    """Whole days from the first date (``YYYY-MM-DD``) to the second."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


def _arguments(element: FunctionElement[Any], compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(argument, **kw) for argument in element.clauses]


@compiles(BeijingDate, "sqlite")
def _sqlite_date(element: BeijingDate, compiler: Any, **kw: Any) -> str:
    (time,) = _arguments(element, compiler, **kw)
    return f"date({time}, '+8 hours')"


@compiles(BeijingDate, "postgresql")
def _pg_date(element: BeijingDate, compiler: Any, **kw: Any) -> str:
    (time,) = _arguments(element, compiler, **kw)
    # The text ends in Z; a timestamp without time zone reads it as UTC's wall time.
    return f"to_char(CAST({time} AS timestamp) + interval '8 hours', 'YYYY-MM-DD')"


@compiles(BeijingMonth, "sqlite")
def _sqlite_month(element: BeijingMonth, compiler: Any, **kw: Any) -> str:
    (time,) = _arguments(element, compiler, **kw)
    return f"strftime('%Y-%m', {time}, '+8 hours')"


@compiles(BeijingMonth, "postgresql")
def _pg_month(element: BeijingMonth, compiler: Any, **kw: Any) -> str:
    (time,) = _arguments(element, compiler, **kw)
    return f"to_char(CAST({time} AS timestamp) + interval '8 hours', 'YYYY-MM')"


@compiles(DaysBetween, "sqlite")
def _sqlite_days(element: DaysBetween, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(DaysBetween, "postgresql")
def _pg_days(element: DaysBetween, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"(CAST({end} AS date) - CAST({start} AS date))"


def beijing_date(time: ColumnElement[Any]) -> BeijingDate:
    return BeijingDate(time)


def beijing_month(time: ColumnElement[Any]) -> BeijingMonth:
    return BeijingMonth(time)


def days_between(start: ColumnElement[Any], end: ColumnElement[Any]) -> DaysBetween:
    return DaysBetween(start, end)
