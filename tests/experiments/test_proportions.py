import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion

from cible.experiments import ArmStats, ExperimentError, compare_proportions


@pytest.mark.parametrize(
    ("n_variant", "n_control", "rate_v", "rate_c", "alpha"),
    [(200, 200, 0.12, 0.08, 0.05), (500, 350, 0.03, 0.04, 0.1), (1_000, 1_000, 0.5, 0.45, 0.01)],
)
def test_equals_statsmodels_on_the_same_rows(n_variant, n_control, rate_v, rate_c, alpha):
    rng = np.random.default_rng(5)
    variant = (rng.random(n_variant) < rate_v).astype(float)
    control = (rng.random(n_control) < rate_c).astype(float)
    result = compare_proportions(
        ArmStats.from_arrays(variant), ArmStats.from_arrays(control), alpha
    )
    count_v, count_c = int(variant.sum()), int(control.sum())
    test = proportion.test_proportions_2indep(
        count_v, n_variant, count_c, n_control, method="score"
    )
    low, high = proportion.confint_proportions_2indep(
        count_v, n_variant, count_c, n_control, method="newcomb", alpha=alpha
    )
    ratio_low, ratio_high = proportion.confint_proportions_2indep(
        count_v, n_variant, count_c, n_control, method="score", compare="ratio", alpha=alpha
    )
    assert result.difference == pytest.approx(variant.mean() - control.mean(), abs=1e-12)
    assert result.z_statistic == pytest.approx(test.statistic, abs=1e-9)
    assert result.p_value == pytest.approx(test.pvalue, abs=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=1e-9)
    assert result.relative_lift == pytest.approx(variant.mean() / control.mean() - 1, abs=1e-12)
    assert result.relative_lift_ci_low == pytest.approx(ratio_low - 1, abs=1e-9)
    assert result.relative_lift_ci_high == pytest.approx(ratio_high - 1, abs=1e-9)


def test_score_statistic_is_pearsons_chi_square_with_the_n_minus_1_correction():
    # An independent reference: scipy's chi-square of the 2x2 table. The score test's
    # variance (Miettinen-Nurminen) carries a factor N / (N - 1), so z^2 = chi2 (N-1) / N.
    counts = [(48, 400), (30, 400)]
    table = np.array([[c, n - c] for c, n in counts])
    chi2, _, _, _ = stats.chi2_contingency(table, correction=False)
    result = compare_proportions(ArmStats(400, 48, 48), ArmStats(400, 30, 30))
    total = table.sum()
    assert result.z_statistic**2 == pytest.approx(chi2 * (total - 1) / total, rel=1e-9)


def test_type_one_error_is_five_percent_for_conversion_at_200_per_arm():
    # 2,000 null experiments at a 10% conversion rate, 200 customers per arm.
    rng = np.random.default_rng(2024)
    counts = rng.binomial(200, 0.10, size=(2_000, 2))
    p_values = np.array(
        [compare_proportions(ArmStats(200, v, v), ArmStats(200, c, c)).p_value for v, c in counts]
    )
    rate = float(np.mean(p_values < 0.05))
    assert 0.04 <= rate <= 0.06, rate


def test_counts_where_the_score_interval_of_statsmodels_fails_still_get_an_interval():
    result = compare_proportions(ArmStats(200, 9, 9), ArmStats(200, 19, 19))
    assert result.ci_low < result.difference < result.ci_high
    # The test (p just above 0.05) and the interval (just reaching 0) agree.
    assert (result.ci_high > 0) == (result.p_value > 0.05)


def test_a_metric_that_is_not_zero_or_one_is_refused():
    with pytest.raises(ExperimentError, match="variant is not a 0/1 conversion metric"):
        compare_proportions(ArmStats.from_arrays([0.0, 2.0, 1.0]), ArmStats(10, 2, 2))
    with pytest.raises(ExperimentError, match="control is not a 0/1"):
        compare_proportions(ArmStats(10, 2, 2), ArmStats(10, 2.5, 2.5))


def test_arms_without_any_difference_in_outcome_are_refused():
    with pytest.raises(ExperimentError, match="same outcome"):
        compare_proportions(ArmStats(200, 0, 0), ArmStats(200, 0, 0))


def test_a_control_without_conversion_gives_a_difference_but_no_lift():
    result = compare_proportions(ArmStats(200, 8, 8), ArmStats(200, 0, 0))
    assert result.difference == pytest.approx(0.04)
    assert result.p_value < 0.01
    assert np.isnan(result.relative_lift)
