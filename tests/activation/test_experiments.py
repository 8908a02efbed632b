"""``ws.experiments``: campaign analyses against known truth and reference libraries."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import proportion

from cible import Workspace
from cible.activation.campaign_assignment import assign_arms
from cible.experiments import ExperimentError

LAUNCH = datetime(2025, 3, 1, 9)
AS_OF = LAUNCH + timedelta(days=20)
WINDOW = 14
CUSTOMERS = 3_000
#: The true effect: variant "v" multiplies the purchase rate by 1.5 in Paris, by 1 in Lyon.
LIFT = {"paris": 1.5, "lyon": 1.0}
#: The workspace, every order, and each customer's city and arm.
Shop = tuple[Path, pd.DataFrame, pd.DataFrame]


def _campaign() -> dict[str, object]:
    return {
        "id": "spring",
        "segments": ["paris", "lyon"],
        "channel": "email",
        "variants": [{"id": "v", "share": 0.5, "message": "crm:spring"}],
        "holdout": 0.5,
        "start": (LAUNCH - timedelta(days=1)).date().isoformat(),
        "end": (LAUNCH + timedelta(days=30)).date().isoformat(),
        "cost": {"fixed": 100, "per_send": 0.05},
    }


def _orders(
    rng: np.random.Generator, ids: list[str], rate: np.ndarray, start: datetime, days: int
) -> pd.DataFrame:
    """Poisson purchases at ``rate`` a day per customer over ``days`` days from ``start``."""
    counts = rng.poisson(rate * days)
    who = np.repeat(np.array(ids), counts)
    seconds = rng.uniform(0, days * 86_400, len(who))
    return pd.DataFrame(
        {
            "customer_id": who,
            "ordered_at": [start + timedelta(seconds=float(s)) for s in seconds],
            "amount": np.round(rng.lognormal(3.5, 0.6, len(who)), 2),
            "status": "completed",
        }
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """A shop whose campaign has a known effect; returns it and the customers' truth."""
    folder = tmp_path_factory.mktemp("experiments")
    rng = np.random.default_rng(7)
    ids = [f"c{i:05d}" for i in range(CUSTOMERS)]
    city = np.where(np.arange(CUSTOMERS) % 2 == 0, "paris", "lyon")
    # Purchases a day: 0.02 on average, varied enough that the past predicts the window.
    rate = rng.gamma(0.5, 0.04, CUSTOMERS)
    pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"{c}@example.com" for c in ids],
            "city": city,
            "created_at": "2024-01-01T00:00:00",
        }
    ).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ids,
            "channel": "email",
            "purpose": "marketing",
            "status": "granted",
            "recorded_at": "2024-01-01T00:00:00",
        }
    ).to_csv(folder / "consents.csv", index=False)
    before = _orders(rng, ids, rate, LAUNCH - timedelta(days=180), 180)
    arms = assign_arms("spring", sorted(ids), [("v", 0.5), ("holdout", 0.5)])
    arm = dict(zip(sorted(ids), arms, strict=True))
    lift = np.array([LIFT[c] if arm[i] == "v" else 1.0 for i, c in zip(ids, city, strict=True)])
    after = _orders(rng, ids, rate * lift, LAUNCH, 30)
    orders = pd.concat([before, after], ignore_index=True)
    orders.insert(0, "order_id", [f"o{i}" for i in range(len(orders))])
    truth = pd.DataFrame({"customer_id": ids, "city": city, "arm": [arm[i] for i in ids]})
    with Workspace.create(folder / "shop") as ws:
        for kind in ("customers", "consents"):
            ws.imports.load(kind, folder / f"{kind}.csv")
        before_ids = orders.ordered_at < LAUNCH
        orders[before_ids].to_csv(folder / "orders1.csv", index=False)
        ws.imports.load("orders", folder / "orders1.csv")
        for name in ("paris", "lyon"):
            ws.segments.add(
                {
                    "id": name,
                    "name": name,
                    # Cities are stored title-cased (docs/quality.md).
                    "where": {"attribute": "city", "op": "=", "value": name.title()},
                }
            )
        ws.run(as_of=LAUNCH)
        ws.campaigns.add(_campaign(), now=LAUNCH)
        ws.campaigns.launch("spring", now=LAUNCH)
        orders[~before_ids].to_csv(folder / "orders2.csv", index=False)
        ws.imports.load("orders", folder / "orders2.csv")
    return folder / "shop", orders, truth


