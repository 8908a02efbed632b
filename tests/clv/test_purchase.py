"""What BG/NBD and Pareto/NBD share through PurchaseModel, checked on both models.

Each test runs once per model; what only one model does (its published estimates,
its formulas against lifetimes) stays in test_beta_geo.py and test_pareto_nbd.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModelError,
    ParetoNBDModel,
    PurchaseModel,
    rfm_summary,
    simulate_beta_geo,
    simulate_pareto_nbd,
)
from cible.clv.purchase import Patterns

from .test_summary import FROM_LIFETIMES, cdnow_transactions

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes.datasets import load_cdnow_summary

Kind = type[PurchaseModel]
MODELS: list[Kind] = [BetaGeoModel, ParetoNBDModel]
IDS = ["bg_nbd", "pareto_nbd"]

#: Parameters close to the CDNOW fits, for simulations with known truth.
BG_TRUTH = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
PARETO_TRUTH = {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}
#: The parameter whose 1 / (p - 1) factor is a removable singularity of the formulas.
SINGULAR = {BetaGeoModel: "a", ParetoNBDModel: "s"}
#: The rate parameters, in units of 1 / time: the only ones a change of unit moves.
RATES = {BetaGeoModel: ("alpha",), ParetoNBDModel: ("alpha", "beta")}


def simulate(kind: Kind, n: int, T: float | np.ndarray, seed: object) -> pd.DataFrame:  # noqa: N803
    """Customers of the model ``kind``, at the parameters above."""
    if kind is BetaGeoModel:
        return simulate_beta_geo(n, **BG_TRUTH, T=T, seed=seed)  # type: ignore[arg-type]
    return simulate_pareto_nbd(n, **PARETO_TRUTH, T=T, seed=seed)  # type: ignore[arg-type]


def weekly_from_days(n: int, truth: dict[str, float], seed: int) -> pd.DataFrame:
    """Pareto/NBD customers observed 26 to 78 weeks, purchase days rounded up, in weeks."""
    rng = np.random.default_rng(seed)
    days = rng.integers(26 * 7, 78 * 7, n).astype(float)
    daily = {**truth, "alpha": truth["alpha"] * 7, "beta": truth["beta"] * 7}
    data = simulate_pareto_nbd(n, **daily, T=days, seed=rng)
    return data.assign(recency=np.ceil(data["recency"]) / 7, T=data["T"] / 7)


def bg_customers(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD customers observed 26 to 39 weeks."""
    rng = np.random.default_rng(seed)
    return simulate_beta_geo(n, **BG_TRUTH, T=rng.uniform(26.0, 39.0, n), seed=rng)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_cdnow_summary(index_col=[0]).rename(columns=FROM_LIFETIMES)


@pytest.fixture(scope="module", params=MODELS, ids=IDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    found: Kind = request.param
    return found


@pytest.fixture(scope="module")
def model(kind: Kind, cdnow: pd.DataFrame) -> PurchaseModel:
    return kind().fit(cdnow)


@pytest.mark.parametrize(
    ("kind", "tolerance"), [(BetaGeoModel, 2e-3), (ParetoNBDModel, 1e-3)], ids=IDS
)
def test_cdnow_from_our_summary_of_the_transactions(
    kind: Kind, tolerance: float, cdnow: pd.DataFrame
):
    summary = rfm_summary(cdnow_transactions(), observation_end="1997-09-30", period="W")
    ours = kind().fit(summary)
    # The published summary is rounded to two decimals; the estimates barely move.
    assert ours.params_ == pytest.approx(kind().fit(cdnow).params_, rel=tolerance)


@pytest.mark.parametrize(
    ("kind", "truth", "customers"),
    [
        (BetaGeoModel, BG_TRUTH, lambda: bg_customers(20_000, seed=20_000)),
        (ParetoNBDModel, PARETO_TRUTH, lambda: weekly_from_days(20_000, PARETO_TRUTH, 20_000)),
    ],
    ids=IDS,
)
def test_recovers_known_parameters_from_20000_simulated_customers(
    kind: Kind, truth: dict[str, float], customers: Callable[[], pd.DataFrame]
):
    fitted = kind().fit(customers())
    for name, value in truth.items():
        error = abs(fitted.params_[name] - value)
        se = fitted.standard_errors_[name]
        assert error < 4 * se, f"{name}: {fitted.params_[name]:.4f} vs {value} (se {se:.4f})"
        assert se < 0.2 * value, f"{name}: standard error {se:.4f} is too large"


@pytest.mark.parametrize(
    ("kind", "simulated", "points"),
    [
        (
            BetaGeoModel,
            {"r": 0.5, "alpha": 3.0, "a": 0.9, "b": 2.0},
            [[0.3, 4.0, 0.8, 2.4], [2.0, 0.5, 0.6, 1.5]],
        ),
        (
            ParetoNBDModel,  # alpha > beta, alpha < beta, alpha = beta
            {"r": 0.5, "alpha": 3.0, "s": 0.9, "beta": 6.0},
            [[0.3, 4.0, 0.8, 2.4], [2.0, 0.5, 0.6, 1.5], [1.0, 3.0, 2.0, 3.0]],
        ),
    ],
    ids=IDS,
)
def test_analytic_gradient_matches_finite_differences(
    kind: Kind, simulated: dict[str, float], points: list[list[float]]
):
    draw = simulate_beta_geo if kind is BetaGeoModel else simulate_pareto_nbd
    data = draw(3000, **simulated, T=np.linspace(5, 40, 3000), seed=0)  # type: ignore[operator]
    patterns = Patterns.build(
        data["repeat_purchases"].to_numpy(float),
        data["recency"].to_numpy(),
        data["T"].to_numpy(),
        np.ones(3000),
    )
    likelihood = kind()._likelihood(patterns)
    for point in map(np.log, points):
        analytic = likelihood.log_likelihood(point)[1]
        numeric = np.zeros(4)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-5
            upper = likelihood.log_likelihood(point + step)[0]
            lower = likelihood.log_likelihood(point - step)[0]
            numeric[i] = (upper - lower) / 2e-5
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-4)


