"""Retention by cohort: of the customers who first bought in a month, who bought again.

A customer's cohort is the calendar month (UTC) of their first purchase; the cohort's
retention ``k`` months later is the share of its customers with at least one purchase
in the ``k``-th calendar month after it (``k = 0`` is the first month itself, 100%).
Months after the latest run's month are not known yet: the triangle stops there, and
its last column is the run's month, possibly incomplete.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> orders = ibis.memtable({"customer_id": ["a", "a", "b", "c"], "amount": [1.0] * 4,
...     "status": [None] * 4, "ordered_at": [datetime(2024, 1, 5), datetime(2024, 3, 1),
...     datetime(2024, 1, 20), datetime(2024, 2, 2)]})
>>> triangle = retention_triangle(orders, ibis.memtable({"customer_id": ["a", "b", "c"]}),
...     datetime(2024, 3, 15), months=3)
>>> [(c.cohort, c.customers, c.retention) for c in triangle]
[('2024-01', 2, [1.0, 0.0, 0.5]), ('2024-02', 1, [1.0, 0.0]), ('2024-03', 0, [None])]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cible.features.orders import is_purchase


@dataclass(frozen=True)
class Cohort:
    """One row of the triangle: a first-purchase month and its retention by month after."""

    cohort: str
    customers: int
    #: Share of the cohort buying ``k`` months after its first month, for k = 0, 1...;
    #: None where the cohort is empty.
    retention: list[float | None]
    #: How many of them bought in each of those months.
    active: list[int]

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)


def _month_index(timestamp: Any) -> Any:
    return timestamp.year() * 12 + timestamp.month() - 1


def _label(index: int) -> str:
    year, month = divmod(index, 12)
    return f"{year:04d}-{month + 1:02d}"


def cohort_activity(orders: Any, customers: Any, as_of: datetime) -> Any:
    """``cohort, offset, active``: customers of ``customers`` (a ``customer_id`` table)
    per first-purchase month index and months after it, purchases before ``as_of`` only."""
    bought = orders.filter(
        orders.customer_id.notnull(), is_purchase(orders), orders.ordered_at < as_of
    )
    wanted = bought.semi_join(customers, "customer_id")
    months = wanted.select("customer_id", month=_month_index(wanted.ordered_at)).distinct()
    first = months.group_by("customer_id").aggregate(cohort=months.month.min())
    joined = months.join(first, "customer_id")
    return joined.group_by(
        [joined.cohort, (joined.month - joined.cohort).name("offset")]
    ).aggregate(active=joined.customer_id.nunique())


def retention_triangle(
    orders: Any, customers: Any, as_of: datetime, *, months: int = 12
) -> list[Cohort]:
    """The cohorts of the last ``months`` months up to ``as_of``'s month, oldest first.

    Every cohort month is listed, an empty one with 0 customers and no shares.
    """
    last = as_of.year * 12 + as_of.month - 1
    first = last - months + 1
    rows = cohort_activity(orders, customers, as_of)
    found = rows.filter(rows.cohort >= first).to_pyarrow().to_pylist()
    active = {(int(r["cohort"]), int(r["offset"])): int(r["active"]) for r in found}
    triangle = []
    for cohort in range(first, last + 1):
        counts = [active.get((cohort, offset), 0) for offset in range(last - cohort + 1)]
        size = counts[0]
        triangle.append(
            Cohort(
                cohort=_label(cohort),
                customers=size,
                retention=[count / size if size else None for count in counts],
                active=counts,
            )
        )
    return triangle
