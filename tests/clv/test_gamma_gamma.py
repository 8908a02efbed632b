"""GammaGammaModel against Fader & Hardie's note, lifetimes, and a simulation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModelError,
    simulate_beta_geo,
    simulate_gamma_gamma,
)
from cible.clv.gamma_gamma import _Spend

from .test_summary import FROM_LIFETIMES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

#: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", CDNOW sample.
PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cdnow_summary_data_with_monetary_value().rename(columns=FROM_LIFETIMES)


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow)


@pytest.fixture(scope="module")
def reference(cdnow: pd.DataFrame) -> GammaGammaFitter:
    buyers = cdnow[cdnow["repeat_purchases"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lifetimes' frequency and monetary_value are our repeat_purchases and mean_repeat_value.
        return GammaGammaFitter().fit(
            frequency=buyers["repeat_purchases"], monetary_value=buyers["mean_repeat_value"]
        )


@pytest.fixture(scope="module")
def purchases(cdnow: pd.DataFrame) -> tuple[BetaGeoModel, BetaGeoFitter]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = BetaGeoFitter().fit(
            frequency=cdnow["repeat_purchases"], recency=cdnow["recency"], T=cdnow["T"]
        )
    return BetaGeoModel().fit(cdnow), theirs


def test_cdnow_matches_the_published_estimates(model: GammaGammaModel):
    assert model.params_ == pytest.approx(PUBLISHED, rel=1e-2)
    assert model.n_customers_ == 946  # repeat buyers only
    assert abs(model.repeat_purchases_value_correlation_ - 0.11) < 0.01


def test_cdnow_equals_lifetimes(
    model: GammaGammaModel, reference: GammaGammaFitter, cdnow: pd.DataFrame
):
    assert model.params_ == pytest.approx(reference.params_.to_dict(), rel=1e-5)
    assert model.standard_errors_ == pytest.approx(reference.standard_errors_.to_dict(), rel=1e-3)
    assert model.log_likelihood_ == pytest.approx(
        -reference._negative_log_likelihood_ * model.n_customers_, rel=1e-9
    )
    ours = model.expected_average_value(cdnow)
    theirs = reference.conditional_expected_average_profit(
        frequency=cdnow["repeat_purchases"], monetary_value=cdnow["mean_repeat_value"]
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)  # every customer, buyers or not


def test_cdnow_lifetime_value_equals_lifetimes(
    model: GammaGammaModel,
    reference: GammaGammaFitter,
    purchases: tuple[BetaGeoModel, BetaGeoFitter],
    cdnow: pd.DataFrame,
):
    ours_bg, theirs_bg = purchases
    ours = model.customer_lifetime_value(ours_bg, cdnow)
    theirs = reference.customer_lifetime_value(
        theirs_bg,
        frequency=cdnow["repeat_purchases"],
        recency=cdnow["recency"],
        T=cdnow["T"],
        monetary_value=cdnow["mean_repeat_value"],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    assert ours.name == "clv"
    assert ours.index.equals(cdnow.index)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_recovers_known_parameters_from_simulated_customers():
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    customers = simulate_beta_geo(20_000, r=0.5, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=11)
    spend = simulate_gamma_gamma(customers["repeat_purchases"], **truth, seed=12)
    fitted = GammaGammaModel().fit(customers["repeat_purchases"], spend)
    for name, value in truth.items():
        error = abs(fitted.params_[name] - value)
        se = fitted.standard_errors_[name]
        assert error < 4 * se, f"{name}: {fitted.params_[name]:.4f} vs {value} (se {se:.4f})"
        assert se < 0.2 * value


def test_analytic_gradient_matches_finite_differences():
    x = np.arange(1, 301) % 9 + 1.0
    spend = _Spend.build(x, simulate_gamma_gamma(x, p=6.0, q=4.0, v=15.0, seed=1))
    for point in (np.log([6.0, 4.0, 15.0]), np.log([1.0, 2.0, 50.0])):
        analytic = spend.log_likelihood(point)[1]
        numeric = np.zeros(3)
        for i in range(3):
            step = np.zeros(3)
            step[i] = 1e-5
            upper = spend.log_likelihood(point + step)[0]
            lower = spend.log_likelihood(point - step)[0]
            numeric[i] = (upper - lower) / 2e-5
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-4)


def test_strong_correlation_warns():
    x = np.tile(np.arange(1.0, 11.0), 100)
    # Frequent buyers spend more per purchase: what the model assumes away.
    spend = simulate_gamma_gamma(x, p=6.0, q=4.0, v=15.0, seed=0) * (1 + 0.3 * (x - 1))
    with pytest.warns(UserWarning, match="correlate"):
        fitted = GammaGammaModel().fit(x, spend)
    assert fitted.repeat_purchases_value_correlation_ > 0.3


def test_cdnow_fits_without_warning(cdnow: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GammaGammaModel().fit(cdnow)


def test_few_repeat_buyers_warn():
    x = np.array([1.0, 2, 3, 1, 2, 4, 1, 2, 5, 1])
    spend = np.array([10.0, 12, 9, 30, 7, 11, 14, 22, 18, 9])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GammaGammaModel().fit(x, spend)
    assert any("Only 10 repeat buyers" in str(w.message) for w in caught)


def test_refusals():
    with pytest.raises(ModelError, match="needs repeat buyers"):
        GammaGammaModel().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ModelError, match="positive amounts"):
        GammaGammaModel().fit([1, 2, 0], [0.0, 5.0, 0.0])
    with pytest.raises(ModelError, match="negative"):
        GammaGammaModel().fit([1, 2], [-3.0, 5.0])
    with pytest.raises(ModelError, match="'mean_repeat_value' column"):
        GammaGammaModel().fit(pd.DataFrame({"repeat_purchases": [1, 2]}))
    with pytest.raises(ModelError, match="not fitted"):
        GammaGammaModel().expected_average_value(1, 10.0)


def test_expected_value_shrinks_towards_the_population_mean(model: GammaGammaModel):
    p, q, v = (model.params_[name] for name in ("p", "q", "v"))
    population = p * v / (q - 1)
    values = model.expected_average_value([0, 1, 10, 1000], [0.0, 100.0, 100.0, 100.0])
    assert values.iloc[0] == pytest.approx(population)
    assert population < values.iloc[1] < values.iloc[2] < values.iloc[3] < 100.0
    assert values.iloc[3] == pytest.approx(100.0, rel=1e-2)


def test_infinite_mean_spend_is_refused():
    model = GammaGammaModel()
    model.params_ = {"p": 2.0, "q": 0.9, "v": 10.0}
    with pytest.raises(ModelError, match=r"q is 0\.9"):
        model.expected_average_value(1, 10.0)


def test_lifetime_value_arithmetic(
    model: GammaGammaModel, purchases: tuple[BetaGeoModel, BetaGeoFitter], cdnow: pd.DataFrame
):
    bg = purchases[0]
    base = model.customer_lifetime_value(bg, cdnow, discount_rate=0.0)
    # Without discounting the monthly sums telescope: value times purchases in 12 months.
    months = 12 * 365 / 12 / 7
    direct = model.expected_average_value(cdnow) * bg.expected_purchases(months, cdnow)
    np.testing.assert_allclose(base, direct, rtol=1e-10)
    half = model.customer_lifetime_value(bg, cdnow, discount_rate=0.0, margin=0.5)
    np.testing.assert_allclose(half, base / 2)
    discounted = model.customer_lifetime_value(bg, cdnow, discount_rate=0.05)
    assert (discounted <= base).all() and (discounted < base).any()
    longer = model.customer_lifetime_value(bg, cdnow, horizon_months=24)
    assert (longer >= model.customer_lifetime_value(bg, cdnow)).all()
    daily = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    bg_days = BetaGeoModel().fit(daily)
    in_days = model.customer_lifetime_value(bg_days, daily, period_days=1)
    np.testing.assert_allclose(in_days, model.customer_lifetime_value(bg, cdnow), rtol=1e-5)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("horizon_months", 0, "horizon_months"),
        ("discount_rate", -1.0, "discount_rate"),
        ("period_days", 0.0, "period_days"),
    ],
)
def test_lifetime_value_options_are_checked(
    model: GammaGammaModel,
    purchases: tuple[BetaGeoModel, BetaGeoFitter],
    cdnow: pd.DataFrame,
    option: str,
    value: float,
    message: str,
):
    with pytest.raises(ModelError, match=message):
        model.customer_lifetime_value(purchases[0], cdnow, **{option: value})


def test_save_and_load_round_trip(tmp_path: Path, model: GammaGammaModel, cdnow: pd.DataFrame):
    path = tmp_path / "gamma_gamma.json"
    model.save(path)
    loaded = GammaGammaModel.load(path)
    assert loaded.params_ == model.params_
    assert loaded.repeat_purchases_value_correlation_ == model.repeat_purchases_value_correlation_
    pd.testing.assert_series_equal(
        loaded.expected_average_value(cdnow), model.expected_average_value(cdnow)
    )
    with pytest.raises(ModelError, match="not a BetaGeoModel"):
        BetaGeoModel.load(path)


def test_init_only_stores_and_fit_returns_self(cdnow: pd.DataFrame):
    model = GammaGammaModel(max_iter=100)
    assert vars(model) == {"max_iter": 100}
    assert model.fit(cdnow) is model
