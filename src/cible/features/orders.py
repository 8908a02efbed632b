"""Purchase traits: recency, frequency, monetary value, returns and channel mix.

A *purchase* is an order whose status is ``completed`` or missing (many exports have
no status column, and an order there is a sale). Cancelled and returned orders are
counted apart and never feed frequency or monetary value; ``pending`` orders count
nowhere until they settle. Only orders placed strictly before ``as_of`` count.

The orders table is read by one group-by whose aggregates are all conditional
(``FILTER``), and ratios are derived in a second select over that small result:
Ibis would otherwise copy each aggregate into every ratio that reads it.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> orders = ibis.memtable(
...     {
...         "customer_id": ["a", "a", "a"],
...         "ordered_at": [datetime(2024, 1, 1), datetime(2024, 1, 11), datetime(2024, 1, 20)],
...         "amount": [10.0, 30.0, 5.0],
...         "discount_amount": [0.0, 3.0, 0.0],
...         "channel": ["web", "store", "web"],
...         "status": ["completed", None, "returned"],
...     }
... )
>>> row = order_traits(orders, datetime(2024, 2, 1)).to_pyarrow().to_pylist()[0]
>>> row["frequency"], row["monetary_value"], row["mean_days_between_orders"]
(2, 40.0, 10.0)
>>> row["top_channel"], row["return_rate"]
('store', 0.3333333333333333)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.schema import SALES_CHANNELS
from cible.features.clock import days_ago, days_before, epoch_days

#: Order columns this module reads.
ORDER_COLUMNS = ("customer_id", "ordered_at", "amount", "discount_amount", "channel", "status")

#: Traits that are 0, not NULL, for a customer without any order.
ZERO_WHEN_ABSENT = (
    "frequency",
    "monetary_value",
    "orders_90d",
    "revenue_90d",
    "returns",
    "cancellations",
)
#: Days of the recent window of ``orders_90d`` and ``revenue_90d``.
RECENT_DAYS = 90

# Ties between channels go to the first name alphabetically, so the same data always
# gives the same label whatever order the backend scans rows in.
_CHANNELS_ALPHABETICAL = tuple(sorted(SALES_CHANNELS))


def is_purchase(orders: Any) -> Any:
    """Boolean expression: the order is a purchase (completed, or without status)."""
    return orders.status.isnull() | (orders.status == "completed")


def past_orders(orders: Any, as_of: datetime) -> Any:
    """Orders of known customers placed strictly before ``as_of``."""
    return orders.filter(orders.customer_id.notnull(), orders.ordered_at < as_of)


def order_traits(orders: Any, as_of: datetime) -> Any:
    """Per-customer purchase traits as of ``as_of``.

    Parameters
    ----------
    orders : ibis.Table
        Canonical ``orders`` columns (at least :data:`ORDER_COLUMNS`).
    as_of : datetime
        Naive UTC moment; orders placed at or after it are ignored.

    Returns
    -------
    ibis.Table
        One row per customer with at least one order before ``as_of`` (whatever its
        status): ``customer_id`` and the order and channel traits of
        :data:`cible.features.TRAITS`. Customers without orders are absent; the
        caller fills :data:`ZERO_WHEN_ABSENT` with 0 for them.

    Notes
    -----
    ``mean_days_between_orders`` is ``(last - first) / (frequency - 1)``: two orders
    placed on the same day are two orders, so they lower the mean rather than being
    merged into one purchase occasion as some CLV models do.
    """
    past = past_orders(orders, as_of)
    purchase = is_purchase(past)
    recent = purchase & (past.ordered_at >= days_ago(as_of, RECENT_DAYS))
    per_channel = {
        _channel_count(channel): past.count(where=purchase & (past.channel == channel))
        for channel in SALES_CHANNELS
    }
    totals = past.group_by("customer_id").aggregate(
        first_order_at=past.ordered_at.min(where=purchase),
        last_order_at=past.ordered_at.max(where=purchase),
        frequency=past.count(where=purchase),
        # Rounded to 4 decimals, the finest minor unit of any currency (ISO 4217): the
        # exact total is then the same whatever order parallel threads add it in, so a
        # customer at a rule's threshold (>= 1500) is in or out the same way every run.
        monetary_value=past.amount.sum(where=purchase).round(4),
        orders_90d=past.count(where=recent),
        revenue_90d=past.amount.sum(where=recent).round(4),
        _discounted=past.count(where=purchase & (past.discount_amount > 0)),
        returns=past.count(where=past.status == "returned"),
        cancellations=past.count(where=past.status == "cancelled"),
        **per_channel,
    )
    return _derive(totals, as_of)


def _channel_count(channel: str) -> str:
    return f"_n_{channel}"


def _derive(totals: Any, as_of: datetime) -> Any:
    """Ratios and durations over the per-customer totals."""
    purchases = totals.frequency.nullif(0).cast(dt.float64)
    monetary = totals.monetary_value.fill_null(0.0)
    kept_or_returned = (totals.frequency + totals.returns).nullif(0).cast(dt.float64)
    span_days = epoch_days(totals.last_order_at) - epoch_days(totals.first_order_at)
    shares = {
        f"channel_share_{channel}": totals[_channel_count(channel)] / purchases
        for channel in SALES_CHANNELS
    }
    return totals.select(
        "customer_id",
        "first_order_at",
        "last_order_at",
        recency_days=days_before(as_of, totals.last_order_at),
        frequency=totals.frequency,
        monetary_value=monetary,
        orders_90d=totals.orders_90d,
        revenue_90d=totals.revenue_90d.fill_null(0.0),
        avg_order_value=monetary / purchases,
        mean_days_between_orders=span_days / (purchases - 1).nullif(0),
        discount_share=totals._discounted / purchases,
        returns=totals.returns,
        cancellations=totals.cancellations,
        return_rate=totals.returns / kept_or_returned,
        top_channel=_top_channel(totals),
        **shares,
    )


def _top_channel(totals: Any) -> Any:
    """Channel with the most purchases; NULL when no purchase has a known channel."""
    counts = [totals[_channel_count(channel)] for channel in _CHANNELS_ALPHABETICAL]
    most = ibis.greatest(*counts)
    branches = [
        (count == most, channel)
        for count, channel in zip(counts, _CHANNELS_ALPHABETICAL, strict=True)
    ]
    return ibis.cases((most == 0, ibis.null(dt.string)), *branches, else_=ibis.null(dt.string))
