"""Figures per segment for listings and reports, as Ibis expressions.

Examples
--------
>>> import ibis
>>> traits = ibis.memtable({"customer_id": ["a", "b", "c"], "frequency": [2, 1, 0],
...     "monetary_value": [100.0, 50.0, 0.0], "recency_days": [10.0, 30.0, None]})
>>> members = ibis.memtable({"segment_id": ["s", "s"], "customer_id": ["a", "c"]})
>>> row = segment_figures(traits, members).to_pyarrow().to_pylist()[0]
>>> row["size"], row["revenue"], row["avg_order_value"], round(row["revenue_share"], 3)
(2, 100.0, 50.0, 0.667)
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt


def totals(traits: Any) -> Any:
    """One row: customers, buyers and revenue of the whole base."""
    return traits.aggregate(
        customers=traits.count(),
        # A count with a condition, not a sum of booleans cast to integers: PostgreSQL
        # has no cast from boolean to bigint.
        buyers=traits.count(where=traits.frequency.fill_null(0) > 0),
        revenue=traits.monetary_value.sum().fill_null(0.0),
    )


def segment_figures(traits: Any, members: Any) -> Any:
    """Size, shares, revenue, average order value and recency per segment.

    Parameters
    ----------
    traits : ibis.Table
        One row per customer with ``frequency``, ``monetary_value``, ``recency_days``.
    members : ibis.Table
        ``segment_id``, ``customer_id`` (current memberships).
    """
    base = totals(traits).rename(all_customers="customers", all_revenue="revenue")
    joined = members.join(traits, "customer_id")
    per = joined.group_by("segment_id").aggregate(
        size=joined.count(),
        revenue=joined.monetary_value.sum().fill_null(0.0),
        orders=joined.frequency.sum().fill_null(0),
        mean_recency_days=joined.recency_days.mean(),
    )
    both = per.cross_join(base)
    return both.select(
        "segment_id",
        "size",
        "revenue",
        "mean_recency_days",
        customer_share=both.size / ibis.greatest(both.all_customers, 1),
        # A base without revenue gives shares of 0, not a division by zero.
        revenue_share=both.revenue / ibis.greatest(both.all_revenue, 1e-9),
        avg_order_value=ibis.cases(
            (both.orders > 0, both.revenue / both.orders), else_=ibis.null(dt.float64)
        ),
    )


def rfm_cells(traits: Any) -> Any:
    """Customers and revenue per (R, F) score pair, buyers only."""
    scored = traits.filter(traits.rfm_r.notnull())
    return scored.group_by(r=scored.rfm_r, f=scored.rfm_f).aggregate(
        customers=scored.count(), revenue=scored.monetary_value.sum().fill_null(0.0)
    )
