"""The statistics of the fairness report, on crosstabs of a few rows (docs/fairness.md).

The database reduces memberships and a protected attribute to counts: customers of
each attribute group in each segment, and in the whole base. Everything here works
on those counts, never on customer rows:

- :func:`disparate_impact`: each group's selection rate (the share of the group that
  the segment holds), the ratio of the lowest to the highest rate over the groups of
  at least ``min_group_size`` customers (the four-fifths rule flags a ratio below
  0.8), and Fisher's exact test of the two groups it compares.
- :func:`cramers_v` and :func:`independence_p_value`: how strongly membership and the
  attribute are associated (scipy's ``association`` and ``chi2_contingency``).
- :func:`proxy_accuracy`: how well membership predicts the attribute, as the
  cross-validated balanced accuracy of scikit-learn's categorical naive Bayes with
  equal class priors, against ``1 / groups`` by chance.
- :func:`flag`: Holm's adjustment across the segments of one report, then the rule
  "ratio below 0.8 and adjusted p-value below ``alpha``".

Examples
--------
>>> test = disparate_impact({"a": 40, "b": 10}, {"a": 100, "b": 100}, min_group_size=30)
>>> test.ratio, test.lowest, test.highest
(0.25, 'b', 'a')
>>> test.p_value < 0.001
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2_contingency, fisher_exact
from scipy.stats.contingency import association

from cible.experiments.multiple import holm_correction

#: Groups with fewer customers in the base are reported as too small and left out of
#: ratios and proxy measures: a rate over a handful of people is mostly noise, and
#: printing it next to a group name risks pointing at the few people in it.
MIN_GROUP_SIZE = 30
#: The four-fifths rule (US EEOC, 1978): a selection rate below 80% of the highest
#: group's is evidence of adverse impact.
FOUR_FIFTHS = 0.8
#: Family-wise error rate of the significance check across the segments of a report.
ALPHA = 0.05
#: Cramér's V from which a proxy is called moderate, then strong (Cohen's small and
#: medium effects for a 2 x k table).
MODERATE_PROXY = 0.1
STRONG_PROXY = 0.3
#: Rows the proxy classifier is cross-validated on; larger bases are subsampled
#: exactly (multivariate hypergeometric), which keeps the estimate and bounds the time.
MAX_PROXY_ROWS = 50_000


@dataclass(frozen=True)
class GroupRate:
    """One attribute group in one segment.

    Attributes
    ----------
    group : str
        The attribute's value.
    base : int
        Customers of the group in the whole base.
    members : int
        Customers of the group in the segment.
    share_in_base, share_in_segment : float or None
        The group's share of the base and of the segment's members (those with a
        value); None when there is no one to divide by.
    selection_rate : float or None
        ``members / base``: the share of the group the segment holds.
    too_small : bool
        Fewer than ``min_group_size`` customers in the base: left out of the ratio.
    """

    group: str
    base: int
    members: int
    share_in_base: float | None
    share_in_segment: float | None
    selection_rate: float | None
    too_small: bool


@dataclass(frozen=True)
class ImpactTest:
    """Selection rates of a segment and the disparate-impact ratio between them.

    Attributes
    ----------
    rates : tuple of GroupRate
        Every group, in the order given.
    ratio : float or None
        Lowest over highest selection rate among the groups large enough; None
        with fewer than two such groups or when none of them is selected.
    lowest, highest : str or None
        The groups the ratio compares.
    p_value : float or None
        Fisher's exact test (two-sided) of the two rates, multiplied by the number
        of pairs of groups that could have been compared (Bonferroni), at most 1.
    """

    rates: tuple[GroupRate, ...]
    ratio: float | None
    lowest: str | None
    highest: str | None
    p_value: float | None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def disparate_impact(
    members: Mapping[str, int], base: Mapping[str, int], *, min_group_size: int = MIN_GROUP_SIZE
) -> ImpactTest:
    """Selection rates per group and the disparate-impact ratio of one segment.

    Parameters
    ----------
    members : mapping
        Group -> customers of that group in the segment.
    base : mapping
        Group -> customers of that group in the whole base (a superset).
    min_group_size : int
        Groups with fewer customers in the base are reported but not compared.

    Returns
    -------
    ImpactTest

    Examples
    --------
    >>> test = disparate_impact({"x": 5}, {"x": 100, "y": 12})
    >>> [(r.group, r.selection_rate, r.too_small) for r in test.rates]
    [('x', 0.05, False), ('y', 0.0, True)]
    >>> test.ratio is None
    True
    """
    total_base = sum(base.values())
    total_members = sum(members.get(g, 0) for g in base)
    rates = tuple(
        GroupRate(
            group=group,
            base=count,
            members=members.get(group, 0),
            share_in_base=_share(count, total_base),
            share_in_segment=_share(members.get(group, 0), total_members),
            selection_rate=_share(members.get(group, 0), count),
            too_small=count < min_group_size,
        )
        for group, count in base.items()
    )
    eligible = [r for r in rates if not r.too_small and r.selection_rate is not None]
    if len(eligible) < 2:
        return ImpactTest(rates, None, None, None, None)
    # Ties go to the group listed first, so a report reads the same each time.
    low = min(eligible, key=lambda r: r.selection_rate or 0.0)
    high = max(eligible, key=lambda r: r.selection_rate or 0.0)
    if not high.members:
        return ImpactTest(rates, None, None, None, None)
    ratio = (low.selection_rate or 0.0) / (high.selection_rate or 1.0)
    table = [[low.members, low.base - low.members], [high.members, high.base - high.members]]
    raw = float(fisher_exact(table, alternative="two-sided").pvalue)
    # The two groups were picked for being the furthest apart: testing them as if
    # chosen in advance would flag noise among many groups. Bonferroni over every
    # pair that could have been picked keeps the test's level.
    pairs = len(eligible) * (len(eligible) - 1) // 2
    return ImpactTest(rates, ratio, low.group, high.group, min(1.0, raw * pairs))


def _trimmed(table: np.ndarray) -> np.ndarray:
    """``table`` without its empty rows and columns (they carry no information and
    make the expected counts of a chi-square zero)."""
    counts = np.asarray(table, dtype=np.int64)
    kept: np.ndarray = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    return kept


def cramers_v(table: np.ndarray | Sequence[Sequence[int]]) -> float | None:
    """Cramér's V of a contingency table (0: independent, 1: one determines the other).

    Empty rows and columns are dropped first; None when fewer than two rows or
    columns remain.

    Examples
    --------
    >>> round(cramers_v([[10, 20], [30, 5]]), 4)
    0.5367
    >>> cramers_v([[10, 20], [0, 0]]) is None
    True
    """
    counts = _trimmed(np.asarray(table))
    if min(counts.shape) < 2:
        return None
    return float(association(counts, method="cramer", correction=False))


def independence_p_value(table: np.ndarray | Sequence[Sequence[int]]) -> float | None:
    """The chi-square test of independence of a contingency table (scipy).

    Examples
    --------
    >>> independence_p_value([[10, 20], [30, 5]]) < 0.001
    True
    """
    counts = _trimmed(np.asarray(table))
    if min(counts.shape) < 2:
        return None
    return float(chi2_contingency(counts, correction=False).pvalue)


def proxy_level(v: float | None, p_value: float | None, *, alpha: float = ALPHA) -> str:
    """``strong``, ``moderate`` or ``weak``: how much of a proxy a Cramér's V makes.

    An association that is not significant at ``alpha`` is weak whatever its size.

    Examples
    --------
    >>> proxy_level(0.45, 1e-9), proxy_level(0.15, 1e-4), proxy_level(0.45, 0.2)
    ('strong', 'moderate', 'weak')
    """
    if v is None or p_value is None or p_value >= alpha:
        return "weak"
    if v >= STRONG_PROXY:
        return "strong"
    return "moderate" if v >= MODERATE_PROXY else "weak"


def proxy_accuracy(
    table: np.ndarray | Sequence[Sequence[int]],
    *,
    folds: int = 5,
    seed: int = 0,
    max_rows: int = MAX_PROXY_ROWS,
) -> float | None:
    """Cross-validated balanced accuracy of predicting the group from membership.

    ``table[i][j]`` counts the customers with membership ``i`` (a segment, or none)
    and attribute group ``j``. Rows are rebuilt from the counts (at most
    ``max_rows``, drawn without replacement) and scikit-learn's ``CategoricalNB``
    with equal class priors, the classifier that maximises balanced accuracy on one
    categorical feature, is scored by stratified ``folds``-fold cross-validation.
    Chance is ``1 / groups``. None with fewer than two groups or memberships, or
    when a group has fewer customers than folds.

    Examples
    --------
    >>> round(proxy_accuracy([[90, 10], [10, 90]]), 2)
    0.9
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.naive_bayes import CategoricalNB

    counts = _trimmed(np.asarray(table))
    if min(counts.shape) < 2:
        return None
    rng = np.random.default_rng(seed)
    flat = counts.ravel()
    if flat.sum() > max_rows:
        flat = rng.multivariate_hypergeometric(flat, max_rows)
        counts = flat.reshape(counts.shape)
        counts = counts[:, counts.sum(axis=0) > 0]
    if min(counts.shape) < 2 or counts.sum(axis=0).min() < folds:
        return None
    rows, cols = np.indices(counts.shape)
    x = np.repeat(rows.ravel(), counts.ravel()).reshape(-1, 1)
    y = np.repeat(cols.ravel(), counts.ravel())
    model = CategoricalNB(alpha=1.0, fit_prior=False, min_categories=counts.shape[0])
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, x, y, cv=splitter)
    return float(balanced_accuracy_score(y, predicted))


