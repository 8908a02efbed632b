"""Is a stored clustering still right? Re-fit it on a new snapshot and compare.

:func:`compare_refit` takes a stored, fitted :class:`ClusterSegmenter` and the traits
of a new snapshot. It fits a segmenter with the same settings on the new table
(:func:`sklearn.base.clone`), assigns every customer of the new table with both, and
compares the two partitions with :func:`compare_partitions`:

- the **adjusted Rand index** (Hubert & Arabie 1985, :func:`sklearn.metrics.adjusted_rand_score`):
  1 when the two models group the customers identically, about 0 when they agree no
  more than chance;
- the **Jaccard coefficient** of each stored cluster with each re-fitted one,
  ``|A and B| / |A or B|`` over the customers, and the one-to-one **matching** that
  maximises their sum (the Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`);
- clusters that **vanished** (a stored cluster without a match of Jaccard at least
  ``threshold``) and that **appeared** (a re-fitted one without such a match). 0.5 is
  the default after Hennig (2007, *Computational Statistics & Data Analysis* 52),
  who reads a cluster whose best Jaccard with its bootstrap images falls to 0.5 or
  below as dissolved: at 0.5 the overlap is at most as large as the part that is
  not shared;
- each stored cluster's **share** of customers when it was fitted, now under the
  stored model, and (for its match) under the re-fit;
- when the table the model was fitted on is given (``reference``), whether each
  stored cluster's **profile moved**: the PSI (:mod:`cible.models.drift`) of each
  trait the model reads, between the cluster's customers then and now (both assigned
  by the stored model). A trait at ``moved_psi`` or above (0.25, a major drift, by
  default) has moved.

A stored cluster has **changed** when it vanished or a trait of its profile moved.

Examples
--------
>>> import numpy as np
>>> stored = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
>>> refit = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
>>> result = compare_partitions(stored, refit)
>>> [(c.cluster, c.match, round(c.jaccard, 2), c.vanished) for c in result.clusters]
[(0, 1, 1.0, False), (1, 0, 0.67, False), (2, None, 0.0, True)]
>>> result.vanished, result.appeared
((2,), ())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.validation import check_is_fitted

from cible.features import Trait
from cible.models.clustering.segmenter import ClusterSegmenter
from cible.models.drift import PSI_MAJOR, trait_drift
from cible.models.errors import ModelDataError

#: A match of Jaccard below this leaves both clusters unmatched (Hennig 2007).
MATCH_THRESHOLD = 0.5


@dataclass(frozen=True)
class MovedTrait:
    """A trait of a cluster's profile whose distribution moved (see :mod:`cible.models.drift`)."""

    trait: str
    psi: float
    level: str
    reference_mean: float | None
    current_mean: float | None
    relative_change: float | None

    def as_dict(self) -> dict[str, Any]:
        """The trait as a dictionary of JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class StoredCluster:
    """What became of one stored cluster.

    Attributes
    ----------
    cluster : int
        Its id in the stored model.
    match : int or None
        The re-fitted cluster it is matched with (Jaccard at least the threshold).
    jaccard : float
        Jaccard with that match; 0 when unmatched.
    best_jaccard : float
        Its largest Jaccard with any re-fitted cluster.
    share_at_fit : float or None
        Share of customers it held in the table the model was fitted on.
    share_now : float
        Share of the new table the stored model assigns to it.
    refit_share : float or None
        Share of the new table its match holds.
    vanished : bool
        No match of Jaccard at least the threshold.
    moved : tuple of MovedTrait
        Traits of its profile that moved (only when the reference table is given).
    changed : bool
        Vanished, or a trait moved.
    """

    cluster: int
    match: int | None
    jaccard: float
    best_jaccard: float
    share_at_fit: float | None
    share_now: float
    refit_share: float | None
    vanished: bool
    moved: tuple[MovedTrait, ...]
    changed: bool

    def as_dict(self) -> dict[str, Any]:
        """The cluster as a dictionary of JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class RefitComparison:
    """The stored clustering against a re-fit on the new snapshot.

    Attributes
    ----------
    ari : float
        Adjusted Rand index of the two assignments of the new table.
    stored_k, refit_k : int
        Number of clusters of each model.
    clusters : tuple of StoredCluster
        One per stored cluster, in id order.
    appeared : tuple of int
        Re-fitted clusters without a match.
    refit_shares : tuple of float
        Share of the new table in each re-fitted cluster.
    jaccard : tuple of tuple of float
        ``jaccard[i][j]``: stored cluster ``i`` against re-fitted cluster ``j``.
    threshold : float
        The matching threshold used.
    """

    ari: float
    stored_k: int
    refit_k: int
    clusters: tuple[StoredCluster, ...]
    appeared: tuple[int, ...]
    refit_shares: tuple[float, ...]
    jaccard: tuple[tuple[float, ...], ...]
    threshold: float

    @property
    def vanished(self) -> tuple[int, ...]:
        """Stored clusters without a match."""
        return tuple(c.cluster for c in self.clusters if c.vanished)

    @property
    def changed(self) -> tuple[int, ...]:
        """Stored clusters that vanished or whose profile moved."""
        return tuple(c.cluster for c in self.clusters if c.changed)

    def as_dict(self) -> dict[str, Any]:
        """The comparison as a dictionary of JSON values."""
        return {**asdict(self), "vanished": list(self.vanished), "changed": list(self.changed)}


