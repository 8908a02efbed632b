"""``ws.experiments``: campaign analyses against known truth and reference libraries."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats import proportion

from cible import Workspace
from cible.activation.campaign_analysis import ALL
from cible.experiments import ExperimentError
from tests.activation.experiment_shop import (
    AS_OF,
    ENGAGEMENT,
    LAUNCH,
    WINDOW,
    Shop,
    build_shop,
    campaign,
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return build_shop(tmp_path_factory.mktemp("experiments"))


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
    for segment in ("paris", "lyon", ALL):
        part = reference if segment == ALL else reference[reference.city == segment]
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
    total = returns[(ALL, "v")]
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
        definition = campaign() | {"segments": ["lifecycle-prospect"]}
        ws.campaigns.add(definition, now=LAUNCH)
        with pytest.raises(ExperimentError, match="has not been launched"):
            ws.experiments.analyse("spring")


def test_email_events_are_counted_per_arm_once_per_customer(shop: Shop) -> None:
    path, _, _ = shop
    with Workspace.open(path) as ws:
        analysis = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
    names = {
        "Email Delivered": "delivered",
        "Email Opened": "opened",
        "Email Link Clicked": "clicked",
        "Unsubscribed": "unsubscribed",
    }
    assert analysis.engagement == {"v": {names[e]: n for e, n in ENGAGEMENT}}


def test_customers_who_withdraw_after_launch_stay_in_the_analysis(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Intention to treat: variant customers who unsubscribe after the e-mail, then a
    # relaunch (which marks them ineligible for sending), must not leave the comparison.
    path, _, truth = build_shop(tmp_path_factory.mktemp("withdrawn"))
    with Workspace.open(path) as ws:
        before = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
        quitters = truth.customer_id[truth.arm == "v"].head(300)
        ledger = path.parent / "withdrawn.csv"
        pd.DataFrame(
            {
                "customer_id": quitters,
                "channel": "email",
                "purpose": "marketing",
                "status": "withdrawn",
                "recorded_at": (LAUNCH + timedelta(days=2)).isoformat(),
            }
        ).to_csv(ledger, index=False)
        ws.imports.load("consents", ledger)
        ws.campaigns.launch("spring", now=LAUNCH + timedelta(days=3))
        assert ws.campaigns.assignments("spring")["excluded"]["withdrawn"] >= 300
        after = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
    sizes = lambda a: [(c.segment, c.n_variant, c.n_control) for c in a.comparisons]  # noqa: E731
    assert sizes(after) == sizes(before)
    assert not any(r.mismatch for r in after.sample_ratios)


def test_a_moment_with_an_offset_is_the_same_instant_in_utc(shop: Shop) -> None:
    path, _, _ = shop
    moment = LAUNCH + timedelta(days=5, hours=3)
    shifted = moment.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))
    with Workspace.open(path) as ws:
        naive = ws.experiments.analyse("spring", as_of=moment, sequential=True)
        aware = ws.experiments.analyse("spring", as_of=shifted, sequential=True)
    # The same figures; DuckDB sums in parallel, in no fixed order, so the last digits
    # of a float may differ between two reductions of the same rows.
    for one, other in zip(
        naive.as_dict()["comparisons"], aware.as_dict()["comparisons"], strict=True
    ):
        assert one.keys() == other.keys()
        for key, value in one.items():
            if isinstance(value, float):
                assert other[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert other[key] == value, key


def test_wrong_settings_are_refused_in_one_sentence(shop: Shop) -> None:
    path, _, _ = shop
    with Workspace.open(path) as ws:
        with pytest.raises(ExperimentError, match="window_days 0"):
            ws.experiments.analyse("spring", window_days=0)
        with pytest.raises(ExperimentError, match=r"margin 1\.5"):
            ws.experiments.analyse("spring", margin=1.5)


def test_the_cost_counts_the_messages_delivered_in_each_segment(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from cible.store.deliveries import NewDelivery, Outcome

    path, _, truth = build_shop(tmp_path_factory.mktemp("delivered"))
    variant = truth[truth.arm == "v"].head(100)
    with Workspace.open(path) as ws:
        ws.store.enqueue_deliveries(
            [
                NewDelivery(f"campaign:spring:{c}", "email", c, "x@example.com", "{}",
                            source="campaign:spring:v")
                for c in variant.customer_id
            ],
            at=LAUNCH,
        )  # fmt: skip
        rows = ws.store.list_deliveries(limit=1_000)
        delivered = rows[: len(rows) * 3 // 4]  # the rest stay pending: not sent yet
        ws.store.record_deliveries([Outcome(r.delivery_id, "delivered", LAUNCH) for r in delivered])
        analysis = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
    city = dict(zip(truth.customer_id, truth.city, strict=True))
    expected = {s: sum(city[r.customer_id] == s for r in delivered) for s in ("paris", "lyon")}
    returns = {r.segment: r for r in analysis.returns}
    assert {s: returns[s].sent for s in expected} == expected
    assert returns[ALL].sent == len(delivered)
    assert returns["paris"].cost == pytest.approx(
        100 * returns["paris"].treated / returns[ALL].treated + 0.05 * expected["paris"]
    )
