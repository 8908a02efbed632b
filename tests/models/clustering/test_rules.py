"""Surrogate rules: readable conditions, fidelity checked by hand, segment definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.features import TRAITS, get_trait
from cible.models.clustering import Condition, explain_clusters, to_definition
from cible.segments.definition import Vocabulary, parse_definition

VOCABULARY = Vocabulary({t.name: t.dtype for t in TRAITS}, FieldRegistry(WorkspaceConfig()))
TRAITS_USED = [get_trait(n) for n in ("frequency", "discount_share", "recency_days", "top_channel")]


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 1_200
    labels = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": np.where(labels == 1, rng.poisson(9, n), rng.poisson(2, n)),
            "discount_share": np.where(labels == 2, rng.uniform(0.4, 1, n), rng.uniform(0, 0.5, n)),
            "recency_days": np.where(labels == 0, rng.uniform(200, 600, n), rng.uniform(1, 250, n)),
            "top_channel": np.where(labels == 2, "web", rng.choice(["store", "app", "web"], n)),
        }
    )
    frame.loc[rng.random(n) < 0.1, "recency_days"] = np.nan
    frame.loc[rng.random(n) < 0.05, "top_channel"] = None
    return frame, labels


def _by_hand(frame: pd.DataFrame, conditions: tuple[Condition, ...]) -> pd.Series:
    """The rule evaluated with plain pandas, a comparison with a missing value being false."""
    hit = pd.Series(True, index=frame.index)
    for c in conditions:
        column = frame[c.trait]
        if c.op == "<":
            test = column < c.value
        elif c.op == ">=":
            test = column >= c.value
        elif c.op == "=":
            test = column == c.value
        elif c.op == "!=":
            test = column.notna() & (column != c.value)
        elif c.op == "is_null":
            test = column.isna()
        else:
            test = column.notna()
        if c.or_missing:
            test = test | column.isna()
        hit &= test.fillna(False).astype(bool)
    return hit


def test_fidelity_and_coverage_match_a_pandas_count(data) -> None:
    frame, labels = data
    rules = explain_clusters(frame, labels, TRAITS_USED, random_state=0)
    assert sorted(rules) == [0, 1, 2]
    for cluster, rule in rules.items():
        hit = _by_hand(frame, rule.conditions).to_numpy()
        inside = labels == cluster
        assert rule.matched == hit.sum()
        assert rule.size == inside.sum()
        assert rule.precision == pytest.approx((hit & inside).sum() / hit.sum())
        assert rule.coverage == pytest.approx((hit & inside).sum() / inside.sum())
        assert 1 <= len(rule.conditions) <= 3
    assert rules[1].precision > 0.8 and rules[1].coverage > 0.8


def test_thresholds_read_as_a_marketer_expects(data) -> None:
    frame, labels = data
    rules = explain_clusters(frame, labels, TRAITS_USED, random_state=0)
    for rule in rules.values():
        for condition in rule.conditions:
            if condition.trait == "frequency":
                assert isinstance(condition.value, int)
            if condition.trait == "discount_share":
                assert condition.value == round(condition.value, 2)
    rule = rules[1]
    assert rule.text["en"].endswith(
        f"{round(rule.precision * 100)}% of matching customers are in this cluster, "
        f"covers {round(rule.coverage * 100)}%"
    )
    assert " des clients correspondants sont dans ce groupe, qui en couvre " in rule.text["fr"]


def test_rules_learned_on_a_sample_are_scored_on_everyone(data) -> None:
    frame, labels = data
    rows = np.arange(0, len(frame), 3)
    rules = explain_clusters(frame, labels, TRAITS_USED, fit_rows=rows, random_state=0)
    hit = _by_hand(frame, rules[1].conditions).to_numpy()
    assert rules[1].matched == hit.sum()


def test_condition_texts_in_both_languages() -> None:
    share = Condition("discount_share", "<", 0.1)
    assert share.describe(get_trait("discount_share"), "en") == "discount_share < 10%"
    assert share.describe(get_trait("discount_share"), "fr") == "discount_share < 10\xa0%"
    days = Condition("recency_days", ">=", 90.0, or_missing=True)
    assert days.describe(get_trait("recency_days"), "en") == "recency_days >= 90 days (or unknown)"
    assert days.describe(get_trait("recency_days"), "fr") == "recency_days >= 90 jours (ou inconnu)"
    label = Condition("top_channel", "!=", "web")
    assert label.describe(get_trait("top_channel"), "fr") == "top_channel != web"
    unknown = Condition("recency_days", "is_null", None)
    assert unknown.describe(get_trait("recency_days"), "en") == "recency_days unknown"


def test_a_rule_becomes_a_segment_definition(data) -> None:
    frame, labels = data
    rules = explain_clusters(frame, labels, TRAITS_USED, random_state=0)
    for cluster, rule in rules.items():
        data_ = to_definition(rule, f"cluster-{cluster}", {"en": "Regulars", "fr": "Réguliers"})
        definition = parse_definition(data_, VOCABULARY)
        assert definition.id == f"cluster-{cluster}"
        assert definition.label("fr") == "Réguliers"
        assert len(data_["where"]["all"]) == len(rule.conditions)
        assert data_["description"] == dict(rule.text)


def test_missing_values_become_an_any_with_is_null() -> None:
    rule_conditions = (
        Condition("recency_days", "<", 30.0, or_missing=True),
        Condition("frequency", ">=", 4),
        Condition("top_channel", "=", "store"),
        Condition("discount_share", "not_null", None),
    )
    from cible.models.clustering.rules import ClusterRule

    rule = ClusterRule(0, rule_conditions, 0.9, 0.8, 10, 11, {"en": "x", "fr": "x"})
    data = to_definition(rule, "lapsed-regulars", "Lapsed regulars")
    assert data["where"]["all"] == [
        {
            "any": [
                {"trait": "recency_days", "op": "<", "value": 30.0},
                {"trait": "recency_days", "op": "is_null"},
            ]
        },
        {"trait": "frequency", "op": ">=", "value": 4},
        {"trait": "top_channel", "op": "=", "value": "store"},
        {"trait": "discount_share", "op": "not_null"},
    ]
    assert parse_definition(data, VOCABULARY).label("en") == "Lapsed regulars"
    frame = pd.DataFrame(
        {
            "recency_days": [10.0, np.nan, 50.0, np.nan],
            "frequency": [5, 5, 5, 1],
            "top_channel": ["store", "store", "store", None],
            "discount_share": [0.1, 0.2, 0.0, np.nan],
        }
    )
    hits = [c.matches(frame) for c in rule_conditions]
    assert np.logical_and.reduce(hits).tolist() == [True, True, False, False]


def test_a_rule_without_condition_is_refused_as_a_segment() -> None:
    from cible.models.clustering.rules import ClusterRule
    from cible.models.errors import ModelDataError

    rule = ClusterRule(3, (), 0.2, 1.0, 50, 10, {"en": "x", "fr": "x"})
    with pytest.raises(ModelDataError, match="cluster 3 has no rule"):
        to_definition(rule, "c", "C")
