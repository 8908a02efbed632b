import numpy as np
import pytest
from scipy import stats

from cible.experiments import SRM_THRESHOLD, ExperimentError, check_sample_ratio


def test_statistic_is_pearsons_chi_square_against_the_planned_counts():
    counts, shares = [5_210, 4_650, 1_140], [0.45, 0.45, 0.1]
    result = check_sample_ratio(counts, shares)
    expected = np.array(shares) * sum(counts)
    chi2 = float(((np.array(counts) - expected) ** 2 / expected).sum())
    assert result.chi_square == pytest.approx(chi2, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(chi2, df=2), rel=1e-9)
    assert result.expected == pytest.approx(tuple(expected))


def test_flags_a_52_48_assignment_planned_50_50_and_almost_never_a_fair_one():
    rng = np.random.default_rng(12)
    biased = rng.binomial(20_000, 0.52, size=1_000)
    fair = rng.binomial(20_000, 0.50, size=2_000)
    biased_flags = [check_sample_ratio([a, 20_000 - a], [0.5, 0.5]).mismatch for a in biased]
    fair_flags = [check_sample_ratio([a, 20_000 - a], [0.5, 0.5]).mismatch for a in fair]
    # The chance of a flag under the bias: the noncentral chi-square, noncentrality
    # n * sum((share - planned)^2 / planned) = 32.
    power = stats.ncx2.sf(stats.chi2.isf(SRM_THRESHOLD, 1), 1, 20_000 * 2 * 0.02**2 / 0.5)
    assert power > 0.98
    assert np.mean(biased_flags) == pytest.approx(power, abs=0.01)
    # At most the threshold's 0.1% of false alarms, give or take the simulation's noise.
    assert np.mean(fair_flags) <= 0.004
    assert SRM_THRESHOLD == 0.001


@pytest.mark.parametrize(
    ("counts", "shares", "message"),
    [
        ([100], [1.0], "two arms at least"),
        ([100, 100], [0.5, 0.3], "sum to 1"),
        ([100, -1], [0.5, 0.5], "whole numbers"),
        ([100.5, 100], [0.5, 0.5], "whole numbers"),
        ([0, 0], [0.5, 0.5], "No customer"),
        ([100, 100, 100], [0.5, 0.5], "one planned share per arm"),
    ],
)
def test_bad_counts_or_shares_are_refused(counts, shares, message):
    with pytest.raises(ExperimentError, match=message):
        check_sample_ratio(counts, shares)
