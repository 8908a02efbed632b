"""Choosing the number of clusters: the most clusters that all come back, criteria beside.

Every candidate ``k`` gets the classic criteria:

- the **silhouette** (Rousseeuw 1987), higher is better, on a random subsample
  (``silhouette_size`` customers, 10,000 by default: it needs every pairwise distance);
- the **Calinski-Harabasz** index (1974), between- over within-cluster dispersion,
  higher is better, on the whole sample;
- the **Davies-Bouldin** index (1979), mean similarity of each cluster to its
  closest one, lower is better, on the whole sample;
- for the ``gmm`` method only, the **BIC** of the mixture (Schwarz 1978), lower is
  better: the other methods fit no likelihood, and a mixture fitted beside them
  would judge another model;

and a quick **stability** check: ``n_bootstrap`` (5) bootstrap resamples of a
subsample of ``bootstrap_size`` (5,000) customers are clustered again for every
``k`` (same method and number of starts), and each cluster's mean Jaccard
coefficient with its best match is computed as in Hennig's clusterboot (:mod:`~cible.models.clustering.stability`).

**The rule**: ``k`` is the largest candidate whose clusters are *all* highly
stable, every mean Jaccard at least 0.85. The reasoning is that of prediction
strength (Tibshirani & Walther 2005, "the largest k whose clusters can be
predicted"): more segments are more useful as long as each one is real, and a
cluster that resamples do not find again is not. Hennig (2007) reads 0.75 as the
start of "stable"; choosing ``k`` needs the stricter 0.85, because k-means cutting
one Gaussian blob in two follows the blob's main axis, which resamples find again
often enough to reach 0.8. When no candidate is stable, the criteria decide by a sum
of ranks (each ranks the candidates, 1 the best; the smallest sum wins, the smaller
``k`` on a tie), and the reason says so.

Why not the criteria alone: on customer traits, which are skewed and zero-inflated
(most customers with 0 returns, 0 reviews), the silhouette, Calinski-Harabasz and
Davies-Bouldin favour ``k = 2`` even when the traits are independent, and when some
groups sit far apart (prospects and buyers) they stop at that first split. On the
demo retailer, whose six planted groups k-means recovers at k = 6, Calinski-Harabasz
and Davies-Bouldin are best at k = 2 and the silhouette ranges from 0.18 to 0.21
over k = 2 to 10; in earlier trials, the criteria measured against a reference
sample without structure (the gap statistic's idea) swung between 3, 5, 6, 7 and 9
from one reference draw to the next. Stability separates the candidates clearly:
every cluster at 0.99 for k = 6, while for k = 7 one falls to between 0.21 and 0.83
depending on the seed. The table keeps all the values, so that the choice can be
checked and overruled with an explicit ``k``.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.5, 0.4, 0.3],
...                       "min_jaccard": [0.99, 0.93, 0.55]})
>>> choice = choose_k(table)
>>> choice.k
3
>>> print(choice.reason["en"])
k = 3: the most clusters that all come back in bootstrap resamples (lowest mean Jaccard 0.93, at least 0.85); with k = 4 one falls to 0.55.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from cible.models.clustering.methods import MethodSettings, Partition, partitions
from cible.models.clustering.stability import compare_resamples

#: Lowest mean Jaccard of a cluster for its ``k`` to count as stable.
STABLE_JACCARD = 0.85

#: Criterion column -> (higher is better, English name, French name).
CRITERIA = {
    "silhouette": (True, "silhouette", "silhouette"),
    "calinski_harabasz": (True, "Calinski-Harabasz", "Calinski-Harabasz"),
    "davies_bouldin": (False, "Davies-Bouldin", "Davies-Bouldin"),
    "bic": (False, "BIC", "BIC"),
}


@dataclass(frozen=True)
class KSelection:
    """The candidates' scores and the chosen number of clusters.

    Attributes
    ----------
    table : DataFrame
        One row per candidate: ``k``, ``clusters`` (non-empty ones on the sample; a
        mixture can leave components empty, and such a candidate is never chosen
        before a full one), ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``, ``bic`` (``gmm``), ``min_jaccard`` and ``mean_jaccard``
        (lowest and mean cluster stability), ``ari`` (mean adjusted Rand index of the
        resamples), ``stable``, the criteria's ranks, ``rank_sum`` and ``chosen``.
    k : int
        The chosen number of clusters.
    reason : Mapping
        Why, in a sentence: ``{"en": ..., "fr": ...}``.
    """

    table: pd.DataFrame
    k: int
    reason: Mapping[str, str]


def select_k(
    x: np.ndarray,
    found: Mapping[int, Partition],
    settings: MethodSettings,
    rng: np.random.Generator,
    *,
    silhouette_size: int = 10_000,
    n_bootstrap: int = 5,
    bootstrap_size: int = 5_000,
) -> KSelection:
    """Score every partition in ``found`` and choose one (rule in the module docstring).

    Parameters
    ----------
    x : ndarray
        The preprocessed sample the partitions were learned from.
    found : mapping
        Candidate ``k`` -> its partition.
    settings : MethodSettings
        How to cluster the resamples (the same method).
    rng : Generator
        Source of the subsamples and resamples.
    silhouette_size : int, default 10_000
        Rows the silhouette is computed on.
    n_bootstrap : int, default 5
        Resamples of the stability check; 0 leaves the choice to the criteria.
    bootstrap_size : int, default 5_000
        Rows the resamples are drawn from.
    """
    ks = sorted(found)
    sampled = _rows(x.shape[0], silhouette_size, rng)
    records = []
    for k in ks:
        partition = found[k]
        labels = partition.raw_assign(x)
        record: dict[str, float] = {
            "k": k,
            "clusters": np.unique(labels).size,
            **score_partition(x, labels, sampled),
        }
        if partition.mixture is not None:
            record["bic"] = float(partition.mixture.bic(x))
        records.append(record)
    table = pd.DataFrame(records)
    if len(ks) > 1 and n_bootstrap > 0:
        drawn = x[_rows(x.shape[0], bootstrap_size, rng)]
        # As many starts as the fit itself: with fewer, a resample's k-means can stop
        # in a poor local optimum and make a real cluster look unstable (on the demo,
        # three starts let k = 6 fall to 0.75 for one seed out of eight).
        stability = compare_resamples(
            {k: found[k].raw_assign(drawn) for k in ks},
            lambda rows: {
                k: p.raw_assign(drawn[rows])
                for k, p in partitions(drawn[rows], ks, settings, rng).items()
            },
            n_bootstrap,
            rng,
        )
        table["min_jaccard"] = [float(stability[k].jaccard.min()) for k in ks]
        table["mean_jaccard"] = [float(stability[k].jaccard.mean()) for k in ks]
        table["ari"] = [stability[k].ari for k in ks]
    return choose_k(table)


def _rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


def score_partition(x: np.ndarray, labels: np.ndarray, sampled: np.ndarray) -> dict[str, float]:
    """Silhouette (on the rows ``sampled``), Calinski-Harabasz and Davies-Bouldin.

    A partition with a single non-empty cluster scores NaN.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> round(score_partition(x, np.array([0, 0, 1, 1]), np.arange(4))["silhouette"], 3)
    0.98
    """
    if np.unique(labels).size < 2:
        return dict.fromkeys(("silhouette", "calinski_harabasz", "davies_bouldin"), np.nan)
    some = labels[sampled]
    return {
        "silhouette": float(silhouette_score(x[sampled], some))
        if np.unique(some).size > 1
        else np.nan,
        "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
        "davies_bouldin": float(davies_bouldin_score(x, labels)),
    }


def choose_k(table: pd.DataFrame) -> KSelection:
    """Apply the rule to ``table``: columns ``k``, any of :data:`CRITERIA`, ``min_jaccard``.

    Without ``min_jaccard`` (or with no stable candidate) the criteria's rank sum
    decides; a criterion NaN for every candidate takes no part, and a candidate NaN on
    a criterion ranks last on it.
    """
    table = table.sort_values("k").reset_index(drop=True)
    used = [c for c in CRITERIA if c in table and table[c].notna().any()]
    for criterion in used:
        higher = CRITERIA[criterion][0]
        table[f"rank_{criterion}"] = (
            table[criterion]
            .rank(ascending=not higher, method="min", na_option="bottom")
            .astype(int)
        )
    table["rank_sum"] = table[[f"rank_{c}" for c in used]].sum(axis=1) if used else 0
    # A mixture can leave components empty: such a candidate has fewer clusters than k.
    full = table["clusters"] == table["k"] if "clusters" in table else True
    table["full"] = full
    if "min_jaccard" in table:
        table["stable"] = (table["min_jaccard"] >= STABLE_JACCARD) & table["full"]
    stable = table.index[table["stable"]] if "stable" in table else pd.Index([])
    if len(stable):
        best = int(stable.max())
        reason = _stable_reason(table, best)
    else:
        table["_last"] = ~table["full"]
        best = int(table.sort_values(["_last", "rank_sum", "k"]).index[0])
        table = table.drop(columns="_last")
        reason = _rank_reason(table, best, used)
    table["chosen"] = table.index == best
    return KSelection(table, int(table["k"].to_numpy()[best]), reason)


def _stable_reason(table: pd.DataFrame, best: int) -> dict[str, str]:
    k = int(table["k"].to_numpy()[best])
    lowest = float(table["min_jaccard"].to_numpy()[best])
    english = (
        f"k = {k}: the most clusters that all come back in bootstrap resamples "
        f"(lowest mean Jaccard {lowest:.2f}, at least {STABLE_JACCARD})"
    )
    french = (
        f"k = {k} : le plus grand nombre de groupes qui se retrouvent tous dans les "
        f"rééchantillonnages bootstrap (Jaccard moyen le plus bas {_fr(lowest)}, "
        f"au moins {_fr(STABLE_JACCARD)})"
    )
    if best + 1 < len(table):
        k_next = int(table["k"].to_numpy()[best + 1])
        falls = float(table["min_jaccard"].to_numpy()[best + 1])
        english += f"; with k = {k_next} one falls to {falls:.2f}"
        french += f" ; avec k = {k_next}, l'un d'eux tombe à {_fr(falls)}"
    return {"en": english + ".", "fr": french + "."}


def _rank_reason(table: pd.DataFrame, best: int, used: Sequence[str]) -> dict[str, str]:
    low, high = int(table["k"].min()), int(table["k"].max())
    k = int(table["k"].to_numpy()[best])
    if len(table) == 1:
        return {
            "en": f"k = {k}: the only candidate.",
            "fr": f"k = {k} : seul nombre de groupes essayé.",
        }
    ranks = [(c, int(table[f"rank_{c}"].to_numpy()[best])) for c in used]
    english = ", ".join(f"{CRITERIA[c][1]} {_ordinal_en(r)}" for c, r in ranks)
    french = ", ".join(f"{CRITERIA[c][2]} {_ordinal_fr(r)}" for c, r in ranks)
    texts = {
        "en": f"k = {k}: best sum of ranks over {len(used)} criteria ({english}) "
        f"among k = {low} to {high}.",
        "fr": f"k = {k} : meilleure somme des rangs sur {len(used)} critères ({french}) "
        f"parmi k = {low} à {high}.",
    }
    if "min_jaccard" in table:
        most = float(table["min_jaccard"].max())
        texts["en"] = (
            f"No k gave only stable clusters (the best lowest mean Jaccard is "
            f"{most:.2f}, under {STABLE_JACCARD}). " + texts["en"]
        )
        texts["fr"] = (
            f"Aucun k ne donne que des groupes stables (meilleur Jaccard moyen le plus "
            f"bas : {_fr(most)}, sous {_fr(STABLE_JACCARD)}). " + texts["fr"]
        )
    return texts


def _fr(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _ordinal_en(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def _ordinal_fr(rank: int) -> str:
    return "1er" if rank == 1 else f"{rank}e"
