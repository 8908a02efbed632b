"""Choosing k: the largest k whose clusters all come back, criteria as the fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from cible.models.clustering.methods import MethodSettings, partitions
from cible.models.clustering.selection import choose_k, score_partition, select_k


def test_the_largest_stable_k_wins() -> None:
    table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "silhouette": [0.5, 0.3, 0.35, 0.2],
            "min_jaccard": [0.99, 0.6, 0.9, 0.5],  # 3 unstable, 4 stable again
        }
    )
    choice = choose_k(table)
    assert choice.k == 4
    assert choice.table["stable"].tolist() == [True, False, True, False]
    assert choice.table["chosen"].tolist() == [False, False, True, False]
    assert choice.reason["en"] == (
        "k = 4: the most clusters that all come back in bootstrap resamples "
        "(lowest mean Jaccard 0.90, at least 0.85); with k = 5 one falls to 0.50."
    )
    assert choice.reason["fr"].startswith("k = 4 : le plus grand nombre de groupes")
    assert "0,90" in choice.reason["fr"]


def test_without_a_stable_k_the_criteria_rank_sum_decides() -> None:
    table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "silhouette": [0.20, 0.15, 0.16, 0.05],  # 2 best alone
            "calinski_harabasz": [100.0, 290.0, 300.0, 150.0],  # 4 best alone
            "davies_bouldin": [0.9, 0.5, 0.6, 0.8],  # 3 best alone
            "min_jaccard": [0.5, 0.4, 0.6, 0.3],
        }
    )
    choice = choose_k(table)
    # Ranks: k=2 -> 1+4+4, k=3 -> 3+2+1, k=4 -> 2+1+2, k=5 -> 4+3+3.
    assert choice.table["rank_sum"].tolist() == [9, 6, 5, 10]
    assert choice.k == 4
    assert choice.reason["en"].startswith("No k gave only stable clusters")
    assert "Davies-Bouldin 2nd" in choice.reason["en"]
    assert choice.reason["fr"].startswith("Aucun k ne donne que des groupes stables")


def test_ties_go_to_the_smaller_k_and_missing_values_rank_last() -> None:
    table = pd.DataFrame({"k": [5, 3], "silhouette": [0.1, 0.1], "bic": [np.nan, 10.0]})
    choice = choose_k(table)
    assert choice.k == 3
    assert choice.table["rank_bic"].tolist() == [1, 2]


def test_criteria_match_scikit_learn() -> None:
    x, labels = make_blobs(300, centers=3, random_state=0)
    rows = np.arange(0, 300, 2)
    scores = score_partition(x, labels, rows)
    assert scores["silhouette"] == pytest.approx(silhouette_score(x[rows], labels[rows]))
    assert scores["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(x, labels))
    assert scores["davies_bouldin"] == pytest.approx(davies_bouldin_score(x, labels))


def test_nested_groups_are_found_where_the_criteria_stop_at_the_top_level() -> None:
    # Simulation with known truth: two far-apart pairs of close blobs. The criteria
    # prefer the two pairs; every one of the four blobs is stable, so k = 4.
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [4.5, 0], [40, 40], [44.5, 40]], dtype=float)
    x = np.concatenate([rng.normal(c, 1.0, (300, 2)) for c in centers])
    settings = MethodSettings("kmeans", n_init=3)
    found = partitions(x, [2, 3, 4, 5, 6], settings, rng)
    choice = select_k(x, found, settings, rng, silhouette_size=600, bootstrap_size=600)
    table = choice.table.set_index("k")
    assert table["silhouette"].idxmax() == 2
    assert choice.k == 4
    assert table.loc[4, "min_jaccard"] > 0.9
    assert table.loc[5, "min_jaccard"] < 0.85


def test_gmm_adds_its_bic() -> None:
    x, _ = make_blobs(600, n_features=2, centers=2, random_state=2)
    rng = np.random.default_rng(2)
    settings = MethodSettings("gmm", n_init=1)
    found = partitions(x, [2, 3], settings, rng)
    choice = select_k(x, found, settings, rng, silhouette_size=300, n_bootstrap=0)
    assert choice.table["bic"].tolist() == pytest.approx([found[k].mixture.bic(x) for k in (2, 3)])
    assert "min_jaccard" not in choice.table
    assert "BIC" in choice.reason["en"]


def test_a_candidate_with_empty_clusters_is_not_chosen() -> None:
    table = pd.DataFrame(
        {
            "k": [2, 3, 4],
            "clusters": [2, 3, 3],  # the mixture left a component of k = 4 empty
            "silhouette": [0.3, 0.4, 0.4],
            "min_jaccard": [1.0, 0.95, 1.0],
        }
    )
    assert choose_k(table).k == 3
    assert choose_k(table.drop(columns="min_jaccard")).k == 3