def jaccard_matrix(
    stored: np.ndarray, refit: np.ndarray, k_stored: int, k_refit: int
) -> np.ndarray:
    """Jaccard coefficient of each stored cluster (rows) with each re-fitted one (columns).

    Labels below 0 (noise of HDBSCAN) belong to no cluster.

    Examples
    --------
    >>> jaccard_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2, 2).round(2).tolist()
    [[0.5, 0.25], [0.0, 0.67]]
    """
    both = np.zeros((k_stored, k_refit))
    kept = (stored >= 0) & (refit >= 0)
    np.add.at(both, (stored[kept], refit[kept]), 1.0)
    size_stored = np.bincount(stored[stored >= 0], minlength=k_stored)[:, None]
    size_refit = np.bincount(refit[refit >= 0], minlength=k_refit)[None, :]
    union = size_stored + size_refit - both
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio: np.ndarray = np.where(union > 0, both / union, 0.0)
    return ratio


def match_clusters(jaccard: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one pairs (stored, re-fitted) of largest total Jaccard (Hungarian).

    Examples
    --------
    >>> match_clusters(np.array([[0.9, 0.8], [0.85, 0.1]]))
    [(0, 1), (1, 0)]
    """
    rows, columns = linear_sum_assignment(jaccard, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, columns, strict=True)]


def compare_partitions(
    stored: np.ndarray,
    refit: np.ndarray,
    *,
    threshold: float = MATCH_THRESHOLD,
    k_stored: int | None = None,
    k_refit: int | None = None,
    shares_at_fit: Sequence[float] | None = None,
) -> RefitComparison:
    """Compare two assignments of the same customers: ARI, matching, vanished, appeared.

    Parameters
    ----------
    stored, refit : ndarray of int
        Cluster of each customer under the stored model and under the re-fit.
    threshold : float, default :data:`MATCH_THRESHOLD`
        Smallest Jaccard of a match.
    k_stored, k_refit : int, optional
        Number of clusters of each model (a cluster may hold nobody now); by default
        one more than the largest label.
    shares_at_fit : sequence of float, optional
        Each stored cluster's share in the table it was fitted on.

    Returns
    -------
    RefitComparison
        Without moved traits (see :func:`compare_refit`).
    """
    stored = np.asarray(stored, dtype=np.int64)
    refit = np.asarray(refit, dtype=np.int64)
    if stored.shape != refit.shape or stored.ndim != 1 or stored.size == 0:
        raise ModelDataError(
            f"the two assignments differ in shape ({stored.shape} and {refit.shape})."
        )
    if not 0 < threshold <= 1:
        raise ModelDataError(f"threshold must lie in (0, 1], not {threshold!r}.")
    k_old = int(stored.max()) + 1 if k_stored is None else k_stored
    k_new = int(refit.max()) + 1 if k_refit is None else k_refit
    jaccard = jaccard_matrix(stored, refit, k_old, k_new)
    pairs = {s: r for s, r in match_clusters(jaccard) if jaccard[s, r] >= threshold}
    n = stored.size
    share_now = np.bincount(stored[stored >= 0], minlength=k_old) / n
    refit_shares = np.bincount(refit[refit >= 0], minlength=k_new) / n
    clusters = []
    for c in range(k_old):
        match = pairs.get(c)
        vanished = match is None
        clusters.append(
            StoredCluster(
                cluster=c,
                match=match,
                jaccard=0.0 if match is None else float(jaccard[c, match]),
                best_jaccard=float(jaccard[c].max()) if k_new else 0.0,
                share_at_fit=None if shares_at_fit is None else float(shares_at_fit[c]),
                share_now=float(share_now[c]),
                refit_share=None if match is None else float(refit_shares[match]),
                vanished=vanished,
                moved=(),
                changed=vanished,
            )
        )
    matched = set(pairs.values())
    return RefitComparison(
        ari=float(adjusted_rand_score(stored, refit)),
        stored_k=k_old,
        refit_k=k_new,
        clusters=tuple(clusters),
        appeared=tuple(j for j in range(k_new) if j not in matched),
        refit_shares=tuple(float(s) for s in refit_shares),
        jaccard=tuple(tuple(float(v) for v in row) for row in jaccard),
        threshold=threshold,
    )


def compare_refit(
    stored: ClusterSegmenter,
    current: pd.DataFrame,
    traits: Sequence[Trait],
    *,
    reference: pd.DataFrame | None = None,
    threshold: float = MATCH_THRESHOLD,
    moved_psi: float = PSI_MAJOR,
) -> RefitComparison:
    """Re-fit ``stored``'s settings on ``current`` and compare the two clusterings.

    Parameters
    ----------
    stored : ClusterSegmenter
        A fitted segmenter, as stored.
    current : DataFrame
        ``customer_id`` and traits of the new snapshot, one row per customer.
    traits : sequence of Trait
        As given to :meth:`ClusterSegmenter.fit`.
    reference : DataFrame, optional
        The table ``stored`` was fitted on (or a snapshot of that time); when given,
        each cluster's profile then and now is compared trait by trait.
    threshold : float, default :data:`MATCH_THRESHOLD`
        Smallest Jaccard of a match.
    moved_psi : float, default :data:`~cible.models.drift.PSI_MAJOR`
        PSI from which a trait of a cluster's profile has moved.

    Returns
    -------
    RefitComparison

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cible.features import get_trait
    >>> rng = np.random.default_rng(0)
    >>> def snapshot(regular_frequency):
    ...     return pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)],
    ...         "frequency": np.r_[rng.poisson(2, 200), rng.poisson(regular_frequency, 100)],
    ...         "discount_share": np.r_[rng.uniform(0.5, 1, 200), rng.uniform(0, 0.2, 100)]})
    >>> traits = [get_trait("frequency"), get_trait("discount_share")]
    >>> before = snapshot(20)
    >>> model = ClusterSegmenter(k=2, random_state=0, n_init=2, n_bootstrap=0).fit(before, traits)
    >>> result = compare_refit(model, snapshot(10), traits, reference=before)
    >>> round(result.ari, 2), result.changed
    (0.91, (1,))
    >>> [(m.trait, m.level) for m in result.clusters[1].moved]
    [('frequency', 'major')]
    """
    check_is_fitted(stored, "partition_")
    if not moved_psi > 0:
        raise ModelDataError(f"moved_psi must be positive, not {moved_psi!r}.")
    refit = clone(stored).fit(current, traits)
    old = stored.predict(current)["cluster"].to_numpy()
    new = refit.predict(current)["cluster"].to_numpy()
    sizes = np.asarray(stored.sizes_, dtype=np.float64)
    result = compare_partitions(
        old,
        new,
        threshold=threshold,
        k_stored=stored.k_,
        k_refit=refit.k_,
        shares_at_fit=(sizes / sizes.sum()).tolist(),
    )
    if reference is None:
        return result
    then = stored.predict(reference)["cluster"].to_numpy()
    clusters = []
    for cluster in result.clusters:
        moved = _moved_traits(
            reference.loc[then == cluster.cluster, stored.traits_],
            current.loc[old == cluster.cluster, stored.traits_],
            moved_psi,
        )
        clusters.append(replace(cluster, moved=moved, changed=cluster.vanished or bool(moved)))
    return replace(result, clusters=tuple(clusters))


def _moved_traits(
    then: pd.DataFrame, now: pd.DataFrame, moved_psi: float
) -> tuple[MovedTrait, ...]:
    if then.empty or now.empty:
        return ()
    report = trait_drift(then, now, list(then.columns))
    return tuple(
        MovedTrait(t.trait, t.psi, t.level, t.reference_mean, t.current_mean, t.relative_change)
        for t in sorted(report.traits, key=lambda t: -t.psi)
        if t.psi >= moved_psi
    )
