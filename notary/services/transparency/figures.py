"""Each platform's public record: counts and sums over its contracts and the reports against it,
computed by SQL aggregation (never by loading contracts into Python), without personal data.

Per platform: contracts filed, and how many are awaiting signatures, signed, sealed, declined
and expired (an unsigned contract past its deadline counts as expired before the sweep runs);
principal filed, in total and per Beijing month, per currency (summed in fen, ``amount_fen``);
the median delay from a contract's start date to its filing, in days (Beijing dates); reports
open and filed late, and how many keys reported; the last filing; whether the platform is
defunct and since when. Public figures are counts per platform, never per document
(round2-notes, "Privacy of the log").

The median is exact and in SQL on both databases: a histogram of delays (one row per distinct
day count, from one pass over the platform's index) and running sums over it (window
functions); the median is the mean of the values at positions ⌈N/2⌉ and ⌊N/2⌋+1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from notary.services.ceremony.signatures import EXPIRED
from notary.services.filing.service import AWAITING
from notary.storage.calendar import beijing_date, beijing_month, days_between
from notary.storage.models import Contract, Platform
from notary.storage.report_models import Report

STATUSES = ("awaiting_signatures", "signed", "sealed", "declined", "expired")


def yuan(fen: int) -> str:
    """Hundredths as a decimal string with two places (``1000050`` → ``"10000.50"``)."""
    sign = "-" if fen < 0 else ""
    units, cents = divmod(abs(fen), 100)
    return f"{sign}{units}.{cents:02d}"


def _scoped(query: Select[Any], column: Any, one: bool) -> Select[Any]:
    return query.where(column == bindparam("platform_id")) if one else query


def _status_query(one: bool) -> Select[Any]:
    overdue = and_(Contract.status == AWAITING, Contract.deadline <= bindparam("now"))
    status = case((overdue, literal(EXPIRED)), else_=Contract.status).label("status")
    query = select(Contract.platform_id, status, func.count().label("contracts"))
    return _scoped(query, Contract.platform_id, one).group_by(Contract.platform_id, status)


def _month_query(one: bool) -> Select[Any]:
    month = beijing_month(Contract.received_at).label("month")
    query = select(
        Contract.platform_id,
        month,
        Contract.currency,
        func.count().label("contracts"),
        func.sum(Contract.amount_fen).label("principal_fen"),
        func.max(Contract.received_at).label("last_filed_at"),
    )
    return _scoped(query, Contract.platform_id, one).group_by(Contract.platform_id, month, Contract.currency)


def _median_query(one: bool) -> Select[Any]:
    delay = days_between(Contract.start_date, beijing_date(Contract.received_at)).label("delay")
    histogram = (
        _scoped(select(Contract.platform_id, delay, func.count().label("n")), Contract.platform_id, one)
        .group_by(Contract.platform_id, delay)
        .subquery("histogram")
    )
    running = select(
        histogram.c.platform_id,
        histogram.c.delay,
        func.sum(histogram.c.n)
        .over(partition_by=histogram.c.platform_id, order_by=histogram.c.delay)
        .label("cum"),
        func.sum(histogram.c.n).over(partition_by=histogram.c.platform_id).label("total"),
    ).subquery("running")
    lower = func.min(case((2 * running.c.cum >= running.c.total, running.c.delay)))
    upper = func.min(case((2 * running.c.cum >= running.c.total + 1, running.c.delay)))
    return select(
        running.c.platform_id,
        lower.label("lower"),
        upper.label("upper"),
        func.max(running.c.total).label("contracts"),
    ).group_by(running.c.platform_id)


def _report_query(one: bool) -> Select[Any]:
    query = select(
        Report.platform_id,
        func.count().label("reports"),
        func.count(Report.filed_contract_id).label("filed_late"),
        func.count(distinct(Report.key_fingerprint)).label("reporters"),
        func.max(case((Report.filed_contract_id.is_(None), Report.lodged_at))).label("latest_open"),
    )
    return _scoped(query, Report.platform_id, one).group_by(Report.platform_id)


_QUERIES = {
    one: {
        "status": _status_query(one),
        "months": _month_query(one),
        "median": _median_query(one),
        "reports": _report_query(one),
    }
    for one in (True, False)
}

# Filing days of one platform since a cutoff, and the gaps between them (in days).
_DAY = beijing_date(Contract.received_at)
_DAYS = (
    select(_DAY.label("day"))
    .where(Contract.platform_id == bindparam("platform_id"), Contract.received_at >= bindparam("since"))
    .distinct()
    .subquery("days")
)
_GAPS = select(
    days_between(func.lag(_DAYS.c.day).over(order_by=_DAYS.c.day), _DAYS.c.day).label("gap")
).subquery("gaps")
_USUAL_GAP = select(func.max(_GAPS.c.gap), func.count())


@dataclass
class PlatformFigures:
    """One platform's figures, as the API, the pages, the CSV and the feed show them."""

    platform_id: str
    name: str
    status: str
    created_at: str
    defunct_at: str | None
    contracts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    months: list[dict[str, Any]] = field(default_factory=list)
    median_delay_days: float | None = None
    reports_open: int = 0
    reports_filed_late: int = 0
    reporters: int = 0
    latest_open_report_at: str | None = None
    usual_gap_days: int | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def filed(self) -> int:
        return sum(self.contracts.values())

    @property
    def last_filing_at(self) -> str | None:
        return max((month["last_filed_at"] for month in self.months), default=None)

    def principal(self) -> list[dict[str, Any]]:
        """Principal filed per currency, over every month."""
        totals: dict[str, int] = {}
        for month in self.months:
            totals[month["currency"]] = totals.get(month["currency"], 0) + month["principal_fen"]
        return [
            {"currency": c, "principal_fen": fen, "principal": yuan(fen)} for c, fen in sorted(totals.items())
        ]

    def as_dict(self, computed_at: str) -> dict[str, Any]:
        return {
            "platform": {
                "platform_id": self.platform_id,
                "name": self.name,
                "status": self.status,
                "created_at": self.created_at,
                "defunct_at": self.defunct_at,
            },
            "contracts": {"filed": self.filed, **self.contracts},
            "principal": self.principal(),
            "months": self.months,
            "filing_delay_days": {"median": self.median_delay_days},
            "reports": {
                "open": self.reports_open,
                "filed_late": self.reports_filed_late,
                "reporters": self.reporters,
            },
            "last_filing_at": self.last_filing_at,
            "notices": self.notices,
            "computed_at": computed_at,
        }


