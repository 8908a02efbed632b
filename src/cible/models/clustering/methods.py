"""The five clustering algorithms behind one interface: learn a partition, assign points.

Every method learns from the preprocessed sample and returns a :class:`Partition`
per candidate number of clusters; a partition assigns any customer, so that a base
of any size is labelled in batches with bounded memory.

- ``kmeans``: scikit-learn's ``KMeans`` (Lloyd, k-means++ seeding, ``n_init``
  starts); a customer goes to the nearest centre.
- ``minibatch``: the best, by inertia on the sample, of ``n_init`` independent
  ``MiniBatchKMeans`` runs (batches of 4,096), polished by Lloyd iterations on the
  sample. scikit-learn's own ``n_init`` only compares starting points, then runs
  mini-batches once, and mini-batch centres never settle: on the demo retailer that
  left k = 2 at a silhouette of 0.20 against 0.29 for k-means, and resamples
  disagreed so much that no k looked stable. Independent runs reach k-means'
  inertia; they pay off on samples of hundreds of thousands of customers, where a
  Lloyd iteration over the whole sample is what costs.
- ``gmm``: ``GaussianMixture`` with diagonal covariances (full ones are singular on
  one-hot columns and cost ``d^2`` per component) and a variance floor of 0.1 per
  column, a standard deviation of a third of an interquartile range: without it a
  component settles on the spike at 0 of a zero-inflated trait (0 orders by phone)
  with a vanishing variance and an unbounded likelihood, the classic collapse of
  Gaussian mixtures (on the demo retailer, k = 6: adjusted Rand index 0.75 with a
  floor of 1e-4, 0.93 with 0.1). EM starts from the best of ``n_init`` k-means
  runs (scikit-learn's own ``n_init`` would repeat a one-start k-means and EM each
  time, ten times the cost for no better start). A customer goes to the component
  of highest posterior probability.
- ``ward``: Ward's agglomerative clustering (Ward 1963) with SciPy's linkage, which
  scikit-learn's ``AgglomerativeClustering`` also calls. It needs ``n^2 / 2``
  distances, so it learns from at most ``linkage_size`` customers (10,000: 400 MB);
  one tree gives every candidate ``k`` by cutting it. Ward minimises the
  within-cluster variance, which is exactly what nearest-centroid assignment
  preserves, so the other customers go to the nearest cluster mean.
- ``hdbscan``: scikit-learn's ``HDBSCAN`` (Campello, Moulavi & Sander 2013) on at most
  ``linkage_size`` customers, with ``min_cluster_size`` a share of them; it finds the
  number of clusters itself. Customers it calls noise, and everyone else, go to the
  nearest cluster mean: a density cluster of odd shape may be cut differently than
  HDBSCAN would, which is the price of assigning a million customers cheaply.
  Density thins out in many dimensions: on the demo retailer's 44 columns HDBSCAN
  called 77 % of customers noise and found only the two densest groups, and after
  more traits were added it found no cluster of 2 % of the customers at all
  (:attr:`Partition.noise` keeps the share); it suits a handful of traits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from cible.models.errors import ModelDataError

METHODS = ("kmeans", "minibatch", "gmm", "ward", "hdbscan")

#: Smallest variance of a mixture component along a column (columns have an IQR of 1).
GMM_VARIANCE_FLOOR = 0.1


@dataclass
class Partition:
    """A learned partition into ``k`` clusters that can label any point.

    Attributes
    ----------
    k : int
        Number of clusters.
    centers : ndarray or None
        Cluster means, for nearest-centre assignment.
    mixture : GaussianMixture or None
        The fitted mixture, for ``gmm``.
    order : ndarray
        ``order[raw_label]`` is the published label (clusters by size, largest 0).
    noise : float
        Share of the learning customers HDBSCAN called noise (0 for other methods).
    """

    k: int
    centers: np.ndarray | None = None
    mixture: GaussianMixture | None = None
    order: np.ndarray | None = None
    noise: float = 0.0

    def raw_assign(self, x: np.ndarray) -> np.ndarray:
        """Labels as the algorithm numbered them."""
        if self.mixture is not None:
            found: np.ndarray = self.mixture.predict(x)
            return found
        assert self.centers is not None
        return nearest(x, self.centers)

    def assign(self, x: np.ndarray) -> np.ndarray:
        """Published labels of the rows of ``x``."""
        raw = self.raw_assign(x)
        return raw if self.order is None else self.order[raw]

    def relabel_by_size(self, x: np.ndarray) -> np.ndarray:
        """Number clusters by size on ``x``, largest first; return the new labels of ``x``."""
        raw = self.raw_assign(x)
        sizes = np.bincount(raw, minlength=self.k)
        # Equal sizes are ordered by their first point, so the order never depends on ties.
        first = np.array([np.argmax(raw == c) if sizes[c] else raw.size for c in range(self.k)])
        ranking = np.lexsort((first, -sizes))
        self.order = np.empty(self.k, dtype=np.int64)
        self.order[ranking] = np.arange(self.k)
        result: np.ndarray = self.order[raw]
        return result


def nearest(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each row (squared Euclidean distance)."""
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centre.
    scores = x @ centers.T * -2 + np.einsum("ij,ij->i", centers, centers)
    found: np.ndarray = scores.argmin(axis=1)
    return found


