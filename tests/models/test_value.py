"""Lifetime value in runs: inputs equal rfm_summary, scores equal the models', tiers by share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible import Workspace
from cible.clv import BetaGeoModel, rfm_summary
from cible.clv.simulation import simulate_beta_geo, simulate_gamma_gamma
from cible.demo import CDNOW_AS_OF, build_demo
from cible.models.value import TIERS, hold_value_scores, score_value, value_inputs
from cible.store import store as store_module


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("value") / "cdnow"
    build_demo(folder, dataset="cdnow")
    return folder


def test_inputs_match_rfm_summary_in_days(cdnow: Path):
    with Workspace.open(cdnow, read_only=True) as ws:
        orders = ws.table("orders").to_pandas()
        ours = value_inputs(ws.table("orders"), CDNOW_AS_OF).to_pandas().set_index("customer_id")
    reference = rfm_summary(orders, observation_end=CDNOW_AS_OF - pd.Timedelta(days=1), period="D")
    joined = ours.join(reference.add_suffix("_ref"))
    assert len(joined) == 2357
    for column in ("repeat_purchases", "recency", "mean_repeat_value"):
        np.testing.assert_allclose(joined[column], joined[f"{column}_ref"], rtol=1e-9)
    # T counts up to the start of as_of's day; rfm_summary's end is the day before.
    np.testing.assert_allclose(joined["T"], joined["T_ref"] + 1, rtol=1e-9)


def test_run_scores_equal_the_model_and_tiers_follow_shares(cdnow: Path):
    with Workspace.open(cdnow) as ws:
        ws.run(as_of=CDNOW_AS_OF)
        traits = ws.traits().to_pandas().set_index("customer_id")
        inputs = value_inputs(ws.table("orders"), CDNOW_AS_OF).to_pandas().set_index("customer_id")
    model = BetaGeoModel().fit(inputs["repeat_purchases"], inputs["recency"], inputs["T"])
    expected = model.expected_probability_alive(
        inputs["repeat_purchases"], inputs["recency"], inputs["T"]
    )
    np.testing.assert_allclose(traits.loc[inputs.index, "probability_alive"], expected, rtol=1e-6)
    shares = traits["value_tier"].value_counts(normalize=True)
    bounds = dict(TIERS)
    assert shares["platinum"] == pytest.approx(bounds["platinum"], abs=0.01)
    assert shares["gold"] == pytest.approx(bounds["gold"] - bounds["platinum"], abs=0.01)
    best = traits.sort_values("clv_12m", ascending=False)
    assert best["value_tier"].iloc[0] == "platinum" and best["value_tier"].iloc[-1] == "bronze"
    assert (traits["expected_next_order_at"].dropna() > datetime(1998, 7, 1)).all()


def test_too_few_buyers_leave_value_empty_and_say_why(tmp_path: Path):
    with Workspace.create(tmp_path / "tiny") as ws:
        (tmp_path / "o.csv").write_text(
            "order_id,customer_id,ordered_at,amount\n1,A,2024-01-01,5\n"
        )
        ws.imports.load("orders", tmp_path / "o.csv")
        record = ws.run(as_of=datetime(2024, 6, 1))
        assert "lifetime value skipped" in record.notes


def test_a_sample_of_buyers_recovers_the_parameters_and_everyone_is_scored():
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(3)
    ages = rng.uniform(30, 720, 40_000).round() + 0.5
    data = simulate_beta_geo(40_000, **truth, T=ages, seed=rng)
    data["recency"] = data["recency"].round()
    data["mean_repeat_value"] = simulate_gamma_gamma(
        data["repeat_purchases"], p=6, q=4, v=15, seed=rng
    )
    inputs = data.rename_axis("customer_id").reset_index()
    inputs["customer_id"] = "c" + inputs["customer_id"].astype(str)
    as_of = datetime(2024, 1, 1)

    scores, note = score_value(inputs, as_of=as_of, fit_buyers=8_000)
    full = BetaGeoModel().fit(data["repeat_purchases"], data["recency"], data["T"])

    fitted = dict(
        part.split("=") for part in note.split("BG/NBD ")[1].split(", Gamma")[0].split(", ")
    )
    assert "fitted on a sample of 8,000" in note
    for name, value in truth.items():
        # Within four standard errors of the full fit, scaled to the sample: sqrt(5).
        assert (
            abs(float(fitted[name]) - full.params_[name]) < 4 * 5**0.5 * full.standard_errors_[name]
        )
        assert float(fitted[name]) == pytest.approx(value, rel=0.35)
    assert len(scores) == len(inputs) and scores["probability_alive"].notna().all()


def test_a_sample_with_too_few_repeat_buyers_fits_the_spend_on_all_of_them():
    rng = np.random.default_rng(5)
    inputs = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(2_000)],
            "repeat_purchases": np.r_[rng.integers(1, 6, 25), np.zeros(1_975, dtype=int)],
            "recency": np.r_[rng.uniform(50, 300, 25).round(), np.zeros(1_975)],
            "T": rng.uniform(300, 400, 2_000).round() + 0.5,
            "mean_repeat_value": np.r_[rng.gamma(6, 10, 25), np.zeros(1_975)],
        }
    )
    as_of = datetime(2024, 1, 1)
    _, sampled = score_value(inputs, as_of=as_of, fit_buyers=60)
    _, whole = score_value(inputs, as_of=as_of)

    # The 60 sampled buyers hold about one repeat buyer: the spend is fitted on all 25.
    def spend_fit(note: str) -> str:
        return note.split("Gamma-Gamma ")[1].split(" on ")[0]

    assert "fitted on a sample of 60" in sampled
    assert spend_fit(sampled) == spend_fit(whole)


def _simulated_buyers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ages = rng.uniform(30, 720, n).round() + 0.5
    data = simulate_beta_geo(n, r=0.25, alpha=4.0, a=0.8, b=2.5, T=ages, seed=rng)
    data["recency"] = data["recency"].round()
    data["mean_repeat_value"] = simulate_gamma_gamma(
        data["repeat_purchases"], p=6, q=4, v=15, seed=rng
    )
    inputs = data.rename_axis("customer_id").reset_index()
    # Ids in shuffled order, with prefixes, so that sorting them matters.
    inputs["customer_id"] = [f"{'ab'[i % 2]}{i:05d}" for i in rng.permutation(n)]
    return inputs


def test_held_scores_page_by_page_equal_the_in_memory_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Seven pages of 1,000 buyers, a model fitted on a sample of 2,500 of 6,500: the
    # run's paged scoring must draw the same sample and give every buyer the same
    # scores and tier as scoring the whole frame at once.
    monkeypatch.setattr(store_module, "PAGE_ROWS", 1_000)
    inputs = _simulated_buyers(6_500, seed=11)
    as_of = datetime(2024, 1, 1)
    expected, expected_note = score_value(inputs, as_of=as_of, fit_buyers=2_500)
    with Workspace.create(tmp_path / "ws") as ws:
        ws.store.hold("_inputs", inputs.sample(frac=1, random_state=1))
        held, note = hold_value_scores(
            ws.store, ws.store.table("_inputs"), as_of=as_of, fit_buyers=2_500
        )
        ours = held.to_pandas()
    assert note == expected_note and "sample of 2,500" in note
    ours = ours.set_index("customer_id").sort_index()
    expected = expected.set_index("customer_id").sort_index()
    assert ours.index.equals(expected.index)
    for column in ("probability_alive", "expected_orders_90d", "clv_12m"):
        np.testing.assert_array_equal(ours[column].to_numpy(), expected[column].to_numpy())
    # The database keeps microseconds, as it did when the run held the whole frame.
    pd.testing.assert_series_equal(
        ours["expected_next_order_at"].astype("datetime64[us]"),
        expected["expected_next_order_at"].astype("datetime64[us]"),
    )
    assert ours["value_tier"].tolist() == expected["value_tier"].tolist()
    assert set(ours["value_tier"]) == {"platinum", "gold", "silver", "bronze"}


def test_held_scores_stay_empty_and_say_why_with_too_few_buyers(tmp_path: Path):
    inputs = _simulated_buyers(15, seed=2)
    with Workspace.create(tmp_path / "ws") as ws:
        ws.store.hold("_inputs", inputs)
        held, note = hold_value_scores(
            ws.store, ws.store.table("_inputs"), as_of=datetime(2024, 1, 1)
        )
        ours = held.to_pandas()
    assert note.startswith("lifetime value skipped: 15 buyers")
    assert len(ours) == 15 and ours["clv_12m"].isna().all() and ours["value_tier"].isna().all()
