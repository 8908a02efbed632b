"""Choosing k: the rank-sum rule, and criteria measured against a structureless reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from cible.models.clustering.methods import MethodSettings, partitions
from cible.models.clustering.selection import choose_k, select_k


def test_rank_sum_prefers_the_k_every_criterion_finds_good() -> None:
    table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "silhouette_gain": [0.20, 0.15, 0.16, 0.05],  # 2 best alone
            "calinski_harabasz_ratio": [1.0, 2.9, 3.0, 1.5],  # 4 best alone
            "davies_bouldin_ratio": [0.9, 0.5, 0.6, 0.8],  # 3 best alone
        }
    )
    choice = choose_k(table)
    # Ranks: k=2 -> 1+4+4, k=3 -> 3+2+1, k=4 -> 2+1+2, k=5 -> 4+3+3.
    assert choice.table["rank_sum"].tolist() == [9, 6, 5, 10]
    assert choice.k == 4
    assert choice.table["chosen"].tolist() == [False, False, True, False]
    assert choice.reason["fr"].startswith("k = 4 : meilleure somme des rangs sur 3 critères")
    assert "Davies-Bouldin ratio 2nd" in choice.reason["en"]


def test_ties_go_to_the_smaller_k_and_missing_values_rank_last() -> None:
    table = pd.DataFrame({"k": [5, 3], "silhouette_gain": [0.1, 0.1], "bic": [np.nan, 10.0]})
    choice = choose_k(table)
    assert choice.k == 3
    assert choice.table["rank_bic"].tolist() == [1, 2]
    tie = choose_k(pd.DataFrame({"k": [4, 2], "silhouette_gain": [0.1, 0.1]}))
    assert tie.k == 2


def test_skewed_independent_traits_look_clustered_only_to_the_raw_silhouette() -> None:
    # Simulation with known truth: independent zero-inflated traits have no clusters.
    rng = np.random.default_rng(0)
    x = np.log1p((rng.random((3_000, 4)) < 0.2) * rng.lognormal(2, 0.5, (3_000, 4)))
    settings = MethodSettings("kmeans", n_init=3)
    found = partitions(x, [2, 3, 4], settings, rng)
    table = select_k(x, found, settings, rng, size=1_500).table
    assert table["silhouette"].iloc[0] > 0.3
    assert table["silhouette_gain"].abs().max() < 0.06
    assert table["calinski_harabasz_ratio"].between(0.8, 1.25).all()


def test_blobs_score_far_above_their_reference_at_the_true_k() -> None:
    x, _ = make_blobs(2_000, n_features=4, centers=3, random_state=1, cluster_std=1.0)
    rng = np.random.default_rng(1)
    settings = MethodSettings("kmeans", n_init=3)
    found = partitions(x, [2, 3, 4, 5], settings, rng)
    choice = select_k(x, found, settings, rng, size=1_000)
    assert choice.k == 3
    row = choice.table.set_index("k").loc[3]
    assert row["silhouette_gain"] > 0.3
    assert row["calinski_harabasz_ratio"] > 5
    assert "bic" not in choice.table


def test_gmm_adds_its_bic() -> None:
    x, _ = make_blobs(600, n_features=2, centers=2, random_state=2)
    rng = np.random.default_rng(2)
    settings = MethodSettings("gmm", n_init=1)
    found = partitions(x, [2, 3], settings, rng)
    choice = select_k(x, found, settings, rng, size=300)
    assert choice.table["bic"].tolist() == pytest.approx([found[k].mixture.bic(x) for k in (2, 3)])
    assert "BIC" in choice.reason["en"]
