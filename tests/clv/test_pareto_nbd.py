"""ParetoNBDModel against the published CDNOW fit, lifetimes, and simulations with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from cible.clv import GammaGammaModel, ModelError, ParetoNBDModel, simulate_pareto_nbd
from cible.clv.pareto_nbd import _tail_integral

from .test_summary import FROM_LIFETIMES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes import GammaGammaFitter, ParetoNBDFitter
    from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

#: Fader, Hardie & Lee (2005), "RFM and CLV", CDNOW sample, 39-week calibration.
PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
PUBLISHED_LOG_LIKELIHOOD = -9595.0


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cdnow_summary(index_col=[0]).rename(columns=FROM_LIFETIMES)


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


@pytest.fixture(scope="module")
def reference(cdnow: pd.DataFrame) -> ParetoNBDFitter:
    # A fixed start: lifetimes otherwise draws one at random.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lifetimes' frequency is our repeat_purchases.
        return ParetoNBDFitter().fit(
            frequency=cdnow["repeat_purchases"],
            recency=cdnow["recency"],
            T=cdnow["T"],
            initial_params=[1.0] * 4,
        )


def lifetimes_at(params: dict[str, float]) -> ParetoNBDFitter:
    """A lifetimes fitter holding given parameters, to compare formulas exactly."""
    fitter = ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    return fitter


def lifetimes_log_likelihood(log_params: np.ndarray, cdnow: pd.DataFrame) -> float:
    per_customer = ParetoNBDFitter._conditional_log_likelihood(
        np.exp(log_params), cdnow["repeat_purchases"], cdnow["recency"], cdnow["T"]
    )
    return float(np.sum(per_customer))


def test_cdnow_matches_the_published_estimates(model: ParetoNBDModel):
    # The paper prints two decimals (r = 0.5533 is printed 0.55), so the check is that
    # ours rounds to the printed values.
    assert {name: round(value, 2) for name, value in model.params_.items()} == PUBLISHED
    assert round(model.log_likelihood_, 1) == PUBLISHED_LOG_LIKELIHOOD
    assert model.n_customers_ == 2357
    assert model.penalized_ is False


def test_cdnow_equals_lifetimes(
    model: ParetoNBDModel, reference: ParetoNBDFitter, cdnow: pd.DataFrame
):
    # lifetimes stops Nelder-Mead at a tolerance of 1e-4; ours is the higher maximum.
    assert model.params_ == pytest.approx(reference.params_.to_dict(), rel=1e-3)
    theirs_ll = lifetimes_log_likelihood(np.log(reference.params_.to_numpy()), cdnow)
    assert model.log_likelihood_ >= theirs_ll
    x, tx, age = cdnow["repeat_purchases"], cdnow["recency"], cdnow["T"]
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


def test_formulas_equal_lifetimes_at_the_same_parameters(
    model: ParetoNBDModel, cdnow: pd.DataFrame
):
    theirs = lifetimes_at(model.params_)
    log_params = np.log(list(model.params_.values()))
    assert model.log_likelihood_ == pytest.approx(
        lifetimes_log_likelihood(log_params, cdnow), rel=1e-12
    )
    x, tx, age = cdnow["repeat_purchases"], cdnow["recency"], cdnow["T"]
    np.testing.assert_allclose(
        model.expected_purchases(39, cdnow),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, tx, age),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        model.expected_probability_alive(cdnow),
        theirs.conditional_probability_alive(x, tx, age),
        rtol=1e-10,
    )


def test_standard_errors_equal_the_curvature_of_lifetimes_likelihood(
    model: ParetoNBDModel, cdnow: pd.DataFrame
):
    """lifetimes gives no standard errors: differentiate its log-likelihood twice instead."""
    centre = np.log(list(model.params_.values()))
    step = 1e-4
    hessian = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            corners = [
                lifetimes_log_likelihood(
                    centre + step * (a * np.eye(4)[i] + b * np.eye(4)[j]), cdnow
                )
                for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            hessian[i, j] = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * step**2)
    expected = np.exp(centre) * np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(list(model.standard_errors_.values()), expected, rtol=1e-3)


def test_lifetime_value_with_gamma_gamma_equals_lifetimes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_cdnow_summary_data_with_monetary_value().rename(columns=FROM_LIFETIMES)
        buyers = data[data["repeat_purchases"] > 0]
        # lifetimes' frequency and monetary_value are our repeat_purchases and mean_repeat_value.
        theirs_spend = GammaGammaFitter().fit(
            frequency=buyers["repeat_purchases"], monetary_value=buyers["mean_repeat_value"]
        )
        theirs_purchases = ParetoNBDFitter().fit(
            frequency=data["repeat_purchases"],
            recency=data["recency"],
            T=data["T"],
            initial_params=[1.0] * 4,
        )
        theirs = theirs_spend.customer_lifetime_value(
            theirs_purchases,
            frequency=data["repeat_purchases"],
            recency=data["recency"],
            T=data["T"],
            monetary_value=data["mean_repeat_value"],
            time=12,
            discount_rate=0.01,
            freq="W",
        )
    ours = GammaGammaModel().fit(data).customer_lifetime_value(ParetoNBDModel().fit(data), data)
    assert ours.name == "clv"
    assert ours.index.equals(data.index)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_simulated_counts_follow_the_model():
    """Mean repeat purchases of new customers: the simulator against equation (27)."""
    truth = {"r": 0.8, "alpha": 4.0, "s": 1.5, "beta": 20.0}
    data = simulate_pareto_nbd(200_000, **truth, T=30.0, seed=5)
    model = ParetoNBDModel()
    model.params_ = truth
    expected = model.expected_purchases_new_customer(30.0).iloc[0]
    standard_error = data["repeat_purchases"].std() / np.sqrt(len(data))
    assert abs(data["repeat_purchases"].mean() - expected) < 4 * standard_error
    buyers = data[data["repeat_purchases"] > 0]
    assert (buyers["recency"] > 0).all() and (buyers["recency"] <= buyers["T"]).all()
    assert (data.loc[data["repeat_purchases"] == 0, "recency"] == 0).all()


def note_tail(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log I(t) by the note's formula with scipy's 2F1, in the range where it is accurate."""
    r, alpha, s, beta = params
    n = r + s + x
    big = np.maximum(alpha, beta) + t
    b = s + 1 if alpha >= beta else r + x
    return np.asarray(np.log(hyp2f1(n, b, n + 1, abs(alpha - beta) / big) / n) - n * np.log(big))


