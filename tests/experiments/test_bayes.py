import numpy as np
import pytest
from scipy.special import betaln

from cible.experiments import (
    ArmStats,
    ExperimentError,
    probability_to_beat_means,
    probability_to_beat_proportions,
)

CASES = [(400, 48, 400, 30), (200, 3, 250, 9), (5_000, 260, 5_000, 240), (300, 0, 300, 2)]


def _exact(a_v, b_v, a_c, b_c):
    """P(V > C) for a whole a_v: the closed-form sum (Evan Miller, "Formulas for Bayesian
    A/B testing", 2015), in logs."""
    i = np.arange(int(a_v))
    terms = betaln(a_c + i, b_c + b_v) - np.log(b_v + i) - betaln(1 + i, b_v) - betaln(a_c, b_c)
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(("n_v", "c_v", "n_c", "c_c"), CASES)
def test_probability_equals_the_closed_form_sum(n_v, c_v, n_c, c_c):
    result = probability_to_beat_proportions(ArmStats(n_v, c_v, c_v), ArmStats(n_c, c_c, c_c))
    exact = _exact(1 + c_v, 1 + n_v - c_v, 1 + c_c, 1 + n_c - c_c)
    assert result.probability_to_beat == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize(("n_v", "c_v", "n_c", "c_c"), CASES)
def test_probability_and_loss_agree_with_monte_carlo(n_v, c_v, n_c, c_c):
    result = probability_to_beat_proportions(
        ArmStats(n_v, c_v, c_v), ArmStats(n_c, c_c, c_c), prior_alpha=0.5, prior_beta=0.5
    )
    rng = np.random.default_rng(50)
    draws = 1_000_000
    v = rng.beta(0.5 + c_v, 0.5 + n_v - c_v, draws)
    c = rng.beta(0.5 + c_c, 0.5 + n_c - c_c, draws)
    beats = np.mean(v > c)
    assert result.probability_to_beat == pytest.approx(beats, abs=4 * np.sqrt(0.25 / draws))
    loss = np.maximum(c - v, 0)
    assert result.expected_loss == pytest.approx(loss.mean(), abs=4 * loss.std() / np.sqrt(draws))


def test_normal_approximation_for_revenue_agrees_with_monte_carlo_and_the_beta_model():
    variant, control = ArmStats(5_000, 260, 260), ArmStats(5_000, 240, 240)
    normal = probability_to_beat_means(variant, control)
    beta = probability_to_beat_proportions(variant, control)
    # On a 0/1 metric at thousands of customers, the two models agree.
    assert normal.probability_to_beat == pytest.approx(beta.probability_to_beat, abs=0.01)
    rng = np.random.default_rng(51)
    se = np.sqrt(variant.variance / variant.n + control.variance / control.n)
    difference = rng.normal(variant.mean - control.mean, se, 1_000_000)
    loss = np.maximum(-difference, 0)
    assert normal.probability_to_beat == pytest.approx(np.mean(difference > 0), abs=2e-3)
    assert normal.expected_loss == pytest.approx(loss.mean(), abs=4 * loss.std() / 1_000)


def test_bad_priors_and_constant_arms_are_refused():
    with pytest.raises(ExperimentError, match="positive parameters"):
        probability_to_beat_proportions(ArmStats(10, 1, 1), ArmStats(10, 2, 2), prior_beta=0)
    with pytest.raises(ExperimentError, match="zero variance"):
        probability_to_beat_means(ArmStats(10, 0.0, 0.0), ArmStats(10, 0.0, 0.0))
