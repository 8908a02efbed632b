"""Change points checked against ruptures and by simulations of steps and flat series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ruptures
from scipy.stats import ttest_ind

from cible.models.change_points import ChangePoint, detect_change_point
from cible.models.errors import ModelDataError


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("min_size", [1, 2, 3])
def test_location_equals_ruptures_least_squares(seed: int, min_size: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 49))
    values = rng.normal(0, 1, n) + np.where(np.arange(n) >= rng.integers(1, n), 1.5, 0.0)
    expected = ruptures.Dynp(model="l2", min_size=min_size, jump=1).fit(values).predict(n_bkps=1)[0]
    found = detect_change_point(values, min_size=min_size, n_simulations=99, random_state=0)
    assert found.index == expected
    assert found.before == pytest.approx(values[:expected].mean())
    assert found.after == pytest.approx(values[expected:].mean())


@pytest.mark.parametrize("seed", range(5))
def test_with_one_split_the_p_value_is_the_two_sample_t_test(seed: int) -> None:
    # With min_size = n / 2 the only split is the middle one, where F is the square of
    # the pooled two-sample t statistic: the simulated p-value must match scipy's.
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 1, 12) + np.r_[np.zeros(6), np.full(6, 0.8)]
    expected = ttest_ind(values[:6], values[6:]).pvalue
    found = detect_change_point(values, min_size=6, n_simulations=40_000, random_state=seed)
    assert found.index == 6
    assert found.statistic == pytest.approx(ttest_ind(values[:6], values[6:]).statistic ** 2)
    assert found.p_value == pytest.approx(expected, abs=4 * np.sqrt(0.25 / 40_000))


def _simulate(step: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A segment of about 1,000 customers with month-to-month noise of 30 that loses
    ``step`` customers at a random month, at least 3 months from either end."""
    at = int(rng.integers(3, n - 2))
    level = np.where(np.arange(n) >= at, 1000.0 - step, 1000.0)
    return level + rng.normal(0, 30.0, n), at


# A step of 4 noise standard deviations (120) is found at its month +- 1 in 98 % of
# 12- to 48-month series (300 each); six points need a larger one (200: 99 %; 120: 77 %).
@pytest.mark.parametrize(("n", "step"), [(6, 200.0), (12, 120.0), (24, 120.0), (48, 120.0)])
def test_a_step_is_found_at_its_index(n: int, step: float) -> None:
    rng = np.random.default_rng(n)
    trials = 300
    hits = 0
    for _ in range(trials):
        values, at = _simulate(step, n, rng)
        found = detect_change_point(
            values, n_simulations=999, random_state=int(rng.integers(2**31))
        )
        hits += found.flagged and abs(found.index - at) <= 1
    assert hits / trials >= 0.9


@pytest.mark.parametrize("n", [6, 12, 24, 48])
def test_a_flat_series_is_rarely_flagged(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    trials = 400
    flagged = sum(
        detect_change_point(
            _simulate(False, n, rng)[0], n_simulations=999, random_state=int(rng.integers(2**31))
        ).flagged
        for _ in range(trials)
    )
    # The level is alpha = 5 %: at most 10 %, and not far from 5 % (3.5 standard errors).
    assert flagged / trials <= 0.10
    assert abs(flagged / trials - 0.05) < 3.5 * np.sqrt(0.05 * 0.95 / trials)


def test_dates_name_the_change_and_as_dict() -> None:
    months = pd.date_range("2024-01-01", periods=10, freq="MS")
    series = pd.Series([100.0, 102, 98, 101, 99, 150, 149, 152, 151, 148], index=months)
    found = detect_change_point(series, random_state=0)
    assert isinstance(found, ChangePoint)
    assert found.flagged and found.index == 5
    assert found.at == "2024-06-01 00:00:00"
    assert found.as_dict()["after"] == pytest.approx(150.0)


def test_a_constant_series_has_no_change() -> None:
    found = detect_change_point(np.full(12, 5.0))
    assert not found.flagged and found.index is None and found.p_value == 1.0


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([1.0, 2.0, 3.0], {}, "at least 4"),
        ([1.0, np.nan, 3.0, 4.0], {}, "missing"),
        ([1.0, 2.0, 3.0, 4.0], {"alpha": 1.5}, "alpha"),
        ([1.0, 2.0, 3.0, 4.0], {"n_simulations": 5}, "n_simulations"),
        ([1.0, 2.0, 3.0, 4.0], {"min_size": 0}, "min_size"),
    ],
)
def test_bad_input(values: list[float], kwargs: dict, message: str) -> None:
    with pytest.raises(ModelDataError, match=message):
        detect_change_point(values, **kwargs)
