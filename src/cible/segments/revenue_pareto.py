"""Which segments of a dimension hold which share of the customers and of the revenue.

Revenue is each member's ``monetary_value`` in the latest run (all purchases up to
it). Segments come most revenue first (ties by id); each gets its share of all the
base's customers and of all its revenue, and the running totals, so a reader sees at
once that, say, two segments out of seven hold 80% of the revenue. Customers in none
of the dimension's segments are not listed: the cumulative shares end at the
dimension's coverage. In a dimension whose segments overlap (rule segments may), a
customer in two segments counts in both.

Examples
--------
>>> import ibis
>>> traits = ibis.memtable({"customer_id": list("abcd"),
...     "monetary_value": [600.0, 300.0, 100.0, 0.0]})
>>> members = ibis.memtable({"segment_id": ["vip", "vip", "rest", "rest"],
...     "dimension": ["value"] * 4, "customer_id": list("abcd")})
>>> [(r.segment_id, r.customer_share, r.revenue_share, r.cumulative_revenue_share)
...  for r in revenue_pareto(traits, members, "value")]
[('vip', 0.5, 0.9, 0.9), ('rest', 0.5, 0.1, 1.0)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ParetoShare:
    """One segment's share of the customers and of the revenue, with running totals."""

    segment_id: str
    size: int
    revenue: float
    customer_share: float
    revenue_share: float | None
    cumulative_customer_share: float
    cumulative_revenue_share: float | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)


def segment_revenue(traits: Any, members: Any, dimension: str) -> Any:
    """``segment_id, size, revenue`` of each segment of ``dimension``."""
    chosen = members.filter(members.dimension == dimension)
    joined = chosen.left_join(traits, "customer_id")
    return joined.group_by(chosen.segment_id).aggregate(
        size=joined.count(), revenue=joined.monetary_value.sum().fill_null(0.0)
    )


def revenue_pareto(traits: Any, members: Any, dimension: str) -> list[ParetoShare]:
    """The segments of ``dimension``, most revenue first, with shares and running totals."""
    totals = traits.aggregate(
        customers=traits.count(), revenue=traits.monetary_value.sum().fill_null(0.0)
    )
    whole = totals.to_pyarrow().to_pylist()[0]
    customers, revenue = int(whole["customers"]), float(whole["revenue"])
    rows = segment_revenue(traits, members, dimension).to_pyarrow().to_pylist()
    rows.sort(key=lambda r: (-r["revenue"], r["segment_id"]))
    found, size_sum, revenue_sum = [], 0, 0.0
    for row in rows:
        size_sum += int(row["size"])
        revenue_sum += float(row["revenue"])
        found.append(
            ParetoShare(
                segment_id=row["segment_id"],
                size=int(row["size"]),
                revenue=float(row["revenue"]),
                customer_share=int(row["size"]) / customers if customers else 0.0,
                revenue_share=float(row["revenue"]) / revenue if revenue else None,
                cumulative_customer_share=size_sum / customers if customers else 0.0,
                cumulative_revenue_share=revenue_sum / revenue if revenue else None,
            )
        )
    return found
