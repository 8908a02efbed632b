import numpy as np
import pandas as pd
import pytest

from cible.experiments import ArmStats, ExperimentError


def test_moments_equal_pandas_on_the_same_rows():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 30.0, size=250)
    y = 0.6 * x + rng.normal(0, 20, size=250)
    arm = ArmStats.from_arrays(y, x=x)
    frame = pd.DataFrame({"x": x, "y": y})
    assert arm.n == 250
    assert arm.mean == pytest.approx(frame["y"].mean(), rel=1e-12)
    assert arm.variance == pytest.approx(frame["y"].var(), rel=1e-10)
    assert arm.covariate_mean == pytest.approx(frame["x"].mean(), rel=1e-12)
    assert arm.covariate_variance == pytest.approx(frame["x"].var(), rel=1e-10)
    assert arm.covariance == pytest.approx(frame["x"].cov(frame["y"]), rel=1e-10)


def test_a_constant_metric_has_zero_variance_not_a_negative_one():
    arm = ArmStats.from_arrays(np.full(300, 0.1))
    assert arm.variance == 0.0


def test_sums_from_a_database_become_floats():
    arm = ArmStats(np.int64(10), np.int64(3), 3)
    assert isinstance(arm.sum_y, float)
    assert isinstance(arm.n, int)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 1, "sum_y": 1.0, "sum_y2": 1.0}, "at least 2 customers"),
        ({"n": 2.5, "sum_y": 1.0, "sum_y2": 1.0}, "at least 2 customers"),
        ({"n": "many", "sum_y": 1.0, "sum_y2": 1.0}, "at least 2 customers"),
        ({"n": 10, "sum_y": 10.0, "sum_y2": 5.0}, "sum_y2"),
        ({"n": 10, "sum_y": float("nan"), "sum_y2": 5.0}, "sum_y is not a finite"),
        ({"n": 10, "sum_y": "a lot", "sum_y2": 5.0}, "sum_y is not a number"),
        ({"n": 10, "sum_y": 1.0, "sum_y2": 1.0, "sum_x": 2.0}, "all three covariate sums"),
        (
            {"n": 10, "sum_y": 0, "sum_y2": 10, "sum_x": 0, "sum_x2": 10, "sum_xy": 11},
            "correlation above 1",
        ),
    ],
)
def test_inconsistent_statistics_are_refused_with_the_field_named(kwargs, message):
    with pytest.raises(ExperimentError, match=message):
        ArmStats(**kwargs)


def test_a_perfect_negative_correlation_is_accepted():
    x = np.arange(10.0)
    assert ArmStats.from_arrays(-2 * x, x=x).covariance == pytest.approx(-2 * np.var(x, ddof=1))


def test_arrays_of_different_lengths_or_with_gaps_are_refused():
    with pytest.raises(ExperimentError, match="differ in length"):
        ArmStats.from_arrays([1.0, 2.0, 3.0], x=[1.0, 2.0])
    with pytest.raises(ExperimentError, match="missing or infinite"):
        ArmStats.from_arrays([1.0, np.nan, 3.0])
    with pytest.raises(ExperimentError, match="1-D"):
        ArmStats.from_arrays([[1.0, 2.0]])


def test_covariate_moments_without_covariate_sums_say_what_is_missing():
    with pytest.raises(ExperimentError, match="no covariate sums"):
        _ = ArmStats.from_arrays([1.0, 2.0, 3.0]).covariate_mean
