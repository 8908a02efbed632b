"""BetaGeoModel against the BG/NBD paper, lifetimes, and simulations with known truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible.clv import BetaGeoModel, GammaGammaModel, ModelError, rfm_summary, simulate_beta_geo
from cible.clv.beta_geo import _Patterns

from .test_summary import cdnow_transactions

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes import BetaGeoFitter
    from lifetimes.datasets import load_cdnow_summary

#: Fader, Hardie & Lee (2005), CDNOW sample, 39-week calibration: table and text.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOG_LIKELIHOOD = -9582.4


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


@pytest.fixture(scope="module")
def reference(cdnow: pd.DataFrame) -> BetaGeoFitter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_cdnow_matches_the_published_estimates(model: BetaGeoModel):
    # The paper prints three decimals: r = 0.24259 is printed 0.243, 1.7e-3 away in
    # relative terms, so the check is that ours rounds to the printed values.
    assert {name: round(value, 3) for name, value in model.params_.items()} == PUBLISHED
    assert model.params_ == pytest.approx(PUBLISHED, rel=2e-3)
    assert model.log_likelihood_ == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, rel=1e-3, abs=0.05)
    assert model.n_customers_ == 2357
    assert model.penalized_ is False


def test_cdnow_worked_example_of_the_paper(model: BetaGeoModel):
    # Section 5: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    # 1.226 purchases in the next 39 weeks.
    expected = model.expected_purchases(39, 2, 30.43, 38.86)
    assert expected.iloc[0] == pytest.approx(1.226, abs=5e-4)


def test_cdnow_equals_lifetimes(model: BetaGeoModel, reference: BetaGeoFitter, cdnow: pd.DataFrame):
    assert model.params_ == pytest.approx(reference.params_.to_dict(), rel=1e-5)
    assert model.standard_errors_ == pytest.approx(reference.standard_errors_.to_dict(), rel=1e-3)
    x, tx, age = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ours = model.expected_purchases(39, cdnow)
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(39, x, tx, age)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)
    ours_alive = model.expected_probability_alive(cdnow)
    theirs_alive = reference.conditional_probability_alive(x, tx, age)
    np.testing.assert_allclose(ours_alive, theirs_alive, rtol=1e-3)
    horizons = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        model.expected_purchases_new_customer(horizons),
        reference.expected_number_of_purchases_up_to_time(horizons),
        rtol=1e-3,
    )


def test_cdnow_from_our_summary_of_the_transactions(model: BetaGeoModel):
    summary = rfm_summary(cdnow_transactions(), observation_end="1997-09-30", period="W")
    ours = BetaGeoModel().fit(summary)
    # The published summary is rounded to two decimals; the estimates barely move.
    assert ours.params_ == pytest.approx(model.params_, rel=2e-3)


def test_recovers_known_parameters_from_20000_simulated_customers():
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(20_000)
    ages = rng.uniform(26.0, 39.0, 20_000)
    data = simulate_beta_geo(20_000, **truth, T=ages, seed=rng)
    fitted = BetaGeoModel().fit(data)
    for name, value in truth.items():
        error = abs(fitted.params_[name] - value)
        se = fitted.standard_errors_[name]
        assert error < 4 * se, f"{name}: {fitted.params_[name]:.4f} vs {value} (se {se:.4f})"
        assert se < 0.2 * value, f"{name}: standard error {se:.4f} is too large"


def test_analytic_gradient_matches_finite_differences():
    data = simulate_beta_geo(
        3000, r=0.5, alpha=3.0, a=0.9, b=2.0, T=np.linspace(5, 40, 3000), seed=0
    )
    patterns = _Patterns.build(
        data["frequency"].to_numpy(float),
        data["recency"].to_numpy(),
        data["T"].to_numpy(),
        np.ones(3000),
    )
    for point in (np.log([0.3, 4.0, 0.8, 2.4]), np.log([2.0, 0.5, 0.6, 1.5])):
        analytic = patterns.log_likelihood(point)[1]
        numeric = np.zeros(4)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-5
            upper = patterns.log_likelihood(point + step)[0]
            lower = patterns.log_likelihood(point - step)[0]
            numeric[i] = (upper - lower) / 2e-5
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-4)


def test_weights_equal_repeated_rows_and_order_does_not_matter(cdnow: pd.DataFrame):
    head = cdnow.iloc[:600]
    counts = np.arange(600) % 3 + 1
    repeated = head.loc[head.index.repeat(counts)].reset_index(drop=True)
    weighted = BetaGeoModel().fit(head, weights=counts)
    expanded = BetaGeoModel().fit(repeated.sample(frac=1.0, random_state=1))
    assert weighted.params_ == pytest.approx(expanded.params_, rel=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)
    assert weighted.n_customers_ == expanded.n_customers_ == counts.sum()


def test_arrays_and_table_give_the_same_fit(cdnow: pd.DataFrame, model: BetaGeoModel):
    arrays = BetaGeoModel().fit(
        cdnow["frequency"].to_numpy(), cdnow["recency"].to_list(), cdnow["T"].to_numpy()
    )
    assert arrays.params_ == pytest.approx(model.params_, rel=1e-10)


def test_time_unit_only_rescales_alpha(cdnow: pd.DataFrame, model: BetaGeoModel):
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    in_days = BetaGeoModel().fit(days)
    scaled = {**model.params_, "alpha": model.params_["alpha"] * 7}
    assert in_days.params_ == pytest.approx(scaled, rel=1e-6)


def test_predictions_are_keyed_by_customer(model: BetaGeoModel, cdnow: pd.DataFrame):
    sample = cdnow.iloc[[5, 1, 9]]
    purchases = model.expected_purchases(10, sample)
    assert purchases.name == "expected_purchases"
    assert list(purchases.index) == list(sample.index)
    alive = model.expected_probability_alive(sample["frequency"], sample["recency"], sample["T"])
    assert alive.name == "probability_alive"
    assert list(alive.index) == list(sample.index)


def test_prediction_properties(model: BetaGeoModel):
    x = np.array([0, 1, 5, 5, 200])
    tx = np.array([0.0, 10.0, 30.0, 5.0, 38.0])
    age = np.full(5, 38.86)
    alive = model.expected_probability_alive(x, tx, age)
    assert alive.iloc[0] == 1.0  # no repeat purchase, no chance to drop out yet
    assert alive.iloc[2] > alive.iloc[3]  # same count, more recent: more likely alive
    assert (model.expected_purchases(0, x, tx, age) == 0).all()
    short, long = (
        model.expected_purchases(10, x, tx, age),
        model.expected_purchases(1000, x, tx, age),
    )
    assert np.all(np.isfinite(long)) and (long > short).all()
    per_customer = model.expected_purchases([1.0, 2.0, 3.0, 4.0, 5.0], x, tx, age)
    assert per_customer.iloc[4] == pytest.approx(
        model.expected_purchases(5, 200, 38.0, 38.86).iloc[0]
    )


def test_small_data_warns_and_fits_with_a_prior():
    data = simulate_beta_geo(80, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=3)
    with pytest.warns(UserWarning, match="weakly-informative prior"):
        small = BetaGeoModel().fit(data)
    assert small.penalized_ is True
    assert all(np.isfinite(v) and 0 < v < 1e4 for v in small.params_.values())


def test_no_repeat_buyer_still_gives_finite_estimates():
    data = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": np.linspace(1, 39, 500)})
    with pytest.warns(UserWarning, match="0 repeat"):
        fitted = BetaGeoModel().fit(data)
    assert fitted.penalized_ is True
    purchases = fitted.expected_purchases(39, data)
    assert np.all(np.isfinite(purchases)) and purchases.max() < 0.1


def test_predictions_are_smooth_through_a_equal_one(model: BetaGeoModel, cdnow: pd.DataFrame):
    """The 1 / (a - 1) factor is a removable singularity: a = 1 sits between its neighbours."""
    values = {}
    for a in (0.999, 1.0, 1.001):
        near = BetaGeoModel()
        near.params_ = {**model.params_, "a": a}
        values[a] = (near.expected_purchases(39, cdnow), near.expected_purchases_new_customer(39))
    for index in range(2):
        middle = (values[0.999][index] + values[1.001][index]) / 2
        np.testing.assert_allclose(values[1.0][index], middle, rtol=1e-5)


def test_enough_data_fits_without_warning(cdnow: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BetaGeoModel().fit(cdnow).penalized_ is False


def test_non_convergence_says_what_to_try(cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match=r"did not converge\..*more customers or a longer history"):
        BetaGeoModel(max_iter=1).fit(cdnow)


def test_identical_histories_cannot_identify_the_model():
    data = pd.DataFrame({"frequency": [2] * 500, "recency": [10.0] * 500, "T": [20.0] * 500})
    with pytest.raises(ModelError, match="vary across customers"):
        BetaGeoModel().fit(data)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [5.0, 30.0], [20.0, 20.0], "smaller than recency"),
        ([-1, 2], [0.0, 3.0], [20.0, 20.0], "negative"),
        ([1.5, 2], [3.0, 3.0], [20.0, 20.0], "whole number"),
        ([0, 2], [4.0, 3.0], [20.0, 20.0], "frequency is 0"),
        ([1, 2], [np.nan, 3.0], [20.0, 20.0], "recency has 1 missing"),
        ([1, 2, 3], [1.0, 3.0], [20.0, 20.0], "differ in length"),
        ([1, 2], ["x", "y"], [20.0, 20.0], "numbers"),
    ],
)
def test_impossible_inputs_are_refused(frequency, recency, T, message):  # noqa: N803
    with pytest.raises(ModelError, match=message):
        BetaGeoModel().fit(frequency, recency, T)


def test_table_checks(cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match="'recency' column"):
        BetaGeoModel().fit(cdnow.drop(columns="recency"))
    with pytest.raises(ModelError, match="more than once"):
        BetaGeoModel().fit(pd.concat([cdnow.iloc[:300], cdnow.iloc[:1]]))
    with pytest.raises(ModelError, match="not both"):
        BetaGeoModel().fit(cdnow, cdnow["recency"])
    with pytest.raises(ModelError, match="recency is required"):
        BetaGeoModel().fit(cdnow["frequency"])


def test_predictions_need_a_fit():
    with pytest.raises(ModelError, match="not fitted"):
        BetaGeoModel().expected_probability_alive(1, 2.0, 3.0)
    with pytest.raises(ModelError, match="not fitted"):
        BetaGeoModel().expected_purchases_new_customer(10)


def test_init_only_stores_and_fit_returns_self(cdnow: pd.DataFrame):
    model = BetaGeoModel(max_iter=300)
    assert vars(model) == {"max_iter": 300}
    assert model.fit(cdnow) is model
    assert "fitted on 2357" in repr(model)


def test_save_and_load_round_trip(tmp_path: Path, model: BetaGeoModel, cdnow: pd.DataFrame):
    path = tmp_path / "bgnbd.json"
    model.save(path)
    loaded = BetaGeoModel.load(path)
    assert loaded.params_ == model.params_
    assert loaded.standard_errors_ == model.standard_errors_
    assert loaded.log_likelihood_ == model.log_likelihood_
    assert loaded.penalized_ is False
    pd.testing.assert_series_equal(
        loaded.expected_purchases(39, cdnow), model.expected_purchases(39, cdnow)
    )
    with pytest.raises(ModelError, match="not a GammaGammaModel"):
        GammaGammaModel.load(path)
    with pytest.raises(ModelError, match="not fitted"):
        BetaGeoModel().save(tmp_path / "empty.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="Cannot read"):
        BetaGeoModel.load(tmp_path / "broken.json")
