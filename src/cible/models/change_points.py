"""A change point in a short series: did a segment's size or KPI shift, when, by how much.

:func:`detect_change_point` reads a series of snapshots (a segment's size or a KPI,
monthly, 6 to 48 points) under the "at most one change" model: the series is a level,
or a level up to some point and another after it, plus noise.

- **Where**: the split that best separates the series into two levels, the one that
  minimises the squared deviations from the two means (equivalently maximises the
  between-levels sum of squares ``k (n - k) / n * (mean_before - mean_after)**2``),
  each side holding at least ``min_size`` points. This is the least-squares change
  point of ruptures' ``Binseg`` / ``Dynp`` with the ``l2`` cost and one breakpoint,
  which the tests use as the reference.
- **Whether**: the likelihood-ratio test of a shift in the mean of normal
  observations with unknown variance (Hinkley, *Biometrika* 57, 1970; Worsley, *JASA*
  74, 1979): the largest over the splits of ``F_k = B_k / ((SST - B_k) / (n - 2))``,
  ``B_k`` the between-levels sum of squares and ``SST`` the total one. ``F`` does not
  change when the series is shifted or scaled, so its distribution under no change
  depends only on ``n`` and ``min_size``: the p-value is read from ``n_simulations``
  series of standard normal noise, drawn with a fixed seed (Monte Carlo, exact up to
  its own error of about ``sqrt(p (1 - p) / n_simulations)``). A change is flagged
  when the p-value is at most ``alpha``.

Why this test: short series cannot estimate the noise's scale well, and ruptures'
penalised searches (PELT, binary segmentation with a penalty) need that scale to set
their penalty: on 6 to 48 points a wrong one flags flat series or misses steps. A
permutation test needs no normality but cannot reach 5 % on 6 points (the orderings
that keep the same two groups are a tenth of them). ruptures gives locations without
a p-value, and the test needs the statistic of every simulated series, one cumulative
sum over a (series x points) array here, so the scan is written with numpy and the
tests check its location against ruptures.

Limits: a steady trend is not a level and will be flagged as a change somewhere in
the middle; strong seasonality, autocorrelation or a single outlying month make flags
more frequent than ``alpha``. Only the strongest change is reported.

Examples
--------
>>> import numpy as np
>>> sizes = np.r_[np.full(8, 1000.0), np.full(6, 700.0)] + np.tile([5.0, -5.0], 7)
>>> found = detect_change_point(sizes, random_state=0)
>>> found.flagged, found.index, found.before, found.after
(True, 8, 1000.0, 700.0)
>>> round(found.relative_change, 2)
-0.3
>>> detect_change_point(np.tile([1000.0, 990.0, 1010.0], 4), random_state=0).flagged
False
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cible.models.errors import ModelDataError


@dataclass(frozen=True)
class ChangePoint:
    """The strongest change of level of a series, and whether it is more than noise.

    Attributes
    ----------
    flagged : bool
        Whether the p-value is at most ``alpha``.
    index : int or None
        Position of the first snapshot after the change (the "before" level holds
        positions ``0 .. index - 1``); None for a series without any variation.
    at : str or None
        The series' index label at that position (the snapshot's date), as text.
    before, after : float or None
        Mean level before and after.
    change : float or None
        ``after - before``.
    relative_change : float or None
        ``change / |before|``; None when ``before`` is 0.
    p_value : float
        Of the likelihood-ratio test, by simulation.
    statistic : float
        The largest ``F_k`` over the splits (infinite for two noiseless levels).
    points : int
        Length of the series.
    alpha : float
        The level the flag used.
    """

    flagged: bool
    index: int | None
    at: str | None
    before: float | None
    after: float | None
    change: float | None
    relative_change: float | None
    p_value: float
    statistic: float
    points: int
    alpha: float

    def as_dict(self) -> dict[str, Any]:
        """The result as a dictionary of JSON values."""
        return asdict(self)


def detect_change_point(
    series: pd.Series | npt.ArrayLike,
    *,
    alpha: float = 0.05,
    min_size: int = 2,
    n_simulations: int = 9_999,
    random_state: int | None = 0,
) -> ChangePoint:
    """The strongest change of level in ``series`` and the p-value of a change.

    Parameters
    ----------
    series : Series or array-like of float
        The values in time order; a Series' index (snapshot dates) names the change.
    alpha : float, default 0.05
        Flag when the p-value is at most this.
    min_size : int, default 2
        Fewest points on each side of a change.
    n_simulations : int, default 9_999
        Series of pure noise the p-value is read from; the smallest p-value is
        ``1 / (n_simulations + 1)``.
    random_state : int or None, default 0
        Seed of the simulations; a fixed one gives the same answer every time.

    Returns
    -------
    ChangePoint

    Raises
    ------
    ModelDataError
        For a missing or infinite value, fewer than ``2 * min_size`` points, or a
        setting out of range.
    """
    values = np.asarray(series, dtype=np.float64)
    _check(values, alpha, min_size, n_simulations)
    n = values.size
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        # No variation to split: nothing changed.
        return ChangePoint(False, None, None, None, None, None, None, 1.0, 0.0, n, alpha)
    splits = np.arange(min_size, n - min_size + 1)
    observed = _f_ratios(values[None, :], splits)[0]
    best = int(np.argmax(observed))
    statistic = float(observed[best])
    rng = np.random.default_rng(random_state)
    null = _f_ratios(rng.standard_normal((n_simulations, n)), splits).max(axis=1)
    p_value = (1 + int(np.count_nonzero(null >= statistic))) / (n_simulations + 1)
    index = int(splits[best])
    before, after = float(values[:index].mean()), float(values[index:].mean())
    label = str(series.index[index]) if isinstance(series, pd.Series) else str(index)
    return ChangePoint(
        flagged=p_value <= alpha,
        index=index,
        at=label,
        before=before,
        after=after,
        change=after - before,
        relative_change=(after - before) / abs(before) if before != 0 else None,
        p_value=p_value,
        statistic=statistic,
        points=n,
        alpha=alpha,
    )


def _check(values: np.ndarray, alpha: float, min_size: int, n_simulations: int) -> None:
    if values.ndim != 1:
        raise ModelDataError(f"give one series of values, not an array of shape {values.shape}.")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise ModelDataError(f"min_size must be a whole number of at least 1, not {min_size!r}.")
    if values.size < 2 * min_size:
        raise ModelDataError(
            f"the series has {values.size} point(s): at least {2 * min_size} are needed "
            f"for {min_size} on each side of a change."
        )
    if not np.isfinite(values).all():
        raise ModelDataError(
            f"the series has {int((~np.isfinite(values)).sum())} missing or infinite "
            "value(s): fill or drop those snapshots first."
        )
    if not 0 < alpha < 1:
        raise ModelDataError(f"alpha must lie in (0, 1), not {alpha!r}.")
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, int):
        raise ModelDataError(f"n_simulations must be a whole number, not {n_simulations!r}.")
    if n_simulations < 99:
        raise ModelDataError(f"n_simulations must be at least 99, not {n_simulations}.")


def _f_ratios(rows: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """``F_k = B_k / ((SST - B_k) / (n - 2))`` of each row at each split ``k``.

    ``B_k = k (n - k) / n (mean_before - mean_after)**2``, from cumulative sums.
    """
    n = rows.shape[1]
    totals = np.cumsum(rows, axis=1)
    head = totals[:, splits - 1]
    whole = totals[:, -1:]
    gap = head / splits - (whole - head) / (n - splits)
    between = splits * (n - splits) / n * gap**2
    total = np.sum((rows - whole / n) ** 2, axis=1, keepdims=True)
    within = np.maximum(total - between, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = np.where(within > 1e-12 * total, between / within * (n - 2), np.inf)
    return ratio