def platform_figures(session: Session, *, now: str, platform_id: str | None = None) -> list[PlatformFigures]:
    """The figures of one platform (``platform_id``) or of every platform, by name; five
    aggregate statements whatever the number of contracts. Notices are left to the caller."""
    one = platform_id is not None
    parameters = {"platform_id": platform_id, "now": now}
    query = select(Platform).order_by(Platform.name, Platform.id)
    if one:
        query = query.where(Platform.id == platform_id)
    figures = {
        p.id: PlatformFigures(p.id, p.name, p.status, p.created_at, p.defunct_at)
        for p in session.execute(query).scalars()
    }
    statements = _QUERIES[one]
    for row in session.execute(statements["status"], parameters):
        if row.platform_id in figures:
            figures[row.platform_id].contracts[row.status] = (
                figures[row.platform_id].contracts.get(row.status, 0) + row.contracts
            )
    for row in session.execute(statements["months"].order_by("month", Contract.currency), parameters):
        if row.platform_id in figures:
            figures[row.platform_id].months.append(
                {
                    "month": row.month,
                    "currency": row.currency,
                    "contracts": row.contracts,
                    "principal_fen": int(row.principal_fen),
                    "principal": yuan(int(row.principal_fen)),
                    "last_filed_at": row.last_filed_at,
                }
            )
    for row in session.execute(statements["median"], parameters):
        if row.platform_id in figures and row.lower is not None:
            figures[row.platform_id].median_delay_days = (int(row.lower) + int(row.upper)) / 2
    for row in session.execute(statements["reports"], parameters):
        if row.platform_id in figures:
            target = figures[row.platform_id]
            target.reports_filed_late = row.filed_late
            target.reports_open = row.reports - row.filed_late
            target.reporters = row.reporters
            target.latest_open_report_at = row.latest_open
    return list(figures.values())


def usual_gap_days(session: Session, platform_id: str, since: str) -> tuple[int | None, int]:
    """The longest gap (days) between two consecutive filing days of the platform since
    ``since``, and how many filing days there were."""
    longest, days = session.execute(_USUAL_GAP, {"platform_id": platform_id, "since": since}).one()
    return (None if longest is None else int(longest)), int(days)


def by_month(figures: Sequence[PlatformFigures]) -> list[dict[str, Any]]:
    """One row per platform, month and currency (the monthly CSV)."""
    return [{"platform_id": f.platform_id, "name": f.name, **month} for f in figures for month in f.months]
