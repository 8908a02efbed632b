import numpy as np
import pytest
from scipy import integrate, stats

from cible.experiments import ArmStats, ExperimentError, sequential_test
from tests.experiments.simulate import revenue

EXPERIMENTS, DAYS, DAILY = 2_000, 30, 100


def _daily_looks(rng, effect_scale=1.0):
    """Cumulative statistics after each day, (experiments, days) per sum, for both arms."""
    sums = []
    for scale in (effect_scale, 1.0):
        values = revenue(rng, (EXPERIMENTS, DAYS, DAILY), scale=scale)
        sums.append((values.sum(axis=2).cumsum(axis=1), (values**2).sum(axis=2).cumsum(axis=1)))
    n = DAILY * np.arange(1, DAYS + 1)
    return n, sums


def _run(n, sums, mixing_sd):
    (sum_v, sq_v), (sum_c, sq_c) = sums
    results = []
    for e in range(EXPERIMENTS):
        looks = [
            (ArmStats(n[d], sum_v[e, d], sq_v[e, d]), ArmStats(n[d], sum_c[e, d], sq_c[e, d]))
            for d in range(DAYS)
        ]
        results.append(sequential_test(looks, mixing_sd=mixing_sd))
    return results


def _naive_daily_p_values(n, sums):
    # A fixed-horizon Welch test at every look: scipy on the same statistics.
    (sum_v, sq_v), (sum_c, sq_c) = sums
    mean_v, mean_c = sum_v / n, sum_c / n
    sd_v = np.sqrt((sq_v - n * mean_v**2) / (n - 1))
    sd_c = np.sqrt((sq_c - n * mean_c**2) / (n - 1))
    return stats.ttest_ind_from_stats(mean_v, sd_v, n, mean_c, sd_c, n, equal_var=False).pvalue


def test_daily_looks_at_null_experiments_keep_the_error_under_five_percent():
    # 2,000 null experiments, skewed revenue, 100 new customers per arm each day, 30 looks.
    rng = np.random.default_rng(30)
    n, sums = _daily_looks(rng)
    results = _run(n, sums, mixing_sd=3.0)
    sequential = np.mean([r.first_rejection is not None for r in results])
    naive = np.mean((_naive_daily_p_values(n, sums) < 0.05).any(axis=1))
    assert sequential < 0.05, sequential
    # The naive daily t-test, stopped at its first p < 0.05, rejects far more often.
    assert naive > 0.15, naive


def test_the_confidence_sequence_holds_the_true_effect_at_every_look():
    # Known truth: variant revenue scaled by 1.3, so the effect is 30% of the mean.
    rng = np.random.default_rng(31)
    n, sums = _daily_looks(rng, effect_scale=1.3)
    truth = 0.3 * 0.3 * np.exp(3.0 + 0.5)  # buy rate times the lognormal mean
    results = _run(n, sums, mixing_sd=3.0)
    always_covered = np.mean(
        [
            all(lo <= truth <= hi for lo, hi in zip(r.ci_low, r.ci_high, strict=True))
            for r in results
        ]
    )
    detected = np.mean([r.first_rejection is not None for r in results])
    assert always_covered >= 0.95, always_covered
    assert detected > 0.5, detected


def test_closed_form_equals_the_mixture_integral():
    # Lambda = integral over theta ~ N(0, tau^2) of the likelihood ratio N(d; theta, V) / N(d; 0, V).
    variant, control = ArmStats(500, 6_000.0, 160_000.0), ArmStats(500, 5_600.0, 150_000.0)
    result = sequential_test([(variant, control)], mixing_sd=2.0)
    d, v = result.difference[0], result.standard_error[0] ** 2
    integral, _ = integrate.quad(
        lambda theta: (
            stats.norm.pdf(d, theta, np.sqrt(v))
            / stats.norm.pdf(d, 0, np.sqrt(v))
            * stats.norm.pdf(theta, 0, 2.0)
        ),
        -40,
        40,
    )
    assert result.likelihood_ratio[0] == pytest.approx(integral, rel=1e-8)
    assert result.p_value[0] == pytest.approx(min(1.0, 1 / integral), rel=1e-8)


def test_p_values_never_rise_and_intervals_never_widen():
    looks = [
        (ArmStats(200, 2_300.0, 62_000.0), ArmStats(200, 2_000.0, 56_000.0)),
        (ArmStats(400, 4_500.0, 120_000.0), ArmStats(400, 4_300.0, 118_000.0)),
        (ArmStats(600, 6_700.0, 180_000.0), ArmStats(600, 6_300.0, 175_000.0)),
    ]
    result = sequential_test(looks, mixing_sd=2.0)
    assert list(result.p_value) == sorted(result.p_value, reverse=True)
    assert list(result.ci_low) == sorted(result.ci_low)
    assert list(result.ci_high) == sorted(result.ci_high, reverse=True)


def test_looks_out_of_order_or_a_bad_mixing_sd_are_refused():
    early, late = ArmStats(200, 20.0, 30.0), ArmStats(400, 40.0, 60.0)
    with pytest.raises(ExperimentError, match="looks must be cumulative"):
        sequential_test([(late, late), (early, late)], mixing_sd=1.0)
    with pytest.raises(ExperimentError, match="mixing_sd"):
        sequential_test([(early, early)], mixing_sd=0.0)
    with pytest.raises(ExperimentError, match="at least one look"):
        sequential_test([], mixing_sd=1.0)
