import numpy as np
import pytest
from statsmodels.stats._delta_method import NonlinearDeltaCov
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cible.experiments import ArmStats, ExperimentError, compare_means, relative_lift
from tests.experiments.simulate import arms, revenue


def _statsmodels(variant, control, alpha):
    compared = CompareMeans(DescrStatsW(variant), DescrStatsW(control))
    t, p, df = compared.ttest_ind(usevar="unequal")
    low, high = compared.tconfint_diff(alpha=alpha, usevar="unequal")
    return t, p, df, low, high, compared.std_meandiff_separatevar


@pytest.mark.parametrize(
    ("metric", "n_variant", "n_control", "alpha"),
    [("revenue", 200, 200, 0.05), ("revenue", 350, 240, 0.1), ("conversion", 200, 260, 0.05)],
)
def test_equals_statsmodels_welch_on_the_same_rows(metric, n_variant, n_control, alpha):
    rng = np.random.default_rng(7)
    if metric == "revenue":
        variant = revenue(rng, (n_variant,), scale=1.1)
        control = revenue(rng, (n_control,))
    else:
        variant = (rng.random(n_variant) < 0.12).astype(float)
        control = (rng.random(n_control) < 0.08).astype(float)
    result = compare_means(ArmStats.from_arrays(variant), ArmStats.from_arrays(control), alpha)
    t, p, df, low, high, se = _statsmodels(variant, control, alpha)
    assert result.difference == pytest.approx(variant.mean() - control.mean(), abs=1e-9)
    assert result.t_statistic == pytest.approx(t, abs=1e-9)
    assert result.p_value == pytest.approx(p, abs=1e-9)
    assert result.degrees_of_freedom == pytest.approx(df, abs=1e-9)
    assert result.standard_error == pytest.approx(se, abs=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=1e-9)


def test_relative_lift_se_equals_statsmodels_delta_method():
    rng = np.random.default_rng(3)
    variant, control = revenue(rng, (400,), scale=1.2), revenue(rng, (300,))
    v, c = ArmStats.from_arrays(variant), ArmStats.from_arrays(control)
    lift, se = relative_lift(v, c)
    delta = NonlinearDeltaCov(
        lambda m: np.array([m[0] / m[1] - 1]),
        np.array([v.mean, c.mean]),
        np.diag([v.variance / v.n, c.variance / c.n]),
        deriv=lambda m: np.array([[1 / m[1], -m[0] / m[1] ** 2]]),
    )
    assert lift == pytest.approx(float(delta.predicted()[0]), rel=1e-12)
    assert se == pytest.approx(float(delta.se_vectorized()[0]), rel=1e-9)


def test_relative_lift_interval_covers_the_true_lift_95_percent_of_the_time():
    # Known truth: the variant's revenue is the control's scaled by 1.2, a 20% lift.
    rng = np.random.default_rng(11)
    variants, controls = revenue(rng, (2_000, 500), scale=1.2), revenue(rng, (2_000, 500))
    covered = [
        (r.relative_lift_ci_low <= 0.2 <= r.relative_lift_ci_high)
        for r in (compare_means(v, c) for v, c in zip(arms(variants), arms(controls), strict=True))
    ]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.015)


def test_type_one_error_is_five_percent_on_skewed_revenue_at_200_per_arm():
    # 2,000 null experiments: zero-inflated lognormal revenue, 200 customers per arm.
    rng = np.random.default_rng(2024)
    variants, controls = revenue(rng, (2_000, 200)), revenue(rng, (2_000, 200))
    p_values = np.array(
        [compare_means(v, c).p_value for v, c in zip(arms(variants), arms(controls), strict=True)]
    )
    rate = float(np.mean(p_values < 0.05))
    assert 0.04 <= rate <= 0.06, rate


def test_lift_is_nan_when_the_control_mean_is_zero():
    result = compare_means(ArmStats(10, 5.0, 9.0), ArmStats(10, 0.0, 0.0))
    assert np.isnan(result.relative_lift)
    assert np.isnan(result.relative_lift_ci_low)
    assert result.p_value < 1


def test_two_constant_arms_and_a_bad_alpha_are_refused():
    with pytest.raises(ExperimentError, match="zero variance"):
        compare_means(ArmStats(10, 0.0, 0.0), ArmStats(10, 0.0, 0.0))
    with pytest.raises(ExperimentError, match="alpha"):
        compare_means(ArmStats(10, 5.0, 9.0), ArmStats(10, 4.0, 7.0), alpha=1.5)
