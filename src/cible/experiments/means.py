"""Difference of means between a variant and its control: Welch's test and the relative lift.

Revenue per recipient and conversion (a 0/1 metric) alike. The test statistic and
p-value are scipy's `ttest_ind_from_stats` (Welch, unequal variances), which takes
summary statistics; the confidence interval uses the same Welch-Satterthwaite degrees
of freedom, so the results equal statsmodels' ``CompareMeans.ttest_ind(usevar="unequal")``
and ``tconfint_diff`` on the raw rows.

The relative lift ``mean_v / mean_c - 1`` gets its standard error by the delta method
(neither library offers it on summary statistics; the formula is one line)::

    se(lift)^2 = var_v / (n_v mean_c^2) + mean_v^2 var_c / (n_c mean_c^4)

and a normal interval ``lift +- z se``.
"""

from __future__ import annotations

import dataclasses
import math

from scipy import stats

from cible.experiments.arm import ArmStats
from cible.experiments.errors import ExperimentError, check_alpha
from cible.experiments.result import Result


@dataclasses.dataclass(frozen=True)
class MeanComparison(Result):
    """A variant's mean against its control's (Welch), with the relative lift.

    ``relative_lift`` and its interval are NaN when the control's mean is 0.
    """

    variant_mean: float
    control_mean: float
    difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    degrees_of_freedom: float
    t_statistic: float
    p_value: float
    relative_lift: float
    relative_lift_se: float
    relative_lift_ci_low: float
    relative_lift_ci_high: float
    alpha: float


def compare_means(variant: ArmStats, control: ArmStats, alpha: float = 0.05) -> MeanComparison:
    """Welch's two-sided test of ``mean_v - mean_c = 0``, its interval and the relative lift.

    Parameters
    ----------
    variant, control : ArmStats
        The two arms' sufficient statistics for one metric.
    alpha : float, default 0.05
        One minus the confidence level of the intervals.

    Returns
    -------
    MeanComparison

    Examples
    --------
    >>> variant = ArmStats.from_arrays([12.0, 0.0, 30.0, 8.0])
    >>> control = ArmStats.from_arrays([10.0, 0.0, 20.0, 2.0])
    >>> result = compare_means(variant, control)
    >>> round(result.difference, 2), round(result.p_value, 3), round(result.relative_lift, 3)
    (4.5, 0.587, 0.562)
    """
    check_alpha(alpha)
    var_v, var_c = variant.variance / variant.n, control.variance / control.n
    if var_v + var_c == 0:
        raise ExperimentError(
            "Both arms have a constant metric (zero variance): there is nothing to test."
        )
    t_statistic, p_value = stats.ttest_ind_from_stats(
        variant.mean,
        math.sqrt(variant.variance),
        variant.n,
        control.mean,
        math.sqrt(control.variance),
        control.n,
        equal_var=False,
    )
    difference = variant.mean - control.mean
    standard_error = math.sqrt(var_v + var_c)
    # Welch-Satterthwaite: the degrees of freedom scipy used for the p-value.
    df = (var_v + var_c) ** 2 / (var_v**2 / (variant.n - 1) + var_c**2 / (control.n - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * standard_error
    lift, lift_se = relative_lift(variant, control)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return MeanComparison(
        variant_mean=variant.mean,
        control_mean=control.mean,
        difference=difference,
        standard_error=standard_error,
        ci_low=difference - half,
        ci_high=difference + half,
        degrees_of_freedom=df,
        t_statistic=float(t_statistic),
        p_value=float(p_value),
        relative_lift=lift,
        relative_lift_se=lift_se,
        relative_lift_ci_low=lift - z * lift_se,
        relative_lift_ci_high=lift + z * lift_se,
        alpha=alpha,
    )


def relative_lift(variant: ArmStats, control: ArmStats) -> tuple[float, float]:
    """The relative lift ``mean_v / mean_c - 1`` and its delta-method standard error.

    Both are NaN when the control's mean is 0.

    Examples
    --------
    >>> lift, se = relative_lift(ArmStats(100, 120.0, 400.0), ArmStats(100, 100.0, 300.0))
    >>> round(lift, 2), round(se, 3)
    (0.2, 0.234)
    """
    if control.mean == 0:
        return math.nan, math.nan
    ratio = variant.mean / control.mean
    variance = (
        variant.variance / variant.n + ratio**2 * control.variance / control.n
    ) / control.mean**2
    return ratio - 1, math.sqrt(variance)
