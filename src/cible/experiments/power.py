"""Power and sample size before an experiment: statsmodels' `NormalIndPower`.

For a difference of means the standardised effect is ``mde / sd``; for conversion it
is Cohen's ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` (statsmodels'
`proportion_effectsize`), whose variance does not depend on the rates. Both are
two-sided normal approximations, accurate from a few hundred customers per arm.
``ratio`` is ``n_control / n_variant`` (a holdout of 10% against one variant is 1/9).
"""

from __future__ import annotations

import dataclasses
import math

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from cible.experiments.errors import ExperimentError, check_alpha
from cible.experiments.result import Result


@dataclasses.dataclass(frozen=True)
class PowerCalculation(Result):
    """Customers per arm and the power they give to detect ``mde``.

    For a sample size, ``n_variant`` and ``n_control`` are rounded up and ``power`` is
    what those whole numbers achieve (at least the power asked for).
    """

    mde: float
    effect_size: float
    n_variant: int
    n_control: int
    power: float
    alpha: float


def sample_size_means(
    mde: float, sd: float, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> PowerCalculation:
    """Customers per arm to detect a difference of means ``mde`` with the given power.

    Parameters
    ----------
    mde : float
        Minimum detectable effect, in the metric's unit (for example 2 euros).
    sd : float
        Standard deviation of the metric per customer (from a past period).
    power : float, default 0.8
    alpha : float, default 0.05
        Two-sided level of the test.
    ratio : float, default 1.0
        ``n_control / n_variant``.

    Examples
    --------
    >>> result = sample_size_means(mde=2.0, sd=20.0)
    >>> result.n_variant, result.n_control
    (1570, 1570)
    """
    return _sample_size(_effect(mde, sd), mde, power, alpha, ratio)


def power_means(
    mde: float, sd: float, n_variant: int, n_control: int | None = None, alpha: float = 0.05
) -> PowerCalculation:
    """Power to detect a difference of means ``mde`` with the customers given.

    Examples
    --------
    >>> round(power_means(mde=2.0, sd=20.0, n_variant=1570).power, 3)
    0.8
    """
    return _power(_effect(mde, sd), mde, n_variant, n_control, alpha)


def sample_size_proportions(
    baseline_rate: float,
    mde: float,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
) -> PowerCalculation:
    """Customers per arm to detect a conversion rate rising from the baseline by ``mde``.

    Parameters
    ----------
    baseline_rate : float
        The control's expected conversion rate, in (0, 1).
    mde : float
        Absolute change to detect (0.01 for one point); the variant's rate
        ``baseline_rate + mde`` must lie in (0, 1).

    Examples
    --------
    >>> sample_size_proportions(baseline_rate=0.05, mde=0.01).n_variant
    8143
    """
    return _sample_size(_proportion_effect(baseline_rate, mde), mde, power, alpha, ratio)


def power_proportions(
    baseline_rate: float,
    mde: float,
    n_variant: int,
    n_control: int | None = None,
    alpha: float = 0.05,
) -> PowerCalculation:
    """Power to detect a conversion rate rising from the baseline by ``mde``.

    Examples
    --------
    >>> round(power_proportions(0.05, 0.01, n_variant=8143).power, 2)
    0.8
    """
    return _power(_proportion_effect(baseline_rate, mde), mde, n_variant, n_control, alpha)


def _effect(mde: float, sd: float) -> float:
    if not (math.isfinite(mde) and mde != 0):
        raise ExperimentError(f"mde must be a non-zero number (got {mde}).")
    if not (math.isfinite(sd) and sd > 0):
        raise ExperimentError(f"sd must be a positive number (got {sd}).")
    return abs(mde) / sd


def _proportion_effect(baseline_rate: float, mde: float) -> float:
    if not 0 < baseline_rate < 1:
        raise ExperimentError(f"baseline_rate must lie strictly between 0 and 1 ({baseline_rate}).")
    if not (math.isfinite(mde) and mde != 0 and 0 < baseline_rate + mde < 1):
        raise ExperimentError(
            f"mde must be non-zero and keep the variant's rate in (0, 1) "
            f"(baseline {baseline_rate}, mde {mde})."
        )
    return abs(float(proportion_effectsize(baseline_rate + mde, baseline_rate)))


def _sample_size(
    effect: float, mde: float, power: float, alpha: float, ratio: float
) -> PowerCalculation:
    check_alpha(alpha)
    if not alpha < power < 1:
        raise ExperimentError(f"power must lie between alpha and 1 (got {power}).")
    if not (math.isfinite(ratio) and ratio > 0):
        raise ExperimentError(f"ratio must be a positive number (got {ratio}).")
    n_variant = float(
        NormalIndPower().solve_power(
            effect_size=effect, nobs1=None, alpha=alpha, power=power, ratio=ratio
        )
    )
    # Rounded up: whole customers, and never less power than asked.
    return _power(effect, mde, math.ceil(n_variant), math.ceil(n_variant * ratio), alpha)


def _power(
    effect: float, mde: float, n_variant: int, n_control: int | None, alpha: float
) -> PowerCalculation:
    check_alpha(alpha)
    control = n_variant if n_control is None else n_control
    if n_variant < 2 or control < 2:
        raise ExperimentError(
            f"Each arm needs at least 2 customers (got {n_variant} and {control})."
        )
    power = NormalIndPower().power(
        effect_size=effect, nobs1=n_variant, alpha=alpha, ratio=control / n_variant
    )
    return PowerCalculation(
        mde=mde,
        effect_size=effect,
        n_variant=int(n_variant),
        n_control=int(control),
        power=float(power),
        alpha=alpha,
    )