@dataclass(frozen=True)
class Flags:
    """The decision of :func:`flag` for each test, in the order given."""

    adjusted_p_values: tuple[float | None, ...]
    below_four_fifths: tuple[bool, ...]
    flagged: tuple[bool, ...]


def flag(
    tests: Sequence[ImpactTest], *, threshold: float = FOUR_FIFTHS, alpha: float = ALPHA
) -> Flags:
    """Which segments show adverse impact: ratio below ``threshold`` and significant.

    The p-values of every test with a ratio are adjusted together with Holm's method,
    so that a report of many segments keeps a family-wise error rate of ``alpha``:
    a small segment whose ratio is low by chance is not flagged.

    Examples
    --------
    >>> low = disparate_impact({"a": 40, "b": 10}, {"a": 100, "b": 100})
    >>> noisy = disparate_impact({"a": 4, "b": 3}, {"a": 100, "b": 100})
    >>> flag([low, noisy]).flagged
    (True, False)
    """
    tested = [i for i, t in enumerate(tests) if t.p_value is not None]
    adjusted: list[float | None] = [None] * len(tests)
    if tested:
        holm = holm_correction([tests[i].p_value or 0.0 for i in tested], alpha=alpha)
        for i, p in zip(tested, holm.adjusted_p_values, strict=True):
            adjusted[i] = float(p)
    below = tuple(t.ratio is not None and t.ratio < threshold for t in tests)
    flagged = tuple(b and p is not None and p < alpha for b, p in zip(below, adjusted, strict=True))
    return Flags(tuple(adjusted), below, flagged)
