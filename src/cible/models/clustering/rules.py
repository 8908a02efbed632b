"""A cluster as a readable rule: a small surrogate decision tree, its conditions and fidelity.

For each cluster a decision tree of depth 3 learns "in this cluster or not" from the
traits the clustering read, on their *raw* values so that thresholds are the
numbers a marketer knows (4 orders, 10 %), with labels as yes/no columns
(``top_channel = store``). Classes are balanced so that a small cluster still gets
leaves of its own. Of the tree's leaves, the one with the best F1 score for the
cluster becomes the rule: the conditions on the path from the root, merged per trait
(``x >= 2 and x >= 4`` reads ``x >= 4``), with thresholds rounded (whole numbers for
counts, two decimals for shares, three significant digits otherwise).

The rule is then scored as written, with the semantics of the segment language
(a comparison with a missing value is false, unless the condition says
"or unknown"): its **precision** (fidelity) is the share of customers matching it
who are in the cluster, its **coverage** the share of the cluster it matches. These
are the numbers the segment made from it with :func:`to_definition` would show.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from cible.features import get_trait
>>> frame = pd.DataFrame({"frequency": [1, 2, 3, 5, 6, 8] * 10,
...                       "discount_share": [0.5, 0.0, 0.7, 0.0, 0.05, 0.6] * 10})
>>> labels = np.array([0, 0, 0, 1, 1, 1] * 10)
>>> traits = [get_trait("frequency"), get_trait("discount_share")]
>>> rule = explain_clusters(frame, labels, traits, random_state=0)[1]
>>> rule.text["en"]
'frequency >= 5: 100% of matching customers are in this cluster, covers 100%'
>>> to_definition(rule, "cluster-2", {"en": "Regulars", "fr": "Réguliers"})["where"]
{'all': [{'trait': 'frequency', 'op': '>=', 'value': 5}]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from babel.numbers import format_percent
from sklearn.tree import DecisionTreeClassifier

from cible.features import Trait
from cible.models.clustering.wording import format_value
from cible.models.errors import ModelDataError

#: Depth of the surrogate tree: at most three conditions per rule.
MAX_DEPTH = 3
#: Smallest leaf, as a share of the customers the tree learns from.
MIN_LEAF_SHARE = 0.01

_UNKNOWN = {"en": " (or unknown)", "fr": " (ou inconnu)"}
_AND = {"en": " and ", "fr": " et "}
_NULL = {
    "is_null": {"en": "unknown", "fr": "inconnu"},
    "not_null": {"en": "known", "fr": "connu"},
}


@dataclass(frozen=True)
class Condition:
    """One comparison of a rule, in the segment language's terms.

    Attributes
    ----------
    trait : str
        Trait name.
    op : str
        ``<`` or ``>=`` for a number, ``=`` or ``!=`` for a label, ``is_null`` or
        ``not_null`` for the split scikit-learn makes between customers with and
        without a value.
    value : int, float, str or None
        Threshold or label value; None for ``is_null`` and ``not_null``.
    or_missing : bool
        Customers without a value match too.
    """

    trait: str
    op: str
    value: int | float | str | None
    or_missing: bool = False

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` satisfy the condition."""
        column = frame[self.trait]
        missing = column.isna().to_numpy()
        if self.op in ("is_null", "not_null"):
            result_null: np.ndarray = missing if self.op == "is_null" else ~missing
            return result_null
        if self.op in ("=", "!="):
            labels = column.astype("object").to_numpy()
            hit = (labels == self.value) if self.op == "=" else (labels != self.value)
        else:
            values = column.to_numpy(np.float64, na_value=np.nan)
            threshold = float(self.value)  # type: ignore[arg-type]
            with np.errstate(invalid="ignore"):
                hit = values < threshold if self.op == "<" else values >= threshold
        result: np.ndarray = np.where(missing, self.or_missing, hit)
        return result

    def describe(self, trait: Trait, language: str) -> str:
        """The condition as text: ``discount_share < 10%``."""
        if self.op in ("is_null", "not_null") or self.value is None:
            return f"{self.trait} {_NULL[self.op][language]}"
        if isinstance(self.value, str):
            shown = self.value
        else:
            shown = format_value(trait, float(self.value), language)
        return f"{self.trait} {self.op} {shown}{_UNKNOWN[language] if self.or_missing else ''}"


@dataclass(frozen=True)
class ClusterRule:
    """The rule that best describes one cluster, and how well it does.

    Attributes
    ----------
    cluster : int
        Cluster label.
    conditions : tuple of Condition
        All must hold.
    precision : float
        Fidelity: share of the customers matching the rule who are in the cluster.
    coverage : float
        Share of the cluster's customers the rule matches.
    matched : int
        Customers matching the rule.
    size : int
        Customers in the cluster.
    text : Mapping
        The rule and its numbers in a sentence, ``{"en": ..., "fr": ...}``.
    """

    cluster: int
    conditions: tuple[Condition, ...]
    precision: float
    coverage: float
    matched: int
    size: int
    text: Mapping[str, str]