@dataclass(frozen=True)
class MethodSettings:
    """How a method runs; see :class:`cible.models.clustering.ClusterSegmenter`."""

    method: str
    n_init: int = 10
    linkage_size: int = 10_000
    min_cluster_share: float = 0.02
    n_threads: int | None = 1


def partitions(
    x: np.ndarray, ks: Sequence[int], settings: MethodSettings, rng: np.random.Generator
) -> dict[int, Partition]:
    """A partition of ``x`` per candidate ``k`` (HDBSCAN: the one it finds).

    scikit-learn parallelises each k-means iteration with OpenMP; ``n_threads``
    caps it (see :class:`~cible.models.clustering.ClusterSegmenter`).
    """
    with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
        return _partitions(x, ks, settings, rng)


def _partitions(
    x: np.ndarray, ks: Sequence[int], settings: MethodSettings, rng: np.random.Generator
) -> dict[int, Partition]:
    method = settings.method
    if method == "ward":
        return _ward(x, ks, settings, rng)
    if method == "hdbscan":
        found = _hdbscan(x, settings, rng)
        return {found.k: found}
    return {k: _centroid_or_mixture(x, k, settings, _seed(rng)) for k in ks}


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _centroid_or_mixture(x: np.ndarray, k: int, settings: MethodSettings, seed: int) -> Partition:
    if settings.method == "gmm":
        start = KMeans(k, n_init=settings.n_init, random_state=seed).fit(x).cluster_centers_
        mixture = GaussianMixture(
            k,
            covariance_type="diag",
            means_init=start,
            random_state=seed,
            reg_covar=GMM_VARIANCE_FLOOR,
        ).fit(x)
        return Partition(k, mixture=mixture)
    if settings.method == "kmeans":
        model = KMeans(k, n_init=settings.n_init, random_state=seed).fit(x)
    else:
        model = KMeans(k, init=_minibatch_centres(x, k, settings.n_init, seed), n_init=1).fit(x)
    return Partition(k, centers=np.asarray(model.cluster_centers_))


def _minibatch_centres(x: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """The centres of the best of ``n_init`` mini-batch k-means runs, by inertia on ``x``."""
    best, centres = np.inf, np.empty(0)
    for start in range(n_init):
        run = MiniBatchKMeans(k, n_init=1, random_state=seed + start, batch_size=4096).fit(x)
        found = np.asarray(run.cluster_centers_)
        inertia = float(((x - found[nearest(x, found)]) ** 2).sum())
        if inertia < best:
            best, centres = inertia, found
    return centres


def _subsample(x: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if x.shape[0] <= size:
        return x
    return x[np.sort(rng.choice(x.shape[0], size, replace=False))]


def _ward(
    x: np.ndarray, ks: Sequence[int], settings: MethodSettings, rng: np.random.Generator
) -> dict[int, Partition]:
    learn = _subsample(x, settings.linkage_size, rng)
    tree = linkage(learn, method="ward")
    found = {}
    for k in ks:
        cut = fcluster(tree, k, criterion="maxclust") - 1
        found[k] = Partition(int(cut.max()) + 1, centers=_means(learn, cut))
    return found


def _hdbscan(x: np.ndarray, settings: MethodSettings, rng: np.random.Generator) -> Partition:
    learn = _subsample(x, settings.linkage_size, rng)
    size = max(5, int(settings.min_cluster_share * learn.shape[0]))
    labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(learn)
    kept = labels >= 0
    k = int(labels.max()) + 1
    if k < 2:
        raise ModelDataError(
            f"HDBSCAN found {k} cluster(s) of at least {size} customers: the traits show "
            "no density structure; try method kmeans or a smaller min_cluster_share."
        )
    return Partition(k, centers=_means(learn[kept], labels[kept]), noise=float(1 - kept.mean()))


def _means(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k)[:, None]
    result: np.ndarray = sums / np.maximum(counts, 1)
    return result