def test_weights_equal_repeated_rows_and_order_does_not_matter(kind: Kind, cdnow: pd.DataFrame):
    head = cdnow.iloc[:600]
    counts = np.arange(600) % 3 + 1
    repeated = head.loc[head.index.repeat(counts)].reset_index(drop=True)
    weighted = kind().fit(head, weights=counts)
    expanded = kind().fit(repeated.sample(frac=1.0, random_state=1))
    assert weighted.params_ == pytest.approx(expanded.params_, rel=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)
    assert weighted.n_customers_ == expanded.n_customers_ == counts.sum()


def test_arrays_and_table_give_the_same_fit(kind: Kind, cdnow: pd.DataFrame, model: PurchaseModel):
    arrays = kind().fit(
        cdnow["repeat_purchases"].to_numpy(), cdnow["recency"].to_list(), cdnow["T"].to_numpy()
    )
    assert arrays.params_ == pytest.approx(model.params_, rel=1e-10)


def test_time_unit_only_rescales_the_rates(kind: Kind, cdnow: pd.DataFrame, model: PurchaseModel):
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    in_days = kind().fit(days)
    scaled = {**model.params_, **{name: model.params_[name] * 7 for name in RATES[kind]}}
    assert in_days.params_ == pytest.approx(scaled, rel=1e-6)
    np.testing.assert_allclose(
        in_days.expected_purchases(7 * 39, days), model.expected_purchases(39, cdnow), rtol=1e-6
    )


def test_predictions_are_keyed_by_customer(model: PurchaseModel, cdnow: pd.DataFrame):
    sample = cdnow.iloc[[5, 1, 9]]
    purchases = model.expected_purchases(10, sample)
    assert purchases.name == "expected_purchases"
    assert list(purchases.index) == list(sample.index)
    alive = model.expected_probability_alive(
        sample["repeat_purchases"], sample["recency"], sample["T"]
    )
    assert alive.name == "probability_alive"
    assert list(alive.index) == list(sample.index)
    new = model.expected_purchases_new_customer([1.0, 2.0])
    assert new.name == "expected_purchases"
    assert new.index.name == "t"


def test_prediction_properties(model: PurchaseModel):
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
    new = model.expected_purchases_new_customer([0.0, 39.0])
    assert new.iloc[0] == 0.0 and not np.signbit(new.iloc[0]) and new.iloc[1] > 0


def test_predictions_are_smooth_through_the_singularity(
    kind: Kind, model: PurchaseModel, cdnow: pd.DataFrame
):
    """A 1 / (a - 1) (BG/NBD) or 1 / (s - 1) (Pareto/NBD) factor is a removable singularity.

    The value at 1 sits between its neighbours.
    """
    name = SINGULAR[kind]
    values = {}
    for value in (0.999, 1.0, 1.001):
        near = kind()
        near.params_ = {**model.params_, name: value}
        values[value] = (
            near.expected_purchases(39, cdnow),
            near.expected_purchases_new_customer(39),
        )
    for index in range(2):
        middle = (values[0.999][index] + values[1.001][index]) / 2
        np.testing.assert_allclose(values[1.0][index], middle, rtol=1e-5)


