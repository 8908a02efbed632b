"""ParetoNBDModel against the published CDNOW fit, lifetimes, and simulations with known truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from cible.clv import BetaGeoModel, GammaGammaModel, ModelError, rfm_summary
from cible.clv.pareto_nbd import ParetoNBDModel, _Likelihood, _tail_integral
from cible.clv.pareto_simulation import simulate_pareto_nbd

from .test_summary import cdnow_transactions

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes import GammaGammaFitter, ParetoNBDFitter
    from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

#: Fader, Hardie & Lee (2005), "RFM and CLV", CDNOW sample, 39-week calibration.
PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
PUBLISHED_LOG_LIKELIHOOD = -9595.0
CDNOW_TRUTH = {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


@pytest.fixture(scope="module")
def reference(cdnow: pd.DataFrame) -> ParetoNBDFitter:
    # A fixed start: lifetimes otherwise draws one at random.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ParetoNBDFitter().fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"], initial_params=[1.0] * 4
        )


def lifetimes_at(params: dict[str, float]) -> ParetoNBDFitter:
    """A lifetimes fitter holding given parameters, to compare formulas exactly."""
    fitter = ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    return fitter


def lifetimes_log_likelihood(log_params: np.ndarray, cdnow: pd.DataFrame) -> float:
    per_customer = ParetoNBDFitter._conditional_log_likelihood(
        np.exp(log_params), cdnow["frequency"], cdnow["recency"], cdnow["T"]
    )
    return float(np.sum(per_customer))


def weekly_from_days(n: int, truth: dict[str, float], seed: int) -> pd.DataFrame:
    """Customers observed 26 to 78 weeks, purchase days rounded up, time in weeks."""
    rng = np.random.default_rng(seed)
    days = rng.integers(26 * 7, 78 * 7, n).astype(float)
    daily = {**truth, "alpha": truth["alpha"] * 7, "beta": truth["beta"] * 7}
    data = simulate_pareto_nbd(n, **daily, T=days, seed=rng)
    return data.assign(recency=np.ceil(data["recency"]) / 7, T=data["T"] / 7)


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


def test_formulas_equal_lifetimes_at_the_same_parameters(
    model: ParetoNBDModel, cdnow: pd.DataFrame
):
    theirs = lifetimes_at(model.params_)
    log_params = np.log(list(model.params_.values()))
    assert model.log_likelihood_ == pytest.approx(
        lifetimes_log_likelihood(log_params, cdnow), rel=1e-12
    )
    x, tx, age = cdnow["frequency"], cdnow["recency"], cdnow["T"]
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


def test_cdnow_from_our_summary_of_the_transactions(model: ParetoNBDModel):
    summary = rfm_summary(cdnow_transactions(), observation_end="1997-09-30", period="W")
    ours = ParetoNBDModel().fit(summary)
    # The published summary is rounded to two decimals; the estimates barely move.
    assert ours.params_ == pytest.approx(model.params_, rel=1e-3)


def test_lifetime_value_with_gamma_gamma_equals_lifetimes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_cdnow_summary_data_with_monetary_value()
        buyers = data[data["frequency"] > 0]
        theirs_spend = GammaGammaFitter().fit(buyers["frequency"], buyers["monetary_value"])
        theirs_purchases = ParetoNBDFitter().fit(
            data["frequency"], data["recency"], data["T"], initial_params=[1.0] * 4
        )
        theirs = theirs_spend.customer_lifetime_value(
            theirs_purchases,
            data["frequency"],
            data["recency"],
            data["T"],
            data["monetary_value"],
            time=12,
            discount_rate=0.01,
            freq="W",
        )
    ours = GammaGammaModel().fit(data).customer_lifetime_value(ParetoNBDModel().fit(data), data)
    assert ours.name == "clv"
    assert ours.index.equals(data.index)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_recovers_known_parameters_from_20000_simulated_customers():
    data = weekly_from_days(20_000, CDNOW_TRUTH, seed=20_000)
    fitted = ParetoNBDModel().fit(data)
    for name, value in CDNOW_TRUTH.items():
        error = abs(fitted.params_[name] - value)
        se = fitted.standard_errors_[name]
        assert error < 4 * se, f"{name}: {fitted.params_[name]:.4f} vs {value} (se {se:.4f})"
        assert se < 0.2 * value, f"{name}: standard error {se:.4f} is too large"


def test_simulated_counts_follow_the_model():
    """Mean repeat purchases of new customers: the simulator against equation (27)."""
    truth = {"r": 0.8, "alpha": 4.0, "s": 1.5, "beta": 20.0}
    data = simulate_pareto_nbd(200_000, **truth, T=30.0, seed=5)
    model = ParetoNBDModel()
    model.params_ = truth
    expected = model.expected_purchases_new_customer(30.0).iloc[0]
    standard_error = data["frequency"].std() / np.sqrt(len(data))
    assert abs(data["frequency"].mean() - expected) < 4 * standard_error
    buyers = data[data["frequency"] > 0]
    assert (buyers["recency"] > 0).all() and (buyers["recency"] <= buyers["T"]).all()
    assert (data.loc[data["frequency"] == 0, "recency"] == 0).all()


def test_analytic_gradient_matches_finite_differences():
    data = simulate_pareto_nbd(
        3000, r=0.5, alpha=3.0, s=0.9, beta=6.0, T=np.linspace(5, 40, 3000), seed=0
    )
    likelihood = _Likelihood.build(
        data["frequency"].to_numpy(float),
        data["recency"].to_numpy(),
        data["T"].to_numpy(),
        np.ones(3000),
    )
    points = (
        np.log([0.3, 4.0, 0.8, 2.4]),
        np.log([2.0, 0.5, 0.6, 1.5]),
        np.log([1.0, 3.0, 2.0, 3.0]),
    )
    for point in points:  # alpha > beta, alpha < beta, alpha = beta
        analytic = likelihood.log_likelihood(point)[1]
        numeric = np.zeros(4)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-5
            upper = likelihood.log_likelihood(point + step)[0]
            lower = likelihood.log_likelihood(point - step)[0]
            numeric[i] = (upper - lower) / 2e-5
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-4)


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


def test_weights_equal_repeated_rows_and_order_does_not_matter(cdnow: pd.DataFrame):
    head = cdnow.iloc[:600]
    counts = np.arange(600) % 3 + 1
    repeated = head.loc[head.index.repeat(counts)].reset_index(drop=True)
    weighted = ParetoNBDModel().fit(head, weights=counts)
    expanded = ParetoNBDModel().fit(repeated.sample(frac=1.0, random_state=1))
    assert weighted.params_ == pytest.approx(expanded.params_, rel=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)
    assert weighted.n_customers_ == expanded.n_customers_ == counts.sum()


def test_arrays_and_table_give_the_same_fit(cdnow: pd.DataFrame, model: ParetoNBDModel):
    arrays = ParetoNBDModel().fit(
        cdnow["frequency"].to_numpy(), cdnow["recency"].to_list(), cdnow["T"].to_numpy()
    )
    assert arrays.params_ == pytest.approx(model.params_, rel=1e-10)


def test_time_unit_only_rescales_alpha_and_beta(cdnow: pd.DataFrame, model: ParetoNBDModel):
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    in_days = ParetoNBDModel().fit(days)
    scaled = {
        **model.params_,
        "alpha": model.params_["alpha"] * 7,
        "beta": model.params_["beta"] * 7,
    }
    assert in_days.params_ == pytest.approx(scaled, rel=1e-6)
    np.testing.assert_allclose(
        in_days.expected_purchases(7 * 39, days), model.expected_purchases(39, cdnow), rtol=1e-6
    )


def test_predictions_are_keyed_by_customer(model: ParetoNBDModel, cdnow: pd.DataFrame):
    sample = cdnow.iloc[[5, 1, 9]]
    purchases = model.expected_purchases(10, sample)
    assert purchases.name == "expected_purchases"
    assert list(purchases.index) == list(sample.index)
    alive = model.expected_probability_alive(sample["frequency"], sample["recency"], sample["T"])
    assert alive.name == "probability_alive"
    assert list(alive.index) == list(sample.index)
    new = model.expected_purchases_new_customer([1.0, 2.0])
    assert new.name == "expected_purchases"
    assert new.index.name == "t"


def test_prediction_properties(model: ParetoNBDModel):
    x = np.array([0, 1, 5, 5, 200])
    tx = np.array([0.0, 10.0, 30.0, 5.0, 38.0])
    age = np.full(5, 38.86)
    alive = model.expected_probability_alive(x, tx, age)
    assert ((alive > 0) & (alive <= 1)).all()
    assert alive.iloc[2] > alive.iloc[3]  # same count, more recent: more likely alive
    assert alive.iloc[4] > alive.iloc[3]  # buying weekly until a few days ago
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
    assert model.expected_purchases_new_customer(0.0).iloc[0] == 0.0


def test_predictions_are_smooth_through_s_equal_one(model: ParetoNBDModel, cdnow: pd.DataFrame):
    """The 1 / (s - 1) factor is a removable singularity: s = 1 sits between its neighbours."""
    values = {}
    for s in (0.999, 1.0, 1.001):
        near = ParetoNBDModel()
        near.params_ = {**model.params_, "s": s}
        values[s] = (near.expected_purchases(39, cdnow), near.expected_purchases_new_customer(39))
    for index in range(2):
        middle = (values[0.999][index] + values[1.001][index]) / 2
        np.testing.assert_allclose(values[1.0][index], middle, rtol=1e-5)


def test_small_data_warns_and_fits_with_a_prior():
    data = simulate_pareto_nbd(80, **CDNOW_TRUTH, T=39.0, seed=3)
    with pytest.warns(UserWarning, match="weakly-informative prior"):
        small = ParetoNBDModel().fit(data)
    assert small.penalized_ is True
    assert all(np.isfinite(v) and 0 < v < 1e4 for v in small.params_.values())


def test_no_repeat_buyer_still_gives_finite_estimates():
    data = pd.DataFrame({"frequency": 0, "recency": 0.0, "T": np.linspace(1, 39, 500)})
    with pytest.warns(UserWarning, match="0 repeat"):
        fitted = ParetoNBDModel().fit(data)
    assert fitted.penalized_ is True
    purchases = fitted.expected_purchases(39, data)
    assert np.all(np.isfinite(purchases)) and purchases.max() < 0.1


def test_enough_data_fits_without_warning(cdnow: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ParetoNBDModel().fit(cdnow).penalized_ is False


def test_non_convergence_says_what_to_try(cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match=r"did not converge\..*more customers or a longer history"):
        ParetoNBDModel(max_iter=1).fit(cdnow)


def test_identical_histories_do_not_pass_silently():
    """Identical histories put the maximum at infinity (one purchase rate, no dropout).

    The shared optimiser either sees a parameter pass e^20 and raises with advice, or
    stops on the flat ridge before that and warns that the curvature is zero; which
    one depends on how fast the ridge flattens, so both are accepted.
    """
    data = pd.DataFrame({"frequency": [2] * 500, "recency": [10.0] * 500, "T": [20.0] * 500})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ParetoNBDModel().fit(data)
        except ModelError as error:
            assert "vary across customers" in str(error)
        else:
            assert any("flat in some direction" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [5.0, 30.0], [20.0, 20.0], "smaller than recency"),
        ([0, 2], [4.0, 3.0], [20.0, 20.0], "frequency is 0"),
        ([1, 2], [np.nan, 3.0], [20.0, 20.0], "recency has 1 missing"),
    ],
)
def test_impossible_inputs_are_refused(frequency, recency, T, message):  # noqa: N803
    with pytest.raises(ModelError, match=message):
        ParetoNBDModel().fit(frequency, recency, T)


def test_table_checks_and_weights(cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match="'recency' column"):
        ParetoNBDModel().fit(cdnow.drop(columns="recency"))
    with pytest.raises(ModelError, match="more than once"):
        ParetoNBDModel().fit(pd.concat([cdnow.iloc[:300], cdnow.iloc[:1]]))
    with pytest.raises(ModelError, match="weights has 2 values"):
        ParetoNBDModel().fit(cdnow, weights=[1.0, 2.0])
    with pytest.raises(ModelError, match="positive weight"):
        ParetoNBDModel().fit(cdnow, weights=np.zeros(len(cdnow)))


def test_predictions_need_a_fit():
    with pytest.raises(ModelError, match="not fitted"):
        ParetoNBDModel().expected_probability_alive(1, 2.0, 3.0)
    with pytest.raises(ModelError, match="not fitted"):
        ParetoNBDModel().expected_purchases_new_customer(10)


def test_init_only_stores_and_fit_returns_self(cdnow: pd.DataFrame):
    model = ParetoNBDModel(max_iter=300)
    assert vars(model) == {"max_iter": 300}
    assert model.fit(cdnow) is model
    assert "fitted on 2357" in repr(model)


def test_save_and_load_round_trip(tmp_path: Path, model: ParetoNBDModel, cdnow: pd.DataFrame):
    path = tmp_path / "pareto_nbd.json"
    model.save(path)
    loaded = ParetoNBDModel.load(path)
    assert loaded.params_ == model.params_
    assert loaded.standard_errors_ == model.standard_errors_
    assert loaded.log_likelihood_ == model.log_likelihood_
    assert loaded.penalized_ is False
    pd.testing.assert_series_equal(
        loaded.expected_purchases(39, cdnow), model.expected_purchases(39, cdnow)
    )
    with pytest.raises(ModelError, match="not a BetaGeoModel"):
        BetaGeoModel.load(path)
