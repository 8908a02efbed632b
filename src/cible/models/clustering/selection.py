"""Choosing the number of clusters: criteria measured against a structureless reference.

Each candidate ``k`` is scored by

- the **silhouette** (Rousseeuw 1987), higher is better;
- the **Calinski-Harabasz** index (1974), between- over within-cluster dispersion,
  higher is better;
- the **Davies-Bouldin** index (1979), mean similarity of each cluster to its
  closest one, lower is better;
- for the ``gmm`` method only, the **BIC** of the mixture (Schwarz 1978) on the whole
  sample, lower is better: the other methods fit no likelihood, and a Gaussian
  mixture fitted beside them would judge another model.

The first three are computed on a random subsample (``silhouette_size`` customers,
10,000 by default: the silhouette needs every pairwise distance) **and on reference
samples** of the same size where each column is shuffled on its own: the same
distribution of every trait, no structure between traits (the permutation
reference of the gap statistic, Tibshirani, Walther & Hastie 2001). The reference is
clustered by the same method for every ``k``, with one start. This matters for customer traits:
skewed and zero-inflated columns (most customers with 0 returns, 0 reviews) make
the silhouette high at ``k = 2`` even when the traits are independent, and
Calinski-Harabasz falls with ``k`` on such data whatever the groups. What says that
``k`` clusters are real is how much better the data do than the reference:

- ``silhouette_gain`` = silhouette - reference silhouette;
- ``calinski_harabasz_ratio`` = index / reference index;
- ``davies_bouldin_ratio`` = index / reference index (lower is better).

**The rule**: each of these (and the BIC for ``gmm``) ranks the candidates, 1 the
best; the ``k`` with the smallest sum of ranks wins, the smaller ``k`` on a tie
(fewer segments are easier to act on). A sum of ranks lets a ``k`` that every
criterion finds good beat one that a single criterion finds best, and ignores their
scales, which are not comparable. The table keeps every raw value, so that the
choice can be checked and overruled with an explicit ``k``.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"k": [2, 3, 4], "silhouette_gain": [0.05, 0.12, 0.08],
...                       "calinski_harabasz_ratio": [1.9, 2.6, 2.4],
...                       "davies_bouldin_ratio": [0.7, 0.6, 0.65]})
>>> choice = choose_k(table)
>>> choice.k
3
>>> print(choice.reason["en"])
k = 3: best sum of ranks over 3 criteria compared with a reference without structure (silhouette gain 1st, Calinski-Harabasz ratio 1st, Davies-Bouldin ratio 1st) among k = 2 to 4.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from cible.models.clustering.methods import MethodSettings, Partition, partitions

#: Ranked column -> (higher is better, English name, French name).
CRITERIA = {
    "silhouette_gain": (True, "silhouette gain", "gain de silhouette"),
    "calinski_harabasz_ratio": (True, "Calinski-Harabasz ratio", "rapport de Calinski-Harabasz"),
    "davies_bouldin_ratio": (False, "Davies-Bouldin ratio", "rapport de Davies-Bouldin"),
    "bic": (False, "BIC", "BIC"),
}
_RAW = ("silhouette", "calinski_harabasz", "davies_bouldin")


@dataclass(frozen=True)
class KSelection:
    """The candidates' scores and the chosen number of clusters.

    Attributes
    ----------
    table : DataFrame
        One row per candidate: ``k``; ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin`` and their ``*_reference`` values; the compared criteria
        (:data:`CRITERIA`), each one's rank (``rank_*``), ``rank_sum`` and ``chosen``.
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
    size: int = 10_000,
    n_references: int = 2,
) -> KSelection:
    """Score every partition in ``found`` and choose one (rule in the module docstring).

    Parameters
    ----------
    x : ndarray
        The preprocessed sample the partitions were learned from.
    found : mapping
        Candidate ``k`` -> its partition.
    settings : MethodSettings
        How to cluster the reference samples (the same method).
    rng : Generator
        Source of the subsample and of the shuffles.
    size : int, default 10_000
        Rows of the subsample and of each reference.
    n_references : int, default 2
        Reference samples averaged.
    """
    rows = np.sort(rng.choice(x.shape[0], size, replace=False)) if x.shape[0] > size else None
    subsample = x if rows is None else x[rows]
    ks = sorted(found)
    # One start suffices on a sample without structure: it has no better optimum to find.
    single = replace(settings, n_init=1)
    reference_scores: list[dict[int, dict[str, float]]] = []
    if len(ks) > 1:
        for _ in range(n_references):
            shuffled = _shuffled(subsample, rng)
            learned = partitions(shuffled, ks, single, rng)
            reference_scores.append(
                {k: score_partition(shuffled, p.raw_assign(shuffled)) for k, p in learned.items()}
            )
    records = []
    for k in ks:
        partition = found[k]
        record: dict[str, float] = {
            "k": k,
            **score_partition(subsample, partition.raw_assign(subsample)),
        }
        for name in _RAW:
            values = [scores[k][name] for scores in reference_scores if k in scores]
            record[f"{name}_reference"] = float(np.mean(values)) if values else np.nan
        if partition.mixture is not None:
            record["bic"] = float(partition.mixture.bic(x))
        records.append(record)
    table = pd.DataFrame(records)
    table["silhouette_gain"] = table["silhouette"] - table["silhouette_reference"]
    table["calinski_harabasz_ratio"] = (
        table["calinski_harabasz"] / table["calinski_harabasz_reference"]
    )
    table["davies_bouldin_ratio"] = table["davies_bouldin"] / table["davies_bouldin_reference"]
    return choose_k(table)


def _shuffled(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each column permuted on its own: same marginals, no joint structure."""
    shuffled: np.ndarray = rng.permuted(x, axis=0)
    return shuffled


def score_partition(x: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of ``labels`` on ``x``.

    A partition with a single non-empty cluster scores NaN everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> round(score_partition(x, np.array([0, 0, 1, 1]))["silhouette"], 3)
    0.98
    """
    if np.unique(labels).size < 2:
        return dict.fromkeys(_RAW, np.nan)
    return {
        "silhouette": float(silhouette_score(x, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
        "davies_bouldin": float(davies_bouldin_score(x, labels)),
    }


def choose_k(table: pd.DataFrame) -> KSelection:
    """Apply the rank-sum rule to ``table`` (columns ``k`` and any of :data:`CRITERIA`).

    Criteria absent from ``table``, or NaN for every candidate, take no part; a
    candidate NaN on a criterion ranks last on it.
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
    best = int(table.sort_values(["rank_sum", "k"]).index[0])
    table["chosen"] = table.index == best
    return KSelection(table, int(table["k"].to_numpy()[best]), _reason(table, best, used))


def _reason(table: pd.DataFrame, best: int, used: Sequence[str]) -> dict[str, str]:
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
    return {
        "en": f"k = {k}: best sum of ranks over {len(used)} criteria compared with a "
        f"reference without structure ({english}) among k = {low} to {high}.",
        "fr": f"k = {k} : meilleure somme des rangs sur {len(used)} critères comparés à "
        f"une référence sans structure ({french}) parmi k = {low} à {high}.",
    }


def _ordinal_en(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def _ordinal_fr(rank: int) -> str:
    return "1er" if rank == 1 else f"{rank}e"
