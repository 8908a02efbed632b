"""Clusterboot stability (Hennig 2007) on simulations whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from cible.models.clustering import TRUST_THRESHOLD, bootstrap_stability
from cible.models.clustering.stability import best_jaccard


def _kmeans(x: np.ndarray, k: int):
    def recluster(rows: np.ndarray) -> np.ndarray:
        # One thread: OpenMP's synchronisation dominates on a few hundred points.
        with threadpool_limits(limits=1, user_api="openmp"):
            return KMeans(k, n_init=3, random_state=int(rows[0])).fit_predict(x[rows])

    return recluster


def test_well_separated_blobs_are_stable() -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0]])
    x = np.concatenate([rng.normal(c, 1.0, (150, 3)) for c in centers])
    labels = KMeans(3, n_init=3, random_state=0).fit_predict(x)
    result = bootstrap_stability(labels, _kmeans(x, 3), n_bootstrap=10, random_state=0)
    assert (result.jaccard > 0.9).all()
    assert result.trusted.all()
    assert result.ari > 0.9
    assert result.jaccard_runs.shape == (10, 3)


def test_a_structureless_cloud_split_in_two_is_flagged() -> None:
    # Two tight blobs far away and one isotropic cloud in 6 dimensions: with k = 4 the
    # cloud is cut in two along a direction that each resample chooses anew.
    rng = np.random.default_rng(1)
    tight = [rng.normal(c, 0.3, (100, 6)) for c in (np.full(6, 30.0), np.full(6, -30.0))]
    cloud = rng.normal(0, 3.0, (400, 6))
    x = np.concatenate([*tight, cloud])
    labels = KMeans(4, n_init=5, random_state=0).fit_predict(x)
    halves = np.unique(labels[200:])
    assert halves.size == 2  # the cloud, not a tight blob, was split
    result = bootstrap_stability(labels, _kmeans(x, 4), n_bootstrap=20, random_state=0)
    blobs = np.unique(labels[:200])
    assert (result.jaccard[blobs] > 0.9).all()
    assert (result.jaccard[halves] < TRUST_THRESHOLD).all()
    assert not result.trusted[halves].any()


def test_a_method_that_always_agrees_scores_one() -> None:
    labels = np.repeat([0, 1, 2], 30)

    def recluster(rows: np.ndarray) -> np.ndarray:
        return 2 - labels[rows]  # the same partition under other names

    result = bootstrap_stability(labels, recluster, n_bootstrap=4, random_state=3)
    assert result.ari == pytest.approx(1.0)
    assert result.jaccard == pytest.approx([1.0, 1.0, 1.0])


def test_best_jaccard_against_a_direct_count() -> None:
    rng = np.random.default_rng(2)
    original = rng.integers(0, 3, 200)
    new = rng.integers(0, 4, 200)
    expected = [
        max(
            np.sum((original == c) & (new == d)) / np.sum((original == c) | (new == d))
            for d in range(4)
        )
        for c in range(3)
    ]
    assert best_jaccard(original, new, 3) == pytest.approx(expected)


def test_overall_ari_against_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 300)
    noisy = np.where(rng.random(300) < 0.2, rng.integers(0, 3, 300), labels)

    def recluster(rows: np.ndarray) -> np.ndarray:
        return noisy[rows]

    result = bootstrap_stability(labels, recluster, n_bootstrap=1, random_state=5)
    drawn = np.unique(np.random.default_rng(5).integers(0, 300, 300))
    assert result.ari == pytest.approx(adjusted_rand_score(labels[drawn], noisy[drawn]))