def explain_clusters(
    frame: pd.DataFrame,
    labels: np.ndarray,
    traits: Sequence[Trait],
    *,
    levels: Mapping[str, Sequence[str]] | None = None,
    fit_rows: np.ndarray | None = None,
    random_state: int | None = None,
) -> dict[int, ClusterRule]:
    """One rule per cluster, from a surrogate decision tree (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        Traits of the clustered customers, in the order of ``labels``.
    labels : ndarray of int
        Cluster of each row.
    traits : sequence of Trait
        Traits the rules may use: numbers as they are, labels (``string``) through
        the values in ``levels``.
    levels : mapping, optional
        Label trait -> values to test; default every value found.
    fit_rows : ndarray of int, optional
        Rows the trees learn from (a sample of a large base); default all. The
        precision and coverage are always computed on every row.
    random_state : int, optional
        Seed of the trees' tie-breaking.

    Returns
    -------
    dict
        Cluster label -> :class:`ClusterRule`.
    """
    by_name = {t.name: t for t in traits}
    rows = np.arange(len(frame)) if fit_rows is None else np.asarray(fit_rows)
    labels = np.asarray(labels)
    sample = frame.iloc[rows]
    design, columns = _design(sample, traits, levels or {})
    missing = {name: bool(frame[name].isna().any()) for name in by_name}
    rules = {}
    for cluster in np.unique(labels):
        target = labels[rows] == cluster
        tree = DecisionTreeClassifier(
            max_depth=MAX_DEPTH,
            min_samples_leaf=max(1, int(MIN_LEAF_SHARE * rows.size)),
            class_weight="balanced",
            random_state=random_state,
        ).fit(design, target)
        candidates = [
            _merge(_path_conditions(tree, path, columns, by_name, missing))
            for path in _leaf_paths(tree)
        ]
        # Chosen on the learning rows, scored below on every row.
        best = max(candidates, key=lambda c: _f1(c, sample, target))
        rules[int(cluster)] = _score(int(cluster), best, frame, labels == cluster, by_name)
    return rules


def _design(
    frame: pd.DataFrame, traits: Sequence[Trait], levels: Mapping[str, Sequence[str]]
) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
    """The tree's input: numbers raw (NaN kept), labels as 0/1 columns per value."""
    blocks: list[np.ndarray] = []
    columns: list[tuple[str, str | None]] = []
    for trait in traits:
        column = frame[trait.name]
        if trait.dtype == "string":
            values = levels.get(trait.name) or sorted(column.dropna().astype(str).unique())
            labels = column.astype("object").to_numpy()
            for level in values:
                blocks.append((labels == level).astype(np.float64))
                columns.append((trait.name, str(level)))
        else:
            blocks.append(column.to_numpy(np.float64, na_value=np.nan))
            columns.append((trait.name, None))
    return np.column_stack(blocks), columns


def _leaf_paths(tree: DecisionTreeClassifier) -> list[list[tuple[int, bool]]]:
    """Each leaf's path from the root as ``(node, went_left)`` steps."""
    inner = tree.tree_
    paths: list[list[tuple[int, bool]]] = []
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = inner.children_left[node], inner.children_right[node]
        if left == right:
            paths.append(path)
            continue
        stack.append((right, [*path, (node, False)]))
        stack.append((left, [*path, (node, True)]))
    return paths


def _path_conditions(
    tree: DecisionTreeClassifier,
    path: list[tuple[int, bool]],
    columns: list[tuple[str, str | None]],
    traits: Mapping[str, Trait],
    missing: Mapping[str, bool],
) -> list[Condition]:
    inner = tree.tree_
    found = []
    for node, went_left in path:
        name, level = columns[inner.feature[node]]
        # scikit-learn sends a missing value to one side of each split.
        to_left = bool(inner.missing_go_to_left[node])
        if level is not None:
            # A customer without a label has 0 in every value column: it goes left.
            op = "!=" if went_left else "="
            found.append(Condition(name, op, level, went_left and missing[name]))
            continue
        threshold = float(inner.threshold[node])
        if math.isinf(threshold):
            # The split scikit-learn makes between known values (left) and missing ones.
            found.append(Condition(name, "not_null" if went_left else "is_null", None))
            continue
        value = _round(threshold, traits[name])
        or_missing = missing[name] and to_left == went_left
        found.append(Condition(name, "<" if went_left else ">=", value, or_missing))
    return found


