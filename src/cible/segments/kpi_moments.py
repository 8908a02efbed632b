"""The moments KPIs are computed at, and the period that ends at each.

A moment is a kept snapshot or "now" (the latest run). Its period is the window of
one ``period`` (a week, a calendar month by default, or a quarter) that ends at the
moment; the previous period is the window of the same length just before it.

Examples
--------
>>> from datetime import datetime
>>> [m.period_start for m in kpi_moments([(3, datetime(2024, 3, 31))], "month")]
[datetime.datetime(2024, 2, 29, 0, 0)]
>>> period_bounds(datetime(2024, 3, 1), "quarter")
(datetime.datetime(2023, 12, 1, 0, 0), datetime.datetime(2023, 9, 1, 0, 0))
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cible.domain.errors import CibleError

#: Period lengths: days for a week, calendar months otherwise.
PERIODS = {"week": 0, "month": 1, "quarter": 3}
#: The moment id of "now", the latest run (snapshot ids start at 1).
NOW = 0


@dataclass(frozen=True)
class KpiMoment:
    """A moment and the bounds of its period and of the previous one."""

    moment_id: int
    as_of: datetime
    period_start: datetime
    previous_start: datetime


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` calendar months earlier, the day clamped to the month's end.

    Examples
    --------
    >>> months_before(datetime(2024, 5, 31, 12), 3)
    datetime.datetime(2024, 2, 29, 12, 0)
    """
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def check_period(period: str) -> str:
    """``period`` when it is a known period, else a ``CibleError`` naming the choices."""
    if period not in PERIODS:
        raise CibleError(f"Unknown period {period!r}: use one of {', '.join(PERIODS)}.")
    return period


def period_bounds(as_of: datetime, period: str) -> tuple[datetime, datetime]:
    """The start of the period ending at ``as_of``, and of the period before it."""
    months = PERIODS[check_period(period)]
    if months == 0:
        return as_of - timedelta(days=7), as_of - timedelta(days=14)
    return months_before(as_of, months), months_before(as_of, 2 * months)


def kpi_moments(moments: Iterable[tuple[int, datetime]], period: str) -> list[KpiMoment]:
    """Each ``(moment_id, as_of)`` with its period bounds, oldest first."""
    found = []
    for moment_id, as_of in sorted(moments, key=lambda m: (m[1], m[0])):
        start, previous = period_bounds(as_of, period)
        found.append(KpiMoment(moment_id, as_of, start, previous))
    return found
