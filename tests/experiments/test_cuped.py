import numpy as np
import pytest
import statsmodels.api as sm

from cible.experiments import ArmStats, ExperimentError, compare_means, compare_means_cuped
from tests.experiments.simulate import arms_with_covariate

# Known truth: pre-period revenue x ~ Gamma(2, 25) and y = 0.8 x + noise, with the noise
# variance chosen so that corr(x, y) = RHO.
RHO = 0.7
SLOPE = 0.8
X_VARIANCE = 2 * 25.0**2
NOISE_SD = float(np.sqrt(SLOPE**2 * X_VARIANCE * (1 / RHO**2 - 1)))


def _customers(rng, shape, effect=0.0):
    x = rng.gamma(2.0, 25.0, size=shape)
    return x, SLOPE * x + rng.normal(0.0, NOISE_SD, size=shape) + effect


def test_estimate_equals_the_treatment_coefficient_of_statsmodels_ancova():
    rng = np.random.default_rng(4)
    x_v, y_v = _customers(rng, 300, effect=3.0)
    x_c, y_c = _customers(rng, 240)
    result = compare_means_cuped(ArmStats.from_arrays(y_v, x=x_v), ArmStats.from_arrays(y_c, x=x_c))
    treated = np.r_[np.ones(300), np.zeros(240)]
    design = sm.add_constant(np.column_stack([treated, np.r_[x_v, x_c]]))
    fit = sm.OLS(np.r_[y_v, y_c], design).fit()
    assert result.difference == pytest.approx(fit.params[1], abs=1e-9)
    assert result.theta == pytest.approx(fit.params[2], abs=1e-9)
    # The noise is homoscedastic here, so the regression's standard error is a peer.
    assert result.standard_error == pytest.approx(fit.bse[1], rel=0.02)


def test_variance_reduction_matches_one_minus_rho_squared_by_simulation():
    # 2,000 experiments of 200 customers per arm, a true effect of 3.
    rng = np.random.default_rng(8)
    x_v, y_v = _customers(rng, (2_000, 200), effect=3.0)
    x_c, y_c = _customers(rng, (2_000, 200))
    pairs = zip(arms_with_covariate(y_v, x_v), arms_with_covariate(y_c, x_c), strict=True)
    cuped, plain = [], []
    for variant, control in pairs:
        cuped.append(compare_means_cuped(variant, control))
        plain.append(compare_means(variant, control).difference)
    adjusted = np.array([r.difference for r in cuped])
    ratio = adjusted.var() / np.var(plain)
    assert ratio == pytest.approx(1 - RHO**2, abs=0.05)
    assert np.mean([r.variance_reduction for r in cuped]) == pytest.approx(RHO**2, abs=0.05)
    # Unbiased, and its standard error is calibrated.
    assert adjusted.mean() == pytest.approx(3.0, abs=3 * adjusted.std() / np.sqrt(2_000))
    mean_se = np.sqrt(np.mean([r.standard_error**2 for r in cuped]))
    assert mean_se == pytest.approx(adjusted.std(), rel=0.05)
    covered = np.mean([r.ci_low <= 3.0 <= r.ci_high for r in cuped])
    assert covered == pytest.approx(0.95, abs=0.015)


def test_type_one_error_is_five_percent_at_200_per_arm():
    rng = np.random.default_rng(9)
    x_v, y_v = _customers(rng, (2_000, 200))
    x_c, y_c = _customers(rng, (2_000, 200))
    pairs = zip(arms_with_covariate(y_v, x_v), arms_with_covariate(y_c, x_c), strict=True)
    rate = np.mean([compare_means_cuped(v, c).p_value < 0.05 for v, c in pairs])
    assert 0.04 <= rate <= 0.06, rate


def test_a_constant_covariate_changes_nothing():
    rng = np.random.default_rng(2)
    y_v, y_c = rng.normal(10, 2, 200), rng.normal(10, 2, 200)
    variant = ArmStats.from_arrays(y_v, x=np.ones(200))
    control = ArmStats.from_arrays(y_c, x=np.ones(200))
    result = compare_means_cuped(variant, control)
    plain = compare_means(variant, control)
    assert result.theta == 0.0
    assert result.difference == pytest.approx(plain.difference, abs=1e-12)
    assert result.p_value == pytest.approx(plain.p_value, abs=1e-12)


def test_arms_without_covariate_sums_are_refused():
    with pytest.raises(ExperimentError, match="CUPED needs them"):
        compare_means_cuped(ArmStats(10, 5.0, 9.0), ArmStats(10, 4.0, 7.0))