@pytest.mark.parametrize(
    "params",
    [[0.55, 10.6, 0.61, 3.0], [0.55, 3.0, 0.61, 11.7], [2.0, 0.5, 1.5, 0.5], [0.1, 40.0, 3.0, 0.2]],
)
def test_tail_integral_equals_the_hypergeometric_formula(params: list[float]):
    """The quadrature against 2F1 (value), and its derivatives against differences of 2F1."""
    x = np.array([0.0, 0.0, 1.0, 3.0, 10.0, 40.0])
    t = np.array([0.0, 39.0, 2.5, 30.0, 38.0, 20.0])
    point = np.array(params)
    tail = _tail_integral(point, x, t)
    np.testing.assert_allclose(tail.log, note_tail(point, x, t), rtol=1e-12)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        numeric = (note_tail(point + step, x, t) - note_tail(point - step, x, t)) / (2 * step[i])
        np.testing.assert_allclose(tail.gradient[i], numeric, rtol=1e-6, atol=1e-9)


def test_tail_integral_where_scipy_hyp2f1_overflows():
    # A heavy buyer with alpha << beta: 2F1(301.1, 300.5; 302.1; 0.9999) overflows in
    # scipy. Reference: mpmath 1.4.1 hyp2f1 at 40 digits.
    params = np.array([0.5, 0.01, 0.6, 100.0])
    x, t = np.array([300.0, 300.0]), np.array([0.0, 2.0])
    with np.errstate(all="ignore"):
        assert not np.all(np.isfinite(note_tail(params, x, t)))
    expected = [1366.1780834522838, -222.19352579263061]
    np.testing.assert_allclose(_tail_integral(params, x, t).log, expected, rtol=1e-13)


def test_equal_rates_give_the_closed_form():
    """With alpha = beta, I(t) = (alpha + t)^-(r + s + x) / (r + s + x)."""
    x, t = np.array([0.0, 2.0, 50.0]), np.array([0.0, 10.0, 30.0])
    tail = _tail_integral(np.array([0.7, 5.0, 1.3, 5.0]), x, t)
    n = 0.7 + 1.3 + x
    np.testing.assert_allclose(tail.log, -n * np.log(5.0 + t) - np.log(n), rtol=1e-13)


def test_identical_histories_do_not_pass_silently():
    """Identical histories put the maximum at infinity (one purchase rate, no dropout).

    The shared optimiser either sees a parameter pass e^20 and raises with advice, or
    stops on the flat ridge before that and warns that the curvature is zero; which
    one depends on how fast the ridge flattens, so both are accepted.
    """
    data = pd.DataFrame({"repeat_purchases": [2] * 500, "recency": [10.0] * 500, "T": [20.0] * 500})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ParetoNBDModel().fit(data)
        except ModelError as error:
            assert "vary across customers" in str(error)
        else:
            assert any("flat in some direction" in str(w.message) for w in caught)