def _round(threshold: float, trait: Trait) -> int | float:
    """A readable threshold: ``x <= 3.5`` on a count is ``x < 4``."""
    if trait.dtype == "int64":
        return math.floor(threshold) + 1
    if trait.unit == "share":
        return round(threshold, 2)
    if threshold == 0:
        return 0.0
    digits = 2 - math.floor(math.log10(abs(threshold)))
    return float(round(threshold, digits))


def _merge(conditions: list[Condition]) -> tuple[Condition, ...]:
    """One lower and one upper bound per number; drop what another condition implies.

    ``x >= 2 and x >= 4`` is ``x >= 4``; an ``=`` on a label makes its ``!=`` moot;
    ``not_null`` makes "or unknown" on the same trait moot.
    """
    equal = {c.trait for c in conditions if c.op == "="}
    known = {c.trait for c in conditions if c.op == "not_null"}
    merged: dict[tuple[str, str, object], Condition] = {}
    for c in conditions:
        if c.op == "!=" and c.trait in equal:
            continue
        if c.or_missing and c.trait in known:
            c = Condition(c.trait, c.op, c.value, False)
        key = (c.trait, c.op, None if c.op in ("<", ">=") else c.value)
        kept = merged.get(key)
        if kept is None or c.op not in ("<", ">="):
            merged.setdefault(key, c)
            continue
        pair = (float(kept.value), float(c.value))  # type: ignore[arg-type]
        tighter = kept.value if (min(pair) if c.op == "<" else max(pair)) == pair[0] else c.value
        merged[key] = Condition(c.trait, c.op, tighter, kept.or_missing and c.or_missing)
    return tuple(merged.values())


def _matches(conditions: Sequence[Condition], frame: pd.DataFrame) -> np.ndarray:
    hit = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        hit &= condition.matches(frame)
    return hit


def _f1(conditions: Sequence[Condition], frame: pd.DataFrame, inside: np.ndarray) -> float:
    hit = _matches(conditions, frame)
    both = float(np.sum(hit & inside))
    return 2 * both / (hit.sum() + inside.sum()) if both else 0.0


def _score(
    cluster: int,
    conditions: tuple[Condition, ...],
    frame: pd.DataFrame,
    inside: np.ndarray,
    traits: Mapping[str, Trait],
) -> ClusterRule:
    hit = _matches(conditions, frame)
    matched, size = int(hit.sum()), int(inside.sum())
    both = int(np.sum(hit & inside))
    precision = both / matched if matched else 0.0
    coverage = both / size if size else 0.0
    texts = {}
    for language in ("en", "fr"):
        rule = _AND[language].join(c.describe(traits[c.trait], language) for c in conditions)
        rule = rule or ("every customer" if language == "en" else "tous les clients")
        p, c = (str(format_percent(v, locale=language)) for v in (precision, coverage))
        texts[language] = (
            f"{rule}: {p} of matching customers are in this cluster, covers {c}"
            if language == "en"
            else f"{rule} : {p} des clients correspondants sont dans ce groupe, qui en couvre {c}"
        )
    return ClusterRule(cluster, conditions, precision, coverage, matched, size, texts)


def to_definition(
    rule: ClusterRule, segment_id: str, name: str | Mapping[str, str]
) -> dict[str, Any]:
    """A rule segment, in the segment language, that selects the customers of ``rule``.

    Parameters
    ----------
    rule : ClusterRule
        From :func:`explain_clusters`.
    segment_id : str
        Id of the new segment (lower case, digits, hyphens).
    name : str or mapping
        Its name, plain or ``{"en": ..., "fr": ...}``.

    Returns
    -------
    dict
        ``{"id", "name", "description", "where": {"all": [...]}}``, ready for
        ``cible.segments.definition.parse_definition``; the description is the rule's
        sentence with its precision and coverage.

    Raises
    ------
    ModelDataError
        When the rule has no condition (the tree found no split for the cluster).
    """
    if not rule.conditions:
        raise ModelDataError(
            f"cluster {rule.cluster} has no rule: no trait separates it from the others, "
            "so no rule segment can select it."
        )
    conditions = []
    for condition in rule.conditions:
        test: dict[str, Any] = {"trait": condition.trait, "op": condition.op}
        if condition.value is not None:
            test["value"] = _plain(condition.value)
        if condition.or_missing:
            conditions.append({"any": [test, {"trait": condition.trait, "op": "is_null"}]})
        else:
            conditions.append(test)
    return {
        "id": segment_id,
        "name": name if isinstance(name, str) else dict(name),
        "description": dict(rule.text),
        "where": {"all": conditions},
    }


def _plain(value: int | float | str) -> int | float | str:
    """A JSON-ready Python value (no numpy scalar)."""
    if isinstance(value, str):
        return value
    return int(value) if isinstance(value, int | np.integer) else float(value)
