"""Customer acquisition cost (CAC): what acquiring each customer cost, from channel costs.

A row of ``acquisition_costs`` says a channel cost ``cost`` from ``period_start`` to
``period_end`` (inclusive; the end of ``period_start``'s month when absent). Its CAC
is that cost divided by the customers acquired through the channel in the period: a
customer's ``acquisition_channel`` names the channel and their acquisition moment is
``created_at``, else their first purchase. Each of those customers carries the CAC
of the row; a customer under two rows of their channel (a monthly and a campaign
budget) carries the sum. Customers without a channel, or acquired outside every
period of their channel, have no CAC (NULL), and neither does a row that acquired no
one (its cost is reported apart, not spread).

Examples
--------
>>> from datetime import date, datetime
>>> import ibis
>>> customers = ibis.memtable({"customer_id": ["a", "b", "c"],
...     "acquisition_channel": ["social", "social", None],
...     "created_at": [datetime(2024, 1, 3), None, datetime(2024, 1, 9)]})
>>> orders = ibis.memtable({"customer_id": ["b"], "ordered_at": [datetime(2024, 1, 20)],
...     "amount": [10.0], "status": [None]})
>>> costs = ibis.memtable({"channel": ["social"], "period_start": [date(2024, 1, 1)],
...     "period_end": [None], "cost": [300.0]}, schema={"channel": "string",
...     "period_start": "date", "period_end": "date", "cost": "float64"})
>>> sorted(customer_cac(customers, orders, costs).to_pyarrow().to_pylist(),
...        key=lambda r: r["customer_id"])
[{'customer_id': 'a', 'cac': 150.0}, {'customer_id': 'b', 'cac': 150.0}]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.features.orders import is_purchase


def acquisitions(customers: Any, orders: Any) -> Any:
    """``customer_id, channel, acquired_on``: each customer with a channel, and the day
    they were acquired (``created_at``, else their first purchase)."""
    bought = orders.filter(orders.customer_id.notnull(), is_purchase(orders))
    first = bought.group_by("customer_id").aggregate(first_order=bought.ordered_at.min())
    known = customers.filter(
        customers.acquisition_channel.notnull(), customers.acquisition_channel != ""
    )
    joined = known.left_join(first, "customer_id")
    acquired = joined.select(
        customer_id=known.customer_id,
        channel=known.acquisition_channel,
        acquired_on=ibis.coalesce(known.created_at, first.first_order).date(),
    )
    return acquired.filter(acquired.acquired_on.notnull())


def cost_periods(costs: Any) -> Any:
    """``channel, period_start, period_end, cost`` with the end filled in (month end)."""
    month_end = (
        costs.period_start.truncate("M") + ibis.interval(months=1) - ibis.interval(days=1)
    ).cast(dt.date)
    return costs.select(
        "channel",
        "period_start",
        period_end=ibis.coalesce(costs.period_end.cast(dt.date), month_end),
        cost=costs.cost.cast(dt.float64),
    )


def channel_cac(customers: Any, orders: Any, costs: Any) -> Any:
    """Per cost row: ``channel, period_start, period_end, cost, acquired, cac``.

    ``cac`` is ``cost / acquired``, NULL when the row acquired no one.
    """
    periods = cost_periods(costs)
    acquired = acquisitions(customers, orders)
    joined = periods.left_join(
        acquired,
        [
            periods.channel == acquired.channel,
            acquired.acquired_on >= periods.period_start,
            acquired.acquired_on <= periods.period_end,
        ],
    )
    per = joined.group_by(["channel", "period_start", "period_end", "cost"]).aggregate(
        acquired=joined.customer_id.count()
    )
    return per.mutate(cac=per.cost / per.acquired.nullif(0).cast(dt.float64))


def customer_cac(customers: Any, orders: Any, costs: Any) -> Any:
    """``customer_id, cac`` for every customer acquired in a costed period of their channel."""
    periods = channel_cac(customers, orders, costs).filter(lambda t: t.acquired > 0)
    acquired = acquisitions(customers, orders)
    joined = acquired.join(
        periods,
        [
            acquired.channel == periods.channel,
            acquired.acquired_on >= periods.period_start,
            acquired.acquired_on <= periods.period_end,
        ],
    )
    return joined.group_by(acquired.customer_id).aggregate(cac=joined.cac.sum())
