"""Trait drift: how far each trait's distribution moved between a reference and now.

:func:`trait_drift` compares two tables of traits (one row per customer), trait by
trait, and gives for each:

- the **population stability index** (PSI), ``sum((c - r) * ln(c / r))`` over bins,
  ``r`` and ``c`` the reference's and the current table's shares of customers in
  each bin. A number is cut at the reference's quantiles (10 bins by default,
  fewer when values tie: repeated cut points are merged, so a constant trait has
  one bin of values); a label (a string or a boolean) has one bin per value, the
  :data:`MAX_LEVELS` most frequent kept and the rest pooled in ``"(other)"``. A
  missing value is a bin of its own, so a trait that empties is seen. Every share
  gets :data:`EPSILON` added before the shares are renormalised, so that a bin
  empty on one side (a value that appeared or vanished) costs a large but finite
  amount instead of an infinite one; on the same table the PSI stays exactly 0.
- its **level**, after the convention of credit scoring (Siddiqi, *Credit Risk
  Scorecards*, Wiley, 2006, ch. 8; discussed by Yurdakul, *Statistical Properties of
  Population Stability Index*, Western Michigan University, 2018): ``stable`` below
  0.1, ``moderate`` from 0.1 to 0.25 (watch it), ``major`` from 0.25 (act).
- a **two-sample test** with its p-value: Kolmogorov-Smirnov for a number (on the
  values present), Pearson's chi-square for a label (on the same bins as the PSI).
- **by how much**, in the trait's own unit: the reference and current mean and
  median and the relative change of the mean for a number; for a label, the shares
  of each value and the value whose share moved most.

Decide on the PSI, read the test beside it. With a million customers a test finds
any difference, however small, and every p-value is tiny; the PSI is an effect size
that does not grow with the number of customers, so alerts rest on it. The converse
holds on small tables: the PSI of two samples of one distribution is not 0 but about
``(bins - 1) * (1/n + 1/m)`` (``psi_noise``: ``n m / (n + m)`` times the PSI is
close to a chi-square with ``bins - 1`` degrees of freedom, Yurdakul 2018), so for a
segment of a few hundred customers a "moderate" PSI can be sampling alone, which the
test then says.

Written by hand, and why: no maintained library computes the PSI (a few lines of
numpy here), and :func:`scipy.stats.ks_2samp` spends 0.8 s per trait on a million
customers because it sorts and searches unsorted data again. Here each column is
sorted once and serves the quantiles, the bin counts, the medians and the
Kolmogorov-Smirnov statistic (four binary searches of sorted keys, 0.1 s); its
p-value is scipy's own (``kstwo``, as ``ks_2samp`` does past 10,000 customers; below,
``ks_2samp`` itself is called). The tests check both against scipy.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> before = pd.DataFrame({"frequency": rng.poisson(6.0, 5000),
...                        "top_channel": rng.choice(["web", "store"], 5000)})
>>> after = pd.DataFrame({"frequency": rng.poisson(3.0, 5000),
...                       "top_channel": rng.choice(["web", "store"], 5000)})
>>> report = trait_drift(before, after)
>>> [(t.trait, t.level) for t in report.traits]
[('frequency', 'major'), ('top_channel', 'stable')]
>>> frequency = report.traits[0]
>>> round(frequency.reference_mean, 1), round(frequency.current_mean, 1)
(6.0, 3.0)
>>> round(frequency.relative_change, 2)
-0.5
>>> report.drifted
('frequency',)
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp, kstwo

from cible.models.errors import ModelDataError

#: Below this PSI a trait is stable (Siddiqi 2006).
PSI_MODERATE = 0.1
#: From this PSI the drift is major: the population no longer looks like the reference.
PSI_MAJOR = 0.25
#: Added to every bin's share before renormalising, so that an empty bin gives a
#: finite PSI; small enough to leave a PSI of filled bins unchanged in its 3rd decimal.
EPSILON = 1e-4
#: Most values of a label kept as bins of their own (the most frequent over both tables).
MAX_LEVELS = 30
#: Past this many customers on either side, the Kolmogorov-Smirnov p-value is Smirnov's
#: asymptotic one, as in :func:`scipy.stats.ks_2samp` (its ``MAX_AUTO_N``).
EXACT_KS_SIZE = 10_000
MISSING = "(missing)"
OTHER = "(other)"


def psi_level(psi: float) -> str:
    """``"stable"``, ``"moderate"`` or ``"major"`` for a PSI (see the module).

    Examples
    --------
    >>> psi_level(0.05), psi_level(0.1), psi_level(0.3)
    ('stable', 'moderate', 'major')
    """
    if psi >= PSI_MAJOR:
        return "major"
    if psi >= PSI_MODERATE:
        return "moderate"
    return "stable"


def population_stability_index(
    reference_counts: np.ndarray, current_counts: np.ndarray, epsilon: float = EPSILON
) -> float:
    """PSI of two tables of counts over the same bins, each share smoothed by ``epsilon``.

    Examples
    --------
    >>> round(population_stability_index(np.array([50, 50]), np.array([30, 70])), 4)
    0.1694
    >>> population_stability_index(np.array([5, 0]), np.array([5, 0]))
    0.0
    """
    r = _smoothed_shares(np.asarray(reference_counts, dtype=np.float64), epsilon)
    c = _smoothed_shares(np.asarray(current_counts, dtype=np.float64), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def _smoothed_shares(counts: np.ndarray, epsilon: float) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total > 0 else np.zeros_like(counts)
    smoothed: np.ndarray = (shares + epsilon) / (1.0 + epsilon * counts.size)
    return smoothed


@dataclass(frozen=True)
class DriftBin:
    """One bin of a trait: its label and the share of customers in it on each side.

    ``label`` is an interval ``"(a, b]"`` of a number, a label's value, ``"(missing)"``
    or ``"(other)"``. The shares are before smoothing.
    """

    label: str
    reference_share: float
    current_share: float

    def as_dict(self) -> dict[str, Any]:
        """The bin as a dictionary of JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class TraitDrift:
    """How one trait moved between the reference and the current table.

    Attributes
    ----------
    trait : str
        Column name.
    kind : {"numeric", "categorical"}
        How it was binned and tested.
    psi : float
        Population stability index over :attr:`bins`.
    level : {"stable", "moderate", "major"}
        :func:`psi_level` of the PSI; the alert reads this.
    psi_noise : float
        The PSI that sampling alone gives on average, ``(bins - 1) (1/n + 1/m)``.
    test : {"ks", "chi2"}
        Kolmogorov-Smirnov (numbers) or Pearson chi-square (labels).
    statistic, p_value : float or None
        The test's statistic and p-value; None when there is nothing to compare (a
        side without values, or a single bin).
    reference_rows, current_rows : int
        Customers on each side.
    reference_missing, current_missing : float
        Share of customers without a value.
    reference_mean, current_mean, reference_median, current_median : float or None
        Of the values present (numbers only).
    relative_change : float or None
        Numbers: ``(current mean - reference mean) / |reference mean|``. Labels: the
        change of the share of :attr:`moved_level`, relative to its reference share.
        None when the reference is 0.
    moved_level : str or None
        Labels: the value (or ``"(missing)"``) whose share moved most, in points.
    bins : tuple of DriftBin
        The bins, in order, with both sides' shares.
    """

    trait: str
    kind: str
    psi: float
    level: str
    psi_noise: float
    test: str
    statistic: float | None
    p_value: float | None
    reference_rows: int
    current_rows: int
    reference_missing: float
    current_missing: float
    reference_mean: float | None
    current_mean: float | None
    reference_median: float | None
    current_median: float | None
    relative_change: float | None
    moved_level: str | None
    bins: tuple[DriftBin, ...]

    def as_dict(self) -> dict[str, Any]:
        """The result as a dictionary of JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Every compared trait, and the ones left out with the reason.

    Attributes
    ----------
    traits : tuple of TraitDrift
        In the order asked.
    skipped : dict of str to str
        Trait -> why it was not compared.
    bins : int
        Bins asked for numbers.
    epsilon : float
        Smoothing of the shares.
    """

    traits: tuple[TraitDrift, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    bins: int = 10
    epsilon: float = EPSILON

    @property
    def drifted(self) -> tuple[str, ...]:
        """Traits whose level is not ``stable``, largest PSI first."""
        moved = sorted((t for t in self.traits if t.level != "stable"), key=lambda t: -t.psi)
        return tuple(t.trait for t in moved)

    def get(self, trait: str) -> TraitDrift:
        """The result of one trait.

        Raises
        ------
        KeyError
            When the trait was not compared.
        """
        for found in self.traits:
            if found.trait == trait:
                return found
        raise KeyError(trait)

    def as_dict(self) -> dict[str, Any]:
        """The report as a dictionary of JSON values."""
        return {
            "traits": [t.as_dict() for t in self.traits],
            "skipped": dict(self.skipped),
            "bins": self.bins,
            "epsilon": self.epsilon,
            "drifted": list(self.drifted),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per trait, every field of :class:`TraitDrift` but its bins."""
        columns = [f.name for f in fields(TraitDrift) if f.name != "bins"]
        return pd.DataFrame(
            [{c: getattr(t, c) for c in columns} for t in self.traits], columns=columns
        )


def trait_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    traits: Sequence[str] | None = None,
    *,
    bins: int = 10,
    epsilon: float = EPSILON,
) -> DriftReport:
    """Compare each trait of ``current`` with ``reference``: PSI, level, test, change.

    Parameters
    ----------
    reference, current : DataFrame
        One row per customer, one column per trait; other columns are ignored when
        ``traits`` is given.
    traits : sequence of str, optional
        Columns to compare; by default every column of ``reference`` but
        ``customer_id``.
    bins : int, default 10
        Quantile bins of a number (fewer when its values tie).
    epsilon : float, default :data:`EPSILON`
        Added to each bin's share before renormalising.

    Returns
    -------
    DriftReport

    Raises
    ------
    ModelDataError
        For a trait missing from either table, an empty table, fewer than 2 bins or
        an epsilon outside (0, 0.01].
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ModelDataError(f"bins must be a whole number of at least 2, not {bins!r}.")
    if not 0 < epsilon <= 0.01:
        raise ModelDataError(f"epsilon must lie in (0, 0.01], not {epsilon!r}.")
    if len(reference) == 0 or len(current) == 0:
        raise ModelDataError("the reference and the current table must both hold customers.")
    names = [c for c in reference.columns if c != "customer_id"] if traits is None else traits
    for name in names:
        for side, table in (("reference", reference), ("current", current)):
            if name not in table.columns:
                raise ModelDataError(f"the {side} table has no {name!r} column.")
    found: list[TraitDrift] = []
    skipped: dict[str, str] = {}
    for name in names:
        ref, cur = reference[name], current[name]
        if _is_date(ref) or _is_date(cur):
            skipped[name] = "a date moves with time itself; compare a duration such as recency_days"
        elif _is_number(ref) and _is_number(cur):
            found.append(_numeric_drift(name, _floats(ref), _floats(cur), bins, epsilon))
        else:
            found.append(_categorical_drift(name, ref, cur, epsilon))
    return DriftReport(tuple(found), skipped, bins, epsilon)


def _is_date(column: pd.Series) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(column.dtype))


def _is_number(column: pd.Series) -> bool:
    dtype = column.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _floats(column: pd.Series) -> np.ndarray:
    values: np.ndarray = column.to_numpy(np.float64, na_value=np.nan)
    return values


def _numeric_drift(
    name: str, reference: np.ndarray, current: np.ndarray, bins: int, epsilon: float
) -> TraitDrift:
    ref_missing, cur_missing = np.isnan(reference), np.isnan(current)
    # One sort per side serves the quantiles, the bin counts, the medians and the test.
    ref = np.sort(reference[~ref_missing])
    cur = np.sort(current[~cur_missing])
    cuts = np.unique(np.quantile(ref, np.arange(1, bins) / bins)) if ref.size else np.empty(0)
    # Right-closed bins (-inf, q1], (q1, q2], ..., (q_last, inf), then the missing bin.
    ref_counts = np.r_[_bin_counts(ref, cuts), ref_missing.sum()]
    cur_counts = np.r_[_bin_counts(cur, cuts), cur_missing.sum()]
    statistic, p_value = _ks_test(ref, cur)
    ref_mean = float(ref.mean()) if ref.size else None
    cur_mean = float(cur.mean()) if cur.size else None
    change = None
    if ref_mean is not None and cur_mean is not None and ref_mean != 0:
        change = (cur_mean - ref_mean) / abs(ref_mean)
    return TraitDrift(
        trait=name,
        kind="numeric",
        **_psi_fields(ref_counts, cur_counts, epsilon),
        test="ks",
        statistic=statistic,
        p_value=p_value,
        reference_rows=int(reference.size),
        current_rows=int(current.size),
        reference_missing=float(ref_missing.mean()),
        current_missing=float(cur_missing.mean()),
        reference_mean=ref_mean,
        current_mean=cur_mean,
        reference_median=float(np.median(ref)) if ref.size else None,
        current_median=float(np.median(cur)) if cur.size else None,
        relative_change=change,
        moved_level=None,
        bins=_bins([*_interval_labels(cuts), MISSING], ref_counts, cur_counts),
    )


def _bin_counts(ordered: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Values of a sorted array in each right-closed bin between ``cuts``."""
    below = np.searchsorted(ordered, cuts, side="right")
    counts: np.ndarray = np.diff(np.r_[0, below, ordered.size])
    return counts


def _interval_labels(cuts: np.ndarray) -> list[str]:
    edges = [-np.inf, *cuts.tolist(), np.inf]
    return [f"({low:.6g}, {high:.6g}]" for low, high in itertools.pairwise(edges)]


def _ks_test(ref: np.ndarray, cur: np.ndarray) -> tuple[float | None, float | None]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value of two sorted samples."""
    n, m = ref.size, cur.size
    if n == 0 or m == 0:
        return None, None
    if max(n, m) <= EXACT_KS_SIZE:
        with warnings.catch_warnings():
            # With ties scipy falls back from the exact p-value to the asymptotic one,
            # which is the answer wanted; the warning would reach every check's log.
            warnings.filterwarnings("ignore", "ks_2samp: Exact calculation", RuntimeWarning)
            result = ks_2samp(ref, cur)
        return float(result.statistic), float(result.pvalue)
    # The largest gap between the two empirical distribution functions is reached at a
    # value of one sample. At the last of each run of equal values of a sorted sample
    # its own function is (position + 1) / size; the other's is one binary search,
    # cheap with sorted keys, and only one per distinct value (counts tie a lot).
    statistic = float(max(_largest_gap(ref, cur), _largest_gap(cur, ref)))
    big, small = max(n, m), min(n, m)
    effective = round(big * small / (big + small))
    return statistic, float(np.clip(kstwo.sf(statistic, effective), 0.0, 1.0))


def _largest_gap(own: np.ndarray, other: np.ndarray) -> float:
    """Largest |F_own - F_other| over the values of ``own`` (both sorted, non-empty)."""
    last = np.flatnonzero(np.r_[own[1:] != own[:-1], True])
    below = np.searchsorted(other, own[last], side="right")
    return float(np.abs((last + 1) / own.size - below / other.size).max())


def _categorical_drift(
    name: str, reference: pd.Series, current: pd.Series, epsilon: float
) -> TraitDrift:
    ref_counts = _label_counts(reference)
    cur_counts = _label_counts(current)
    present = (
        pd.concat([ref_counts, cur_counts], axis=1).fillna(0).drop(index=MISSING, errors="ignore")
    )
    weight = present.iloc[:, 0] / max(len(reference), 1) + present.iloc[:, 1] / max(len(current), 1)
    order = weight.sort_values(ascending=False, kind="stable").index
    kept = list(order[:MAX_LEVELS])
    table = present.loc[kept]
    if len(order) > MAX_LEVELS:
        table.loc[OTHER] = present.loc[order[MAX_LEVELS:]].sum()
    table.loc[MISSING] = [ref_counts.get(MISSING, 0), cur_counts.get(MISSING, 0)]
    counts = table.to_numpy(np.float64)
    ref_bins, cur_bins = counts[:, 0], counts[:, 1]
    labels = [str(level) for level in table.index]
    statistic, p_value = _chi_square(counts)
    ref_shares = ref_bins / ref_bins.sum()
    cur_shares = cur_bins / cur_bins.sum()
    moved = int(np.argmax(np.abs(cur_shares - ref_shares)))
    change = None
    if ref_shares[moved] > 0:
        change = float((cur_shares[moved] - ref_shares[moved]) / ref_shares[moved])
    return TraitDrift(
        trait=name,
        kind="categorical",
        **_psi_fields(ref_bins, cur_bins, epsilon),
        test="chi2",
        statistic=statistic,
        p_value=p_value,
        reference_rows=len(reference),
        current_rows=len(current),
        reference_missing=float(ref_shares[-1]),
        current_missing=float(cur_shares[-1]),
        reference_mean=None,
        current_mean=None,
        reference_median=None,
        current_median=None,
        relative_change=change,
        moved_level=labels[moved],
        bins=_bins(labels, ref_bins, cur_bins),
    )


def _label_counts(column: pd.Series) -> pd.Series:
    """Customers per value as text (booleans and numbers too), missing ones under MISSING."""
    counts = column.value_counts(dropna=False, sort=False)
    keys = [MISSING if pd.isna(key) else str(key) for key in counts.index]
    return pd.Series(counts.to_numpy(), index=keys).groupby(level=0, sort=False).sum()


def _chi_square(counts: np.ndarray) -> tuple[float | None, float | None]:
    """Pearson's chi-square of a bins x 2 table, without the bins empty on both sides."""
    table = counts[counts.sum(axis=1) > 0].T
    if table.shape[1] < 2:
        return None, None
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _psi_fields(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float) -> dict[str, Any]:
    psi = population_stability_index(ref_counts, cur_counts, epsilon)
    n, m = float(ref_counts.sum()), float(cur_counts.sum())
    filled = int(np.count_nonzero((ref_counts + cur_counts) > 0))
    return {
        "psi": psi,
        "level": psi_level(psi),
        "psi_noise": (filled - 1) * (1.0 / n + 1.0 / m),
    }


def _bins(
    labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray
) -> tuple[DriftBin, ...]:
    ref_total, cur_total = ref_counts.sum(), cur_counts.sum()
    return tuple(
        DriftBin(label, float(r / ref_total), float(c / cur_total))
        for label, r, c in zip(labels, ref_counts, cur_counts, strict=True)
    )
