"""How far a clustering can be trusted: bootstrap stability as in Hennig's clusterboot.

Hennig (2007), *Cluster-wise assessment of cluster stability*, Computational
Statistics & Data Analysis 52(1), 258-271: draw ``B`` bootstrap resamples of the
clustered points, cluster each one again with the same method and number of
clusters, and, for every original cluster ``C``, find the most similar cluster of
the resample by the Jaccard coefficient ``|C n D| / |C u D|`` computed on the points
present in both (each point drawn at least once counted once). The mean of these
maxima over the resamples is the cluster's stability. Hennig reads a mean below
0.5 as a dissolved cluster and above 0.75 as a stable one; Cible flags clusters under
0.6 as *not to trust*. The adjusted Rand index (Hubert & Arabie 1985) between the
original and the resample's labels, on the same points, sums up the whole partition.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(0, 0.1, 50), rng.normal(5, 0.1, 50)])
>>> labels = (x > 2.5).astype(int)
>>> result = bootstrap_stability(labels, lambda rows: (x[rows] > x[rows].mean()).astype(int),
...                              n_bootstrap=5, random_state=0)
>>> result.jaccard.round(2).tolist(), result.trusted.tolist()
([1.0, 1.0], [True, True])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score

#: Mean Jaccard under which a cluster is flagged as not to trust.
TRUST_THRESHOLD = 0.6

#: ``recluster(rows) -> labels``: cluster the points at ``rows`` (with repeats) again.
Recluster = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Stability:
    """Bootstrap stability of a clustering.

    Attributes
    ----------
    jaccard : ndarray
        Mean over the resamples of each cluster's best Jaccard coefficient, indexed
        by cluster label.
    jaccard_runs : ndarray
        The best Jaccard coefficient per resample (rows) and cluster (columns).
    ari : float
        Mean adjusted Rand index between original and resample labels.
    ari_runs : ndarray
        The adjusted Rand index of each resample.
    trusted : ndarray of bool
        Clusters whose mean Jaccard reaches :data:`TRUST_THRESHOLD`.
    """

    jaccard: np.ndarray
    jaccard_runs: np.ndarray
    ari: float
    ari_runs: np.ndarray
    trusted: np.ndarray


def bootstrap_stability(
    labels: np.ndarray,
    recluster: Recluster,
    n_bootstrap: int = 20,
    random_state: int | np.random.Generator | None = None,
) -> Stability:
    """Clusterboot stability of ``labels`` (Hennig 2007).

    Parameters
    ----------
    labels : ndarray of int
        The original clustering, labels ``0..k-1``, one per point.
    recluster : callable
        ``recluster(rows)`` clusters the points ``rows`` (indices into ``labels``,
        with repeats) with the same method and number of clusters, and returns one
        label per entry of ``rows``.
    n_bootstrap : int, default 20
        Number of resamples ``B``.
    random_state : int, Generator or None
        Seed of the resamples.

    Returns
    -------
    Stability
    """
    found = compare_resamples(
        {0: labels}, lambda rows: {0: recluster(rows)}, n_bootstrap, random_state
    )
    return found[0]


def compare_resamples(
    labels: Mapping[int, np.ndarray],
    recluster: Callable[[np.ndarray], Mapping[int, np.ndarray]],
    n_bootstrap: int,
    random_state: int | np.random.Generator | None = None,
) -> dict[int, Stability]:
    """Clusterboot stability of several clusterings of the same points at once.

    Each resample is clustered once per key (``recluster`` returns a mapping), which
    lets a hierarchical method cut one tree for every ``k``.

    Parameters
    ----------
    labels : mapping
        Key (a number of clusters, say) -> original labels ``0..k-1`` of every point.
    recluster : callable
        ``recluster(rows)`` -> key -> one label per entry of ``rows``.
    n_bootstrap : int
        Number of resamples.
    random_state : int, Generator or None
        Seed of the resamples.
    """
    rng = np.random.default_rng(random_state)
    n = len(next(iter(labels.values())))
    sizes = {key: int(np.max(values)) + 1 for key, values in labels.items()}
    jaccard = {key: np.zeros((n_bootstrap, k)) for key, k in sizes.items()}
    ari = {key: np.zeros(n_bootstrap) for key in labels}
    for run in range(n_bootstrap):
        rows = rng.integers(0, n, n)
        new = recluster(rows)
        # The first occurrence of each drawn point stands for all its copies.
        points, first = np.unique(rows, return_index=True)
        for key, original in labels.items():
            again = np.asarray(new[key])[first]
            jaccard[key][run] = best_jaccard(np.asarray(original)[points], again, sizes[key])
            ari[key][run] = adjusted_rand_score(np.asarray(original)[points], again)
    return {
        key: Stability(
            jaccard=jaccard[key].mean(axis=0),
            jaccard_runs=jaccard[key],
            ari=float(ari[key].mean()),
            ari_runs=ari[key],
            trusted=jaccard[key].mean(axis=0) >= TRUST_THRESHOLD,
        )
        for key in labels
    }


def best_jaccard(original: np.ndarray, new: np.ndarray, k: int) -> np.ndarray:
    """For each original cluster ``0..k-1``, its largest Jaccard coefficient with a new one.

    Examples
    --------
    >>> best_jaccard(np.array([0, 0, 1, 1]), np.array([5, 5, 5, 7]), 2).tolist()
    [0.6666666666666666, 0.5]
    """
    _, new_codes = np.unique(new, return_inverse=True)
    m = int(new_codes.max()) + 1
    both = np.zeros((k, m))
    np.add.at(both, (original, new_codes), 1)
    sizes_original = both.sum(axis=1, keepdims=True)
    sizes_new = both.sum(axis=0, keepdims=True)
    union = sizes_original + sizes_new - both
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(union > 0, both / union, 0.0)
    best: np.ndarray = ratio.max(axis=1)
    return best
