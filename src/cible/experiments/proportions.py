"""Two conversion rates compared: statsmodels' score test and intervals (Miettinen-Nurminen).

A conversion arm is an `ArmStats` of a 0/1 metric, so its conversions are ``sum_y``
(and ``sum_y2`` equals ``sum_y``). statsmodels takes counts, which are sufficient
statistics: `test_proportions_2indep` with ``method="score"`` gives the test of equal
rates (Miettinen-Nurminen), `confint_proportions_2indep` the interval of the
difference (Newcombe's hybrid score interval, ``method="newcomb"``) and of the ratio
(score, Koopman; the relative lift is the ratio minus 1). The score test, unlike the
Wald test, keeps its level near 5% for rates of a few percent at a few hundred
customers per arm. The difference gets Newcombe's interval rather than the score
interval because statsmodels' root search for the latter fails on ordinary counts
(for example 9 of 200 against 19 of 200 in statsmodels 0.15); Newcombe's is in closed
form and covers as well (Newcombe 1998, "Interval estimation for the difference
between independent proportions").
"""

from __future__ import annotations

import dataclasses

import numpy as np
from statsmodels.stats import proportion

from cible.experiments.arm import ArmStats
from cible.experiments.errors import ExperimentError, check_alpha
from cible.experiments.result import Result


@dataclasses.dataclass(frozen=True)
class ProportionComparison(Result):
    """A variant's conversion rate against its control's (score test, Newcombe interval)."""

    variant_rate: float
    control_rate: float
    difference: float
    ci_low: float
    ci_high: float
    z_statistic: float
    p_value: float
    relative_lift: float
    relative_lift_ci_low: float
    relative_lift_ci_high: float
    alpha: float


def conversions(arm: ArmStats, name: str = "arm") -> int:
    """The conversions of a 0/1 metric's arm, refusing statistics of any other metric.

    Examples
    --------
    >>> conversions(ArmStats.from_arrays([1, 0, 0, 1, 1]))
    3
    """
    count = arm.sum_y
    if not count.is_integer() or not 0 <= count <= arm.n or arm.sum_y2 != count:
        raise ExperimentError(
            f"The {name} is not a 0/1 conversion metric: it needs a whole sum_y between 0 "
            f"and n = {arm.n}, equal to sum_y2 (got sum_y = {arm.sum_y}, "
            f"sum_y2 = {arm.sum_y2})."
        )
    return int(count)


def compare_proportions(
    variant: ArmStats, control: ArmStats, alpha: float = 0.05
) -> ProportionComparison:
    """Score test of equal conversion rates, with intervals for the difference and the lift.

    Parameters
    ----------
    variant, control : ArmStats
        Statistics of a 0/1 metric (``sum_y`` conversions out of ``n``).
    alpha : float, default 0.05
        One minus the confidence level of the intervals.

    Returns
    -------
    ProportionComparison

    Examples
    --------
    >>> result = compare_proportions(ArmStats(400, 48, 48), ArmStats(400, 30, 30))
    >>> round(result.difference, 3), round(result.p_value, 4)
    (0.045, 0.032)
    >>> round(result.relative_lift, 2), round(result.relative_lift_ci_low, 3)
    (0.6, 0.04)
    """
    check_alpha(alpha)
    count_v, count_c = conversions(variant, "variant"), conversions(control, "control")
    total = count_v + count_c
    if total == 0 or total == variant.n + control.n:
        raise ExperimentError(
            "Every customer in both arms has the same outcome (all converted or none did): "
            "the rates cannot be compared."
        )
    # statsmodels also works out the odds ratio, dividing by zero when an arm has no
    # conversion (or only conversions); those values are not used here.
    with np.errstate(divide="ignore", invalid="ignore"):
        test = proportion.test_proportions_2indep(
            count_v, variant.n, count_c, control.n, method="score", compare="diff"
        )
    low, high = proportion.confint_proportions_2indep(
        count_v, variant.n, count_c, control.n, method="newcomb", compare="diff", alpha=alpha
    )
    if count_c == 0:
        # The ratio to a control without conversions has no finite interval.
        lift, lift_low, lift_high = float("nan"), float("nan"), float("nan")
    else:
        ratio_low, ratio_high = proportion.confint_proportions_2indep(
            count_v, variant.n, count_c, control.n, method="score", compare="ratio", alpha=alpha
        )
        lift = (count_v / variant.n) / (count_c / control.n) - 1
        lift_low, lift_high = float(ratio_low) - 1, float(ratio_high) - 1
    return ProportionComparison(
        variant_rate=count_v / variant.n,
        control_rate=count_c / control.n,
        difference=count_v / variant.n - count_c / control.n,
        ci_low=float(low),
        ci_high=float(high),
        z_statistic=float(test.statistic),
        p_value=float(test.pvalue),
        relative_lift=lift,
        relative_lift_ci_low=lift_low,
        relative_lift_ci_high=lift_high,
        alpha=alpha,
    )
