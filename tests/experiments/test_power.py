import numpy as np
import pytest
from scipy import stats

from cible.experiments import (
    ArmStats,
    ExperimentError,
    compare_means,
    compare_proportions,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from tests.experiments.simulate import arms, revenue

# The simulator's revenue: 30% buy, lognormal(3, 1) amounts.
REVENUE_VARIANCE = 0.3 * np.exp(8.0) - (0.3 * np.exp(3.5)) ** 2


def test_sample_size_matches_the_textbook_formula():
    # n = (z_{1 - alpha/2} + z_power)^2 (1 + 1/ratio) / d^2 per variant arm.
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    result = sample_size_means(mde=2.0, sd=20.0, ratio=0.5)
    assert result.n_variant == int(np.ceil(z**2 * (1 + 1 / 0.5) / 0.1**2))
    assert result.n_control == int(np.ceil(result.n_variant * 0.5))
    assert result.power >= 0.8


def test_empirical_power_of_the_welch_test_matches_the_calculator():
    # Known truth: every variant customer spends 2 more; skewed revenue otherwise.
    plan = sample_size_means(mde=2.0, sd=float(np.sqrt(REVENUE_VARIANCE)))
    rng = np.random.default_rng(40)
    variants = revenue(rng, (1_000, plan.n_variant)) + 2.0
    controls = revenue(rng, (1_000, plan.n_control))
    empirical = np.mean(
        [
            compare_means(v, c).p_value < 0.05
            for v, c in zip(arms(variants), arms(controls), strict=True)
        ]
    )
    assert empirical == pytest.approx(plan.power, abs=0.05)


def test_empirical_power_at_a_given_size_matches_the_calculator():
    calculator = power_means(mde=2.0, sd=float(np.sqrt(REVENUE_VARIANCE)), n_variant=1_500)
    rng = np.random.default_rng(41)
    variants = revenue(rng, (1_000, 1_500)) + 2.0
    controls = revenue(rng, (1_000, 1_500))
    empirical = np.mean(
        [
            compare_means(v, c).p_value < 0.05
            for v, c in zip(arms(variants), arms(controls), strict=True)
        ]
    )
    assert 0.3 < calculator.power < 0.7
    assert empirical == pytest.approx(calculator.power, abs=0.05)


def test_empirical_power_of_the_conversion_test_matches_the_calculator():
    plan = sample_size_proportions(baseline_rate=0.05, mde=0.02)
    rng = np.random.default_rng(42)
    conversions_v = rng.binomial(plan.n_variant, 0.07, size=1_000)
    conversions_c = rng.binomial(plan.n_control, 0.05, size=1_000)
    empirical = np.mean(
        [
            compare_proportions(
                ArmStats(plan.n_variant, v, v), ArmStats(plan.n_control, c, c)
            ).p_value
            < 0.05
            for v, c in zip(conversions_v, conversions_c, strict=True)
        ]
    )
    assert empirical == pytest.approx(plan.power, abs=0.05)
    again = power_proportions(0.05, 0.02, n_variant=plan.n_variant)
    assert again.power == pytest.approx(plan.power)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_means(mde=0.0, sd=1.0), "mde"),
        (lambda: sample_size_means(mde=1.0, sd=-1.0), "sd"),
        (lambda: sample_size_means(mde=1.0, sd=1.0, power=1.2), "power"),
        (lambda: sample_size_proportions(baseline_rate=0.99, mde=0.02), "keep the variant"),
        (lambda: sample_size_proportions(baseline_rate=0.0, mde=0.02), "baseline_rate"),
        (lambda: power_means(mde=1.0, sd=1.0, n_variant=1), "at least 2"),
    ],
)
def test_bad_plans_are_refused(call, message):
    with pytest.raises(ExperimentError, match=message):
        call()
