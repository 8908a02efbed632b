"""Outcomes and sufficient statistics of campaigns, against pandas and under the null."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from cible.activation.campaign_analysis import ALL, analyse_statistics
from cible.activation.campaign_assignment import assign_arms
from cible.activation.campaign_definition import parse_campaign
from cible.activation.campaign_outcomes import arm_statistics, customer_outcomes

LAUNCH = datetime(2025, 3, 1)


def _definition(campaign_id: str, holdout: float = 0.5) -> object:
    return parse_campaign(
        {
            "id": campaign_id,
            "segments": ["s"],
            "channel": "email",
            "variants": [{"id": "v", "share": 1 - holdout, "message": "m"}],
            "holdout": holdout,
            "start": "2025-03-01",
            "end": "2025-03-31",
        }
    )


def _null_world(campaigns: int, per_campaign: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each campaign has its own customers; no arm changes anything they buy."""
    rng = np.random.default_rng(seed)
    total = campaigns * per_campaign
    ids = np.array([f"c{i:07d}" for i in range(total)])
    campaign_of = np.repeat([f"k{j:04d}" for j in range(campaigns)], per_campaign)
    arms = np.empty(total, dtype=object)
    for j in range(campaigns):
        block = slice(j * per_campaign, (j + 1) * per_campaign)
        arms[block] = assign_arms(f"k{j:04d}", list(ids[block]), [("v", 0.5), ("holdout", 0.5)])
    assignments = pd.DataFrame(
        {
            "campaign_id": campaign_of,
            "customer_id": ids,
            "segment_id": "s",
            "arm": arms,
            "eligible_at": LAUNCH,
        }
    )
    rate = rng.gamma(0.5, 0.04, total)
    counts = rng.poisson(rate * 104)  # 90 days before and 14 days after the launch
    who = np.repeat(ids, counts)
    orders = pd.DataFrame(
        {
            "customer_id": who,
            "ordered_at": [
                LAUNCH + timedelta(days=float(d)) for d in rng.uniform(-90, 14, len(who))
            ],
            "amount": np.round(rng.lognormal(3.5, 0.8, len(who)), 2),
            "discount_amount": 0.0,
            "status": "completed",
        }
    )
    return assignments, orders


def test_sufficient_statistics_equal_pandas() -> None:
    assignments, orders = _null_world(3, 300, seed=1)
    orders.loc[orders.index[::7], "status"] = "cancelled"  # not purchases
    as_of = LAUNCH + timedelta(days=10)  # part of the window only
    found = (
        arm_statistics(
            customer_outcomes(
                ibis.memtable(assignments),
                ibis.memtable(orders),
                as_of=as_of,
                window_days=14,
                pre_days=30,
            )
        )
        .to_pandas()
        .set_index(["campaign_id", "arm"])
        .sort_index()
    )
    bought = orders[orders.status == "completed"]
    window = bought[(bought.ordered_at >= LAUNCH) & (bought.ordered_at < as_of)]
    pre = bought[(bought.ordered_at >= LAUNCH - timedelta(days=30)) & (bought.ordered_at < LAUNCH)]
    frame = assignments.set_index("customer_id")
    frame["y"] = window.groupby("customer_id").amount.sum()
    frame["x"] = pre.groupby("customer_id").amount.sum()
    frame = frame.fillna({"y": 0.0, "x": 0.0})
    frame["xy"] = frame.x * frame.y
    expected = frame.groupby(["campaign_id", "arm"]).agg(
        n=("y", "size"),
        sum_y=("y", "sum"),
        sum_y2=("y", lambda s: (s**2).sum()),
        sum_x=("x", "sum"),
        sum_xy=("xy", "sum"),
        conversions=("y", lambda s: int((s > 0).sum())),
    )
    for column in expected.columns:
        assert np.allclose(found[column].to_numpy(), expected[column].to_numpy()), column
    assert (found.complete == 0).all()


def test_null_campaigns_reject_five_percent_of_the_time() -> None:
    # 1,000 campaigns with no effect, 400 customers each (200 per arm, the smallest
    # size the analysis promises to serve): the share of p < 0.05 is the type-I error.
    campaigns = 1_000
    assignments, orders = _null_world(campaigns, 400, seed=2)
    rows = (
        arm_statistics(
            customer_outcomes(
                ibis.memtable(assignments),
                ibis.memtable(orders),
                as_of=LAUNCH + timedelta(days=14),
                window_days=14,
                pre_days=90,
            )
        )
        .to_pyarrow()
        .to_pylist()
    )
    by_campaign: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_campaign.setdefault(str(row["campaign_id"]), []).append(row)
    rejected = {"revenue": 0, "conversion": 0, "welch": 0}
    mismatches = 0
    for campaign_id, found in by_campaign.items():
        analysis = analyse_statistics(_definition(campaign_id), found, margin=0.3, min_per_arm=2)  # type: ignore[arg-type]
        for c in analysis.comparisons:
            if c.segment == ALL:
                rejected[c.metric] += c.p_value < 0.05
                if c.metric == "revenue":
                    rejected["welch"] += (c.unadjusted_p_value or 1.0) < 0.05
        mismatches += any(r.mismatch for r in analysis.sample_ratios)
    for name, count in rejected.items():
        assert count / campaigns == pytest.approx(0.05, abs=0.015), name
    assert mismatches <= 5  # flagged at p < 0.001: about 1 in 1,000


def test_biased_assignment_is_flagged() -> None:
    # A send system that drops a fifth of the holdout (as if it had bounced them)
    # leaves 55/45 where 50/50 was planned.
    assignments, orders = _null_world(1, 4_000, seed=3)
    holdout = assignments.index[assignments.arm == "holdout"]
    assignments.loc[holdout[::5], "eligible_at"] = pd.NaT
    rows = (
        arm_statistics(
            customer_outcomes(
                ibis.memtable(assignments),
                ibis.memtable(orders),
                as_of=LAUNCH + timedelta(days=14),
                window_days=14,
                pre_days=90,
            )
        )
        .to_pyarrow()
        .to_pylist()
    )
    analysis = analyse_statistics(_definition("k0000"), rows, margin=0.3)  # type: ignore[arg-type]
    assert all(r.mismatch for r in analysis.sample_ratios)
    assert any("Sample-ratio mismatch" in note for note in analysis.notes)
