"""Sample-ratio mismatch: did assignment deliver the planned shares of customers?

A chi-square goodness-of-fit test (scipy's `chisquare`) of the customers counted in
each arm against the planned shares. A mismatch means the assignment or the counting
is broken (a variant that fails to log, a filter applied to one arm), and no effect
measured on such an experiment can be trusted. The threshold is p < 0.001, as
commonly used for this check (Fabijan et al. 2019, "Diagnosing sample ratio mismatch
in online controlled experiments"): the check runs on every experiment and every
segment, so a 5% threshold would raise false alarms all the time, while a real
mismatch at thousands of customers gives p-values far below 0.001.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import stats

from cible.experiments.errors import ExperimentError
from cible.experiments.result import Result

#: p-values below this flag a mismatch.
SRM_THRESHOLD = 0.001


@dataclasses.dataclass(frozen=True)
class SampleRatioCheck(Result):
    """Counts per arm against the planned shares, and whether they mismatch."""

    counts: tuple[int, ...]
    expected: tuple[float, ...]
    observed_shares: tuple[float, ...]
    planned_shares: tuple[float, ...]
    chi_square: float
    p_value: float
    threshold: float
    mismatch: bool


def check_sample_ratio(
    counts: Sequence[int],
    planned_shares: Sequence[float],
    threshold: float = SRM_THRESHOLD,
) -> SampleRatioCheck:
    """Chi-square test of the customers per arm against the planned shares.

    Parameters
    ----------
    counts : sequence of int
        Customers assigned to each arm (control and variants, holdout included).
    planned_shares : sequence of float
        The planned share of each arm, in the same order; positive, summing to 1.
    threshold : float, default 0.001
        A p-value below it flags a mismatch.

    Returns
    -------
    SampleRatioCheck

    Examples
    --------
    >>> check_sample_ratio([10_400, 9_600], [0.5, 0.5]).mismatch
    True
    >>> check_sample_ratio([10_050, 9_950], [0.5, 0.5]).mismatch
    False
    """
    observed = np.asarray(counts, dtype=np.float64)
    shares = np.asarray(planned_shares, dtype=np.float64)
    if observed.ndim != 1 or len(observed) < 2 or observed.shape != shares.shape:
        raise ExperimentError(
            f"Give one count and one planned share per arm, two arms at least "
            f"(got {len(observed)} counts and {len(shares)} shares)."
        )
    if not (np.isfinite(observed).all() and (observed >= 0).all()) or not all(
        float(c).is_integer() for c in observed
    ):
        raise ExperimentError(f"Counts must be whole numbers of customers (got {list(counts)}).")
    if observed.sum() == 0:
        raise ExperimentError("No customer was assigned: there is no ratio to check.")
    if not (np.isfinite(shares).all() and (shares > 0).all()) or abs(shares.sum() - 1) > 1e-6:
        raise ExperimentError(
            f"Planned shares must be positive and sum to 1 (got {list(planned_shares)})."
        )
    if not 0 < threshold < 1:
        raise ExperimentError(f"threshold must lie strictly between 0 and 1 (got {threshold}).")
    expected = shares / shares.sum() * observed.sum()
    chi_square, p_value = stats.chisquare(observed, expected)
    return SampleRatioCheck(
        counts=tuple(int(c) for c in observed),
        expected=tuple(float(e) for e in expected),
        observed_shares=tuple(float(c) for c in observed / observed.sum()),
        planned_shares=tuple(float(s) for s in shares),
        chi_square=float(chi_square),
        p_value=float(p_value),
        threshold=threshold,
        mismatch=bool(p_value < threshold),
    )
