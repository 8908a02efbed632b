"""Lifecycle stages against a pandas reference on random customers."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd

from cible.domain.config import LifecycleSection
from cible.features.lifecycle import STAGES, add_lifecycle, last_gap_days

AS_OF = datetime(2025, 1, 1)


def _reference(orders: pd.DataFrame, customers: list[str], s: LifecycleSection) -> dict[str, str]:
    bought = orders[(orders["ordered_at"] < AS_OF) & (orders["status"] != "cancelled")]
    stages = {}
    for customer in customers:
        mine = bought[bought["customer_id"] == customer].sort_values("ordered_at")
        if mine.empty:
            stages[customer] = "prospect"
            continue
        times = list(mine["ordered_at"])
        recency = (AS_OF - times[-1]).total_seconds() / 86400
        rhythm = (
            (times[-1] - times[0]).total_seconds() / 86400 / (len(times) - 1)
            if len(times) > 1
            else None
        )
        gap = (times[-1] - times[-2]).total_seconds() / 86400 if len(times) > 1 else None
        since_first = (AS_OF - times[0]).total_seconds() / 86400
        has_rhythm = rhythm is not None and rhythm > 0
        lapsed = recency > s.lapsed_factor * rhythm if has_rhythm else recency > s.lapsed_days
        at_risk = recency > s.at_risk_factor * rhythm if has_rhythm else recency > s.at_risk_days
        if recency > s.churned_days:
            stage = "churned"
        elif lapsed:
            stage = "lapsed"
        elif at_risk:
            stage = "at_risk"
        elif recency <= s.reactivated_days and gap is not None and gap > s.lapsed_days:
            stage = "reactivated"
        elif since_first <= s.new_days:
            stage = "new"
        elif len(times) >= s.loyal_min_orders:
            stage = "loyal"
        else:
            stage = "active"
        stages[customer] = stage
    return stages


def test_stages_match_reference():
    rng = np.random.default_rng(8)
    customers = [f"c{i:03d}" for i in range(300)]
    rows = []
    for customer in customers[30:]:
        count = int(rng.integers(1, 9))
        start = AS_OF - timedelta(days=float(rng.uniform(5, 900)))
        spacing = float(rng.choice([7.0, 30.0, 90.0, 400.0]))
        for k in range(count):
            moment = start + timedelta(days=k * spacing * float(rng.uniform(0.5, 1.5)))
            rows.append((customer, moment, "completed" if rng.random() > 0.1 else "cancelled"))
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "status"])
    bought = orders[(orders["ordered_at"] < AS_OF) & (orders["status"] == "completed")]
    grouped = bought.groupby("customer_id")["ordered_at"]
    traits = pd.DataFrame({"customer_id": customers}).merge(
        pd.DataFrame(
            {
                "frequency": grouped.count(),
                "first_order_at": grouped.min(),
                "last_order_at": grouped.max(),
            }
        ).reset_index(),
        how="left",
    )
    traits["frequency"] = traits["frequency"].fillna(0).astype(int)
    traits["recency_days"] = (AS_OF - traits["last_order_at"]).dt.total_seconds() / 86400
    span = (traits["last_order_at"] - traits["first_order_at"]).dt.total_seconds() / 86400
    traits["mean_days_between_orders"] = np.where(
        traits["frequency"] > 1, span / (traits["frequency"] - 1).clip(lower=1), np.nan
    )
    settings = LifecycleSection()
    got = (
        add_lifecycle(
            ibis.memtable(traits),
            ibis.memtable(orders),
            as_of=AS_OF,
            settings=settings,
        )
        .to_pandas()
        .set_index("customer_id")["lifecycle_stage"]
        .to_dict()
    )
    want = _reference(orders[orders["status"] == "completed"], customers, settings)
    assert got == want
    assert set(got.values()) <= set(STAGES)
    assert len(set(got.values())) >= 6


def test_last_gap_counts_purchases_only_and_same_moment_orders_as_no_gap():
    day = timedelta(days=1)
    rows = [
        ("twin", AS_OF - 40 * day, "completed"),
        ("twin", AS_OF - 10 * day, "completed"),
        ("twin", AS_OF - 10 * day, None),  # same moment as the last: a gap of 0
        ("gap", AS_OF - 300 * day, "completed"),
        ("gap", AS_OF - 100 * day, "cancelled"),  # not a purchase
        ("gap", AS_OF - 20 * day, "completed"),
        ("gap", AS_OF + day, "completed"),  # after as_of
        ("once", AS_OF - 5 * day, "completed"),
    ]
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "status"])
    last = pd.DataFrame(
        {
            "customer_id": ["twin", "gap", "once", "prospect"],
            "last_order_at": [AS_OF - 10 * day, AS_OF - 20 * day, AS_OF - 5 * day, None],
        }
    )
    got = (
        last_gap_days(ibis.memtable(orders), ibis.memtable(last), AS_OF)
        .to_pandas()
        .set_index("customer_id")["last_gap_days"]
        .to_dict()
    )
    assert got == {"twin": 0.0, "gap": 280.0}
