"""Bayesian probability that a variant beats its control, and the expected loss.

Conversion: each rate gets a Beta posterior (prior ``Beta(prior_alpha, prior_beta)``,
uniform by default, updated with conversions and non-conversions), and::

    P(p_v > p_c) = integral of f_v(t) F_c(t) dt            (numerical, scipy `quad`)
    loss         = E[max(p_c - p_v, 0)]
                 = mean_c P(C+ > V) - mean_v P(C > V+)

where ``C+ ~ Beta(a_c + 1, b_c)`` and ``V+ ~ Beta(a_v + 1, b_v)`` (since ``t f(t)`` is
the mean times the density of the Beta with ``a + 1``). Revenue: the difference of
means is normal with the Welch standard error (flat prior, normal approximation)::

    P(d > 0) = Phi(d / se),   loss = se phi(d / se) - d Phi(-d / se)

The expected loss is what choosing the variant costs, on average, if it is in fact
worse (in the metric's unit). scipy offers the distributions and the integral, not
these probabilities, which are a few lines.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import integrate, special, stats

from cible.experiments.arm import ArmStats
from cible.experiments.errors import ExperimentError
from cible.experiments.proportions import conversions
from cible.experiments.result import Result

# The integral runs over the variant's posterior between these tail probabilities:
# what lies outside changes the probability by less than 2e-14.
_TAIL = 1e-14


@dataclasses.dataclass(frozen=True)
class BayesianComparison(Result):
    """Probability that the variant beats the control, and the loss of choosing it."""

    probability_to_beat: float
    expected_loss: float
    variant_mean: float
    control_mean: float
    method: str


def probability_to_beat_proportions(
    variant: ArmStats, control: ArmStats, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> BayesianComparison:
    """Beta-Binomial probability that the variant's conversion rate exceeds the control's.

    Parameters
    ----------
    variant, control : ArmStats
        Statistics of a 0/1 metric (``sum_y`` conversions out of ``n``).
    prior_alpha, prior_beta : float, default 1.0
        The Beta prior of both rates (uniform by default).

    Returns
    -------
    BayesianComparison
        Posterior means of the rates, ``P(p_v > p_c)`` and ``E[max(p_c - p_v, 0)]``.

    Examples
    --------
    >>> result = probability_to_beat_proportions(ArmStats(400, 48, 48), ArmStats(400, 30, 30))
    >>> round(result.probability_to_beat, 3), round(result.expected_loss, 5)
    (0.984, 0.00012)
    """
    if not (prior_alpha > 0 and prior_beta > 0):
        raise ExperimentError(
            f"The Beta prior needs positive parameters (got {prior_alpha}, {prior_beta})."
        )
    count_v, count_c = conversions(variant, "variant"), conversions(control, "control")
    a_v, b_v = prior_alpha + count_v, prior_beta + variant.n - count_v
    a_c, b_c = prior_alpha + count_c, prior_beta + control.n - count_c
    mean_v, mean_c = a_v / (a_v + b_v), a_c / (a_c + b_c)
    probability = _beta_beats(a_v, b_v, a_c, b_c)
    loss = mean_c * (1 - _beta_beats(a_v, b_v, a_c + 1, b_c)) - mean_v * (
        1 - _beta_beats(a_v + 1, b_v, a_c, b_c)
    )
    return BayesianComparison(
        probability_to_beat=probability,
        expected_loss=max(loss, 0.0),
        variant_mean=mean_v,
        control_mean=mean_c,
        method="beta-binomial",
    )


def probability_to_beat_means(variant: ArmStats, control: ArmStats) -> BayesianComparison:
    """Normal-approximation probability that the variant's mean exceeds the control's.

    Parameters
    ----------
    variant, control : ArmStats
        The two arms' statistics for one metric (revenue per recipient).

    Returns
    -------
    BayesianComparison

    Examples
    --------
    >>> result = probability_to_beat_means(
    ...     ArmStats(400, 4_800.0, 128_000.0), ArmStats(400, 4_000.0, 112_000.0)
    ... )
    >>> round(result.probability_to_beat, 3), round(result.expected_loss, 4)
    (0.983, 0.0058)
    """
    difference = variant.mean - control.mean
    se = math.sqrt(variant.variance / variant.n + control.variance / control.n)
    if se == 0:
        raise ExperimentError(
            "Both arms have a constant metric (zero variance): there is no uncertainty to weigh."
        )
    z = difference / se
    return BayesianComparison(
        probability_to_beat=float(stats.norm.cdf(z)),
        expected_loss=float(se * stats.norm.pdf(z) - difference * stats.norm.cdf(-z)),
        variant_mean=variant.mean,
        control_mean=control.mean,
        method="normal",
    )


def _beta_beats(a_v: float, b_v: float, a_c: float, b_c: float) -> float:
    """P(V > C) for V ~ Beta(a_v, b_v) and C ~ Beta(a_c, b_c), independent."""
    # scipy.special rather than frozen scipy.stats distributions: the integrand is called
    # a few hundred times, and each frozen pdf call costs about 100 microseconds.
    log_norm = float(special.betaln(a_v, b_v))

    def integrand(t: float) -> float:
        log_pdf = special.xlogy(a_v - 1, t) + special.xlog1py(b_v - 1, -t) - log_norm
        return float(np.exp(log_pdf) * special.betainc(a_c, b_c, t))

    low = float(special.betaincinv(a_v, b_v, _TAIL))
    high = float(special.betainccinv(a_v, b_v, _TAIL))
    means = (a_v / (a_v + b_v), a_c / (a_c + b_c))
    value, _ = integrate.quad(
        integrand,
        low,
        high,
        # Break points where the integrand peaks or climbs, when they lie inside.
        points=[p for p in means if low < p < high],
        epsabs=1e-13,
        epsrel=1e-11,
        limit=200,
    )
    return min(max(float(value), 0.0), 1.0)
