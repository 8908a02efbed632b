"""Always-valid p-values and confidence sequences: the mixture sequential probability ratio test.

Johari, Koomen, Pekelis and Walsh (2017), "Peeking at A/B tests: why it matters, and
what to do about it" (KDD), and Johari, Pekelis and Walsh (2022), "Always valid
inference: continuous monitoring of A/B tests" (Operations Research). A marketer who
opens the dashboard every day and stops at the first p < 0.05 makes a fixed-horizon
test reject a true null far more often than 5%; the mixture SPRT's p-value can be read
after every look and stopped on at any time with its level kept.

Written by hand: neither statsmodels nor scipy offers sequential tests or confidence
sequences, and the normal mixture has a closed form. At each look the estimate
``d = mean_v - mean_c`` has the variance ``V = var_v / n_v + var_c / n_c`` (plug-in
sample variances); with a normal mixing distribution ``N(0, tau^2)`` over the effect::

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))
    p_n    = min(1, min over looks k <= n of 1 / Lambda_k)
    CS_n   = d +- sqrt(V (V + tau^2) / tau^2 * (log((V + tau^2) / V) - 2 log alpha)),
             intersected with the sequence's earlier intervals

``tau`` (``mixing_sd``) is in the metric's unit: set it to the effect you hope to
detect (the minimum detectable effect); the test is valid whatever its value, and
most powerful near effects of that size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cible.experiments.arm import ArmStats
from cible.experiments.errors import ExperimentError, check_alpha
from cible.experiments.result import Result

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class SequentialTest(Result):
    """One value per look, in order: always-valid p-values and the confidence sequence.

    ``first_rejection`` is the index of the first look whose p-value is at most
    ``alpha`` (None when none is); stopping there keeps the error rate at ``alpha``.
    """

    difference: tuple[float, ...]
    standard_error: tuple[float, ...]
    likelihood_ratio: tuple[float, ...]
    p_value: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    first_rejection: int | None
    mixing_sd: float
    alpha: float


def sequential_test(
    looks: Sequence[tuple[ArmStats, ArmStats]], mixing_sd: float, alpha: float = 0.05
) -> SequentialTest:
    """The mixture SPRT of ``mean_v = mean_c`` over a sequence of looks.

    Parameters
    ----------
    looks : sequence of (ArmStats, ArmStats)
        (variant, control) statistics at each look, cumulative since the start, in
        time order (for example one pair per day).
    mixing_sd : float
        Standard deviation ``tau`` of the normal mixture over the effect, in the unit
        of the metric; the effect the experiment hopes to detect is a good choice.
    alpha : float, default 0.05
        Level of the test and one minus the coverage of the confidence sequence.

    Returns
    -------
    SequentialTest

    Examples
    --------
    >>> looks = [
    ...     (ArmStats(200, 2_300.0, 62_000.0), ArmStats(200, 2_000.0, 56_000.0)),
    ...     (ArmStats(2_000, 24_000.0, 620_000.0), ArmStats(2_000, 20_000.0, 560_000.0)),
    ... ]
    >>> result = sequential_test(looks, mixing_sd=2.0)
    >>> [round(p, 4) for p in result.p_value], result.first_rejection
    ([1.0, 0.0001], 1)
    >>> round(result.ci_low[1], 2), round(result.ci_high[1], 2)
    (0.71, 3.29)
    """
    check_alpha(alpha)
    if not mixing_sd > 0 or not np.isfinite(mixing_sd):
        raise ExperimentError(f"mixing_sd must be a positive number (got {mixing_sd}).")
    if len(looks) == 0:
        raise ExperimentError("Give at least one look (a pair of variant and control statistics).")
    for index in range(1, len(looks)):
        for arm, name in ((0, "variant"), (1, "control")):
            if looks[index][arm].n < looks[index - 1][arm].n:
                raise ExperimentError(
                    f"Look {index}'s {name} has fewer customers than look {index - 1}'s: "
                    "looks must be cumulative and in time order."
                )
    difference = np.array([v.mean - c.mean for v, c in looks])
    variance = np.array([v.variance / v.n + c.variance / c.n for v, c in looks])
    if (variance == 0).any():
        raise ExperimentError(
            "A look has a constant metric in both arms (zero variance): it cannot be tested."
        )
    likelihood_ratio, p_value, low, high = _mixture_sprt(difference, variance, mixing_sd**2, alpha)
    rejected = np.flatnonzero(p_value <= alpha)
    return SequentialTest(
        difference=tuple(difference.tolist()),
        standard_error=tuple(np.sqrt(variance).tolist()),
        likelihood_ratio=tuple(likelihood_ratio.tolist()),
        p_value=tuple(p_value.tolist()),
        ci_low=tuple(low.tolist()),
        ci_high=tuple(high.tolist()),
        first_rejection=int(rejected[0]) if len(rejected) else None,
        mixing_sd=float(mixing_sd),
        alpha=alpha,
    )


def _mixture_sprt(
    difference: FloatArray, variance: FloatArray, tau2: float, alpha: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Likelihood ratios, p-values and the confidence sequence along the last axis."""
    total = variance + tau2
    log_ratio = 0.5 * np.log(variance / total) + tau2 * difference**2 / (2 * variance * total)
    likelihood_ratio = np.exp(log_ratio)
    # exp(-log_ratio) rather than 1 / ratio: no overflow for huge ratios.
    p_value = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_ratio)), axis=-1)
    radius = np.sqrt(variance * total / tau2 * (np.log(total / variance) - 2 * np.log(alpha)))
    low = np.maximum.accumulate(difference - radius, axis=-1)
    high = np.minimum.accumulate(difference + radius, axis=-1)
    return likelihood_ratio, p_value, low, high
