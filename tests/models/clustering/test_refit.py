"""Re-fit comparison: against scikit-learn, pandas and brute force, and on planted changes."""

from __future__ import annotations

import json
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cible.features import get_trait
from cible.models.clustering import ClusterSegmenter
from cible.models.clustering.refit import (
    compare_partitions,
    compare_refit,
    jaccard_matrix,
    match_clusters,
)
from cible.models.errors import ModelDataError

TRAITS = [get_trait(name) for name in ("frequency", "discount_share", "avg_order_value")]


@pytest.mark.parametrize("seed", range(5))
def test_ari_and_jaccard_equal_scikit_learn_and_pandas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 4, 500)
    refit = np.where(rng.random(500) < 0.7, stored, rng.integers(0, 5, 500))
    result = compare_partitions(stored, refit)
    assert result.ari == pytest.approx(adjusted_rand_score(stored, refit), rel=1e-12)
    table = pd.crosstab(stored, refit)
    union = table.sum(axis=1).to_numpy()[:, None] + table.sum(axis=0).to_numpy()[None, :]
    expected = table.to_numpy() / (union - table.to_numpy())
    assert np.allclose(np.array(result.jaccard), expected)


@pytest.mark.parametrize("seed", range(30))
def test_matching_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k_old, k_new = (int(k) for k in rng.integers(1, 6, size=2))
    jaccard = rng.random((k_old, k_new))
    pairs = match_clusters(jaccard)
    assert len(pairs) == min(k_old, k_new)
    assert len({s for s, _ in pairs}) == len({r for _, r in pairs}) == len(pairs)
    total = sum(jaccard[s, r] for s, r in pairs)
    if k_old <= k_new:
        best = max(
            sum(jaccard[i, p[i]] for i in range(k_old)) for p in permutations(range(k_new), k_old)
        )
    else:
        best = max(
            sum(jaccard[p[j], j] for j in range(k_new)) for p in permutations(range(k_old), k_new)
        )
    assert total == pytest.approx(best, rel=1e-12)


def test_a_split_cluster_appears_and_a_merged_one_vanishes() -> None:
    stored = np.repeat([0, 1, 2], [400, 300, 300])
    # Cluster 0 is split in two halves (0 and 3); clusters 1 and 2 merge into 1.
    refit = np.repeat([0, 3, 1, 1], [200, 200, 300, 300])
    result = compare_partitions(stored, refit, k_refit=4)
    assert result.clusters[0].match == 0 and result.clusters[0].jaccard == 0.5
    # 1 and 2 compete for the merged cluster: one keeps it (Jaccard 0.5), one vanishes.
    assert sorted(c.match for c in result.clusters[1:] if c.match is not None) == [1]
    assert len(result.vanished) == 1
    assert result.appeared == (2, 3)  # 2 holds nobody, 3 is the new half
    assert result.refit_shares == (0.2, 0.6, 0.0, 0.2)
    assert result.as_dict()["vanished"] == list(result.vanished)


def test_nothing_changes_on_the_same_partition_relabelled() -> None:
    stored = np.repeat([0, 1, 2], [50, 30, 20])
    result = compare_partitions(stored, (stored + 1) % 3, shares_at_fit=[0.5, 0.3, 0.2])
    assert result.ari == 1.0
    assert [c.match for c in result.clusters] == [1, 2, 0]
    assert result.changed == () and result.appeared == ()
    assert [c.share_now for c in result.clusters] == [0.5, 0.3, 0.2]


def _snapshot(n: int, rng: np.random.Generator, loyal_frequency: float = 20.0) -> pd.DataFrame:
    """Three groups: loyal regulars, bargain hunters, big-basket occasionals."""
    sizes = [n // 3, n // 3, n - 2 * (n // 3)]
    frequency = np.r_[
        rng.poisson(loyal_frequency, sizes[0]), rng.poisson(4, sizes[1]), rng.poisson(3, sizes[2])
    ]
    discount = np.r_[
        rng.beta(2, 18, sizes[0]), rng.beta(14, 6, sizes[1]), rng.beta(2, 18, sizes[2])
    ]
    basket = np.r_[
        rng.gamma(20, 2, sizes[0]), rng.gamma(20, 2, sizes[1]), rng.gamma(20, 10, sizes[2])
    ]
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": frequency.astype(np.int64),
            "discount_share": discount,
            "avg_order_value": basket,
        }
    )


def _segmenter() -> ClusterSegmenter:
    return ClusterSegmenter(
        k="auto",
        k_range=(2, 5),
        random_state=0,
        sample_size=1_500,
        n_init=2,
        n_bootstrap=0,
        k_bootstrap=0,
        silhouette_size=1_000,
    )


def test_a_cluster_whose_frequency_halves_is_flagged_and_not_the_others() -> None:
    rng = np.random.default_rng(0)
    before = _snapshot(3_000, rng)
    model = _segmenter().fit(before, TRAITS)
    assert model.k_ == 3
    loyal = int(np.bincount(model.labels_[:1_000]).argmax())

    unchanged = compare_refit(model, _snapshot(3_000, rng), TRAITS, reference=before)
    assert unchanged.ari > 0.95
    assert unchanged.changed == () and unchanged.appeared == ()
    assert all(c.jaccard > 0.9 for c in unchanged.clusters)

    halved = compare_refit(model, _snapshot(3_000, rng, 10.0), TRAITS, reference=before)
    assert halved.changed == (loyal,)
    moved = halved.clusters[loyal].moved
    assert [m.trait for m in moved] == ["frequency"]
    assert moved[0].relative_change == pytest.approx(-0.5, abs=0.05)
    # The groups are the same customers: the clusters still match one to one.
    assert halved.vanished == () and halved.ari > 0.8
    assert halved.clusters[loyal].share_at_fit == pytest.approx(1 / 3, abs=0.01)
    document = json.loads(json.dumps(halved.as_dict(), allow_nan=False))
    assert document["changed"] == [loyal]
    assert document["clusters"][loyal]["moved"][0] == moved[0].as_dict()


def test_without_the_reference_only_matching_is_read() -> None:
    rng = np.random.default_rng(1)
    model = _segmenter().fit(_snapshot(1_500, rng), TRAITS)
    result = compare_refit(model, _snapshot(1_500, rng, 10.0), TRAITS)
    assert all(c.moved == () for c in result.clusters)
    assert result.stored_k == 3


def test_jaccard_ignores_noise_labels() -> None:
    stored = np.array([0, 0, -1, 1])
    refit = np.array([0, -1, 0, 1])
    # Customer 1 is noise in the re-fit, customer 2 in the stored model: cluster 0 is
    # {0, 1} against {0, 2}, one shared of three.
    assert jaccard_matrix(stored, refit, 2, 2).tolist() == [[1 / 3, 0.0], [0.0, 1.0]]


def test_bad_input() -> None:
    with pytest.raises(ModelDataError, match="differ in shape"):
        compare_partitions(np.array([0, 1]), np.array([0]))
    with pytest.raises(ModelDataError, match="threshold"):
        compare_partitions(np.array([0, 1]), np.array([0, 1]), threshold=0.0)