def _reference(orders: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per-customer window revenue, conversion and pre-period revenue, with pandas."""
    window = orders[
        (orders.ordered_at >= LAUNCH) & (orders.ordered_at < LAUNCH + timedelta(days=WINDOW))
    ]
    pre = orders[(orders.ordered_at >= LAUNCH - timedelta(days=90)) & (orders.ordered_at < LAUNCH)]
    frame = truth.set_index("customer_id")
    frame["y"] = window.groupby("customer_id").amount.sum()
    frame["x"] = pre.groupby("customer_id").amount.sum()
    frame = frame.fillna({"y": 0.0, "x": 0.0})
    frame["converted"] = (frame.y > 0).astype(int)
    return frame


def test_analysis_equals_scipy_and_statsmodels_on_the_same_customers(
    shop: Shop,
) -> None:
    path, orders, truth = shop
    reference = _reference(orders, truth)
    with Workspace.open(path) as ws:
        analysis = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW, pre_days=90)
    found = {(c.segment, c.metric): c for c in analysis.comparisons}
    for segment in ("paris", "lyon", "all"):
        part = reference if segment == "all" else reference[reference.city == segment]
        v, h = part[part.arm == "v"], part[part.arm == "holdout"]
        revenue = found[(segment, "revenue")]
        assert (revenue.n_variant, revenue.n_control) == (len(v), len(h))
        welch = stats.ttest_ind(v.y, h.y, equal_var=False)
        assert revenue.unadjusted_p_value == pytest.approx(welch.pvalue, rel=1e-9)
        assert revenue.unadjusted_difference == pytest.approx(v.y.mean() - h.y.mean(), rel=1e-9)
        # CUPED: theta from the pooled within-arm regression of y on x.
        centred = part.assign(
            xc=part.x - part.groupby("arm").x.transform("mean"),
            yc=part.y - part.groupby("arm").y.transform("mean"),
        )
        theta = (centred.xc * centred.yc).sum() / (centred.xc**2).sum()
        adjusted = (v.y - theta * (v.x - part.x.mean())).mean() - (
            h.y - theta * (h.x - part.x.mean())
        ).mean()
        assert revenue.difference == pytest.approx(adjusted, rel=1e-6)
        conversion = found[(segment, "conversion")]
        assert conversion.variant_value == pytest.approx(v.converted.mean())
        score = proportion.test_proportions_2indep(
            v.converted.sum(), len(v), h.converted.sum(), len(h), method="score"
        )
        assert conversion.p_value == pytest.approx(score.pvalue, rel=1e-9)


def test_known_effect_is_found_where_planted_and_not_elsewhere(
    shop: Shop,
) -> None:
    path, orders, truth = shop
    with Workspace.open(path) as ws:
        analysis = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
    reference = _reference(orders, truth)
    found = {(c.segment, c.metric): c for c in analysis.comparisons}
    # Truth: 0.02 purchases a day x 14 days x 0.5 more x a mean basket of e^(3.5+0.18).
    planted = 0.02 * WINDOW * 0.5 * float(np.exp(3.5 + 0.6**2 / 2))
    paris = found[("paris", "revenue")]
    assert paris.ci_low <= planted <= paris.ci_high
    assert paris.significant and paris.adjusted_p_value is not None
    assert paris.probability_to_beat > 0.99
    assert not found[("lyon", "revenue")].significant
    # CUPED removes the share of variance the pre-period explains: 1 - rho^2 is left.
    part = reference[reference.city == "paris"]
    within = part[["x", "y"]] - part.groupby("arm")[["x", "y"]].transform("mean")
    rho = within.x.corr(within.y)
    assert paris.variance_reduction == pytest.approx(rho**2, abs=0.05)
    assert paris.variance_reduction > 0.1
    assert not any(r.mismatch for r in analysis.sample_ratios)
    returns = {(r.segment, r.variant): r for r in analysis.returns}
    assert returns[("paris", "v")].incremental_revenue > 0
    # Sent outside Cible: each treated customer counts as one message.
    total = returns[("all", "v")]
    assert total.sent == total.treated
    assert total.cost == pytest.approx(100 + 0.05 * total.treated)
    assert total.roi == pytest.approx(total.net / total.cost)


def test_sequential_option_gives_always_valid_results(shop: Shop) -> None:
    path, _, _ = shop
    with Workspace.open(path) as ws:
        analysis = ws.experiments.analyse(
            "spring", as_of=AS_OF, window_days=WINDOW, sequential=True
        )
    paris = next(c for c in analysis.comparisons if c.segment == "paris" and c.metric == "revenue")
    assert paris.sequential_p_value is not None
    # Always-valid inference is more cautious than the fixed-horizon test at the same look.
    assert paris.sequential_p_value >= paris.unadjusted_p_value
    assert paris.sequential_ci_low <= paris.unadjusted_difference <= paris.sequential_ci_high


def test_a_campaign_not_launched_is_refused(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "shop") as ws:
        (tmp_path / "c.csv").write_text("customer_id\na\n")
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.run(as_of=LAUNCH)
        campaign = _campaign() | {"segments": ["lifecycle-prospect"]}
        ws.campaigns.add(campaign, now=LAUNCH)
        with pytest.raises(ExperimentError, match="has not been launched"):
            ws.experiments.analyse("spring")
