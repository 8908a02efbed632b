"""The algorithms behind one interface: assignment, numbering, Ward cuts, HDBSCAN limits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from cible.models.clustering.methods import MethodSettings, Partition, nearest, partitions
from cible.models.errors import ModelDataError


def test_nearest_centre_against_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    x, centers = rng.normal(size=(300, 4)), rng.normal(size=(5, 4))
    direct = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.array_equal(nearest(x, centers), direct)


def test_clusters_are_renumbered_largest_first() -> None:
    x = np.array([[0.0], [0.1], [5.0], [5.1], [5.2], [9.0]])
    partition = Partition(3, centers=np.array([[9.0], [0.0], [5.0]]))
    assert partition.relabel_by_size(x).tolist() == [1, 1, 0, 0, 0, 2]
    assert partition.assign(np.array([[4.9], [8.0]])).tolist() == [0, 2]


def test_ward_cuts_one_tree_for_every_k() -> None:
    x, truth = make_blobs(400, centers=3, cluster_std=0.6, random_state=3)
    found = partitions(x, [2, 3, 4], MethodSettings("ward"), np.random.default_rng(0))
    assert sorted(found) == [2, 3, 4]
    cut = fcluster(linkage(x, "ward"), 3, "maxclust")
    assert adjusted_rand_score(cut, found[3].raw_assign(x)) == pytest.approx(1.0)
    assert adjusted_rand_score(truth, found[3].raw_assign(x)) == pytest.approx(1.0)


def test_ward_and_hdbscan_learn_from_at_most_linkage_size_customers() -> None:
    x, truth = make_blobs(3_000, centers=3, random_state=3, cluster_std=0.8)
    settings = MethodSettings("hdbscan", linkage_size=500, min_cluster_share=0.05)
    (found,) = partitions(x, [2], settings, np.random.default_rng(0)).values()
    assert found.k == 3
    assert adjusted_rand_score(truth, found.raw_assign(x)) > 0.99


def test_hdbscan_without_structure_says_so() -> None:
    x = np.random.default_rng(0).uniform(size=(400, 3))
    settings = MethodSettings("hdbscan", min_cluster_share=0.3)
    with pytest.raises(ModelDataError, match="HDBSCAN found"):
        partitions(x, [2], settings, np.random.default_rng(0))


def test_gmm_assigns_by_posterior_and_minibatch_by_centre() -> None:
    x, _ = make_blobs(500, centers=2, random_state=4)
    rng = np.random.default_rng(0)
    gmm = partitions(x, [2], MethodSettings("gmm", n_init=1), rng)[2]
    assert gmm.mixture is not None
    assert np.array_equal(gmm.raw_assign(x), gmm.mixture.predict(x))
    minibatch = partitions(x, [2], MethodSettings("minibatch", n_init=1), rng)[2]
    assert minibatch.centers is not None and minibatch.centers.shape == (2, 2)