def test_small_data_warns_and_fits_with_a_prior(kind: Kind):
    data = simulate(kind, 80, T=39.0, seed=3)
    with pytest.warns(UserWarning, match="weakly-informative prior"):
        small = kind().fit(data)
    assert small.penalized_ is True
    assert all(np.isfinite(v) and 0 < v < 1e4 for v in small.params_.values())


def test_no_repeat_buyer_still_gives_finite_estimates(kind: Kind):
    data = pd.DataFrame({"repeat_purchases": 0, "recency": 0.0, "T": np.linspace(1, 39, 500)})
    with pytest.warns(UserWarning, match="0 repeat"):
        fitted = kind().fit(data)
    assert fitted.penalized_ is True
    purchases = fitted.expected_purchases(39, data)
    assert np.all(np.isfinite(purchases)) and purchases.max() < 0.1


def test_enough_data_fits_without_warning(kind: Kind, cdnow: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kind().fit(cdnow).penalized_ is False


def test_non_convergence_says_what_to_try(kind: Kind, cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match=r"did not converge\..*more customers or a longer history"):
        kind(max_iter=1).fit(cdnow)


@pytest.mark.parametrize(
    ("repeat_purchases", "recency", "T", "message"),
    [
        ([1, 2], [5.0, 30.0], [20.0, 20.0], "smaller than recency"),
        ([-1, 2], [0.0, 3.0], [20.0, 20.0], "negative"),
        ([1.5, 2], [3.0, 3.0], [20.0, 20.0], "whole number"),
        ([0, 2], [4.0, 3.0], [20.0, 20.0], "repeat_purchases is 0"),
        ([1, 2], [np.nan, 3.0], [20.0, 20.0], "recency has 1 missing"),
        ([1, 2, 3], [1.0, 3.0], [20.0, 20.0], "differ in length"),
        ([1, 2], ["x", "y"], [20.0, 20.0], "numbers"),
    ],
)
def test_impossible_inputs_are_refused(kind: Kind, repeat_purchases, recency, T, message):  # noqa: N803
    with pytest.raises(ModelError, match=message):
        kind().fit(repeat_purchases, recency, T)


def test_table_and_weight_checks(kind: Kind, cdnow: pd.DataFrame):
    with pytest.raises(ModelError, match="'recency' column"):
        kind().fit(cdnow.drop(columns="recency"))
    with pytest.raises(ModelError, match="more than once"):
        kind().fit(pd.concat([cdnow.iloc[:300], cdnow.iloc[:1]]))
    with pytest.raises(ModelError, match="not both"):
        kind().fit(cdnow, cdnow["recency"])
    with pytest.raises(ModelError, match="recency is required"):
        kind().fit(cdnow["repeat_purchases"])
    with pytest.raises(ModelError, match="weights has 2 values"):
        kind().fit(cdnow, weights=[1.0, 2.0])
    with pytest.raises(ModelError, match=f"{kind.__name__} needs .* positive weight"):
        kind().fit(cdnow, weights=np.zeros(len(cdnow)))


def test_predictions_need_a_fit(kind: Kind):
    with pytest.raises(ModelError, match="not fitted"):
        kind().expected_probability_alive(1, 2.0, 3.0)
    with pytest.raises(ModelError, match="not fitted"):
        kind().expected_purchases_new_customer(10)


def test_init_only_stores_and_fit_returns_self(kind: Kind, cdnow: pd.DataFrame):
    model = kind(max_iter=300)
    assert vars(model) == {"max_iter": 300}
    assert model.fit(cdnow) is model
    assert "fitted on 2357" in repr(model)


def test_the_base_class_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        PurchaseModel()  # type: ignore[abstract]


def test_save_and_load_round_trip(
    tmp_path: Path, kind: Kind, model: PurchaseModel, cdnow: pd.DataFrame
):
    path = tmp_path / "model.json"
    model.save(path)
    loaded = kind.load(path)
    assert loaded.params_ == model.params_
    assert loaded.standard_errors_ == model.standard_errors_
    assert loaded.log_likelihood_ == model.log_likelihood_
    assert loaded.penalized_ is False
    pd.testing.assert_series_equal(
        loaded.expected_purchases(39, cdnow), model.expected_purchases(39, cdnow)
    )
    for other in (*(m for m in MODELS if m is not kind), GammaGammaModel):
        with pytest.raises(ModelError, match=f"not a {other.__name__}"):
            other.load(path)
    with pytest.raises(ModelError, match="not fitted"):
        kind().save(tmp_path / "empty.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="Cannot read"):
        kind.load(tmp_path / "broken.json")
