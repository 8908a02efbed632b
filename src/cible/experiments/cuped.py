"""CUPED: the difference of means adjusted by each customer's pre-period covariate.

Deng, Xu, Kohavi and Walker (2013), "Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data". Written by hand: neither statsmodels nor
scipy offers it, and it is a few lines on the sufficient statistics. With ``x`` the
covariate (for example pre-period revenue) and ``y`` the metric::

    theta      = pooled within-arm cov(x, y) / pooled within-arm var(x)
    diff_cuped = (mean_y_v - mean_y_c) - theta (mean_x_v - mean_x_c)
    var_a(y - theta x) = var_a(y) - 2 theta cov_a(x, y) + theta^2 var_a(x)   (each arm a)
    se_cuped^2 = var_v(y - theta x) / n_v + var_c(y - theta x) / n_c

The covariances are pooled within arms (each arm centred on its own means), so a
treatment effect on ``y`` does not leak into ``theta``; the point estimate then equals
the treatment coefficient of the regression ``y ~ 1 + treated + x`` (ANCOVA). The
variance of the estimate falls by the factor ``1 - rho^2``, ``rho`` the correlation of
``x`` and ``y``. The test is Welch's on the adjusted variances; ``theta`` is treated
as known, which costs nothing at the sample sizes Cible sees (one parameter estimated
from every customer).
"""

from __future__ import annotations

import dataclasses
import math

from scipy import stats

from cible.experiments.arm import ArmStats
from cible.experiments.errors import ExperimentError, check_alpha
from cible.experiments.result import Result


@dataclasses.dataclass(frozen=True)
class CupedComparison(Result):
    """A variant against its control, adjusted for the pre-period covariate."""

    theta: float
    correlation: float
    difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    degrees_of_freedom: float
    t_statistic: float
    p_value: float
    unadjusted_difference: float
    unadjusted_standard_error: float
    variance_reduction: float
    relative_lift: float
    relative_lift_se: float
    relative_lift_ci_low: float
    relative_lift_ci_high: float
    alpha: float


def compare_means_cuped(
    variant: ArmStats, control: ArmStats, alpha: float = 0.05
) -> CupedComparison:
    """Welch's test of the CUPED-adjusted difference of means, with its relative lift.

    Parameters
    ----------
    variant, control : ArmStats
        Statistics with the covariate sums (``sum_x``, ``sum_x2``, ``sum_xy``).
    alpha : float, default 0.05
        One minus the confidence level of the intervals.

    Returns
    -------
    CupedComparison
        ``variance_reduction`` is ``1 - se_cuped^2 / se^2``: the share of the variance
        of the difference that the covariate removed.

    Examples
    --------
    >>> variant = ArmStats.from_arrays([12.0, 3.0, 30.0, 9.0], x=[10.0, 2.0, 25.0, 6.0])
    >>> control = ArmStats.from_arrays([10.0, 1.0, 21.0, 4.0], x=[11.0, 1.0, 20.0, 3.0])
    >>> result = compare_means_cuped(variant, control)
    >>> round(result.theta, 3), round(result.difference, 2), result.unadjusted_difference
    (1.095, 2.31, 4.5)
    >>> result.variance_reduction > 0.9
    True
    """
    check_alpha(alpha)
    within_xx = (variant.n - 1) * variant.covariate_variance + (
        control.n - 1
    ) * control.covariate_variance
    within_xy = (variant.n - 1) * variant.covariance + (control.n - 1) * control.covariance
    within_yy = (variant.n - 1) * variant.variance + (control.n - 1) * control.variance
    # A constant covariate explains nothing: no adjustment rather than a division by 0.
    theta = within_xy / within_xx if within_xx > 0 else 0.0
    correlation = (
        within_xy / math.sqrt(within_xx * within_yy) if within_xx > 0 and within_yy > 0 else 0.0
    )
    var_v = _adjusted_variance(variant, theta) / variant.n
    var_c = _adjusted_variance(control, theta) / control.n
    if var_v + var_c == 0:
        raise ExperimentError(
            "The adjusted metric is constant in both arms (zero variance): "
            "there is nothing to test."
        )
    unadjusted = variant.mean - control.mean
    difference = unadjusted - theta * (variant.covariate_mean - control.covariate_mean)
    standard_error = math.sqrt(var_v + var_c)
    df = (var_v + var_c) ** 2 / (var_v**2 / (variant.n - 1) + var_c**2 / (control.n - 1))
    t_statistic = difference / standard_error
    p_value = 2 * float(stats.t.sf(abs(t_statistic), df))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * standard_error
    unadjusted_se = math.sqrt(variant.variance / variant.n + control.variance / control.n)

    # Adjusted means, centred on the overall covariate mean, give the relative lift.
    overall_x = (variant.sum_x or 0.0) + (control.sum_x or 0.0)
    overall_x /= variant.n + control.n
    mean_v = variant.mean - theta * (variant.covariate_mean - overall_x)
    mean_c = control.mean - theta * (control.covariate_mean - overall_x)
    if mean_c == 0:
        lift, lift_se = math.nan, math.nan
    else:
        lift = mean_v / mean_c - 1
        lift_se = math.sqrt(var_v + (mean_v / mean_c) ** 2 * var_c) / abs(mean_c)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return CupedComparison(
        theta=theta,
        correlation=correlation,
        difference=difference,
        standard_error=standard_error,
        ci_low=difference - half,
        ci_high=difference + half,
        degrees_of_freedom=df,
        t_statistic=t_statistic,
        p_value=p_value,
        unadjusted_difference=unadjusted,
        unadjusted_standard_error=unadjusted_se,
        variance_reduction=(1 - standard_error**2 / unadjusted_se**2 if unadjusted_se > 0 else 0.0),
        relative_lift=lift,
        relative_lift_se=lift_se,
        relative_lift_ci_low=lift - z * lift_se,
        relative_lift_ci_high=lift + z * lift_se,
        alpha=alpha,
    )


def _adjusted_variance(arm: ArmStats, theta: float) -> float:
    variance = arm.variance - 2 * theta * arm.covariance + theta**2 * arm.covariate_variance
    return max(variance, 0.0)
