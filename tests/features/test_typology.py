"""Typology scores against a pandas reference, and customers whose typology is obvious."""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pydantic
import pytest

from cible import Workspace
from cible.domain.config import TypologySection
from cible.domain.errors import ConfigError
from cible.features.registry import TYPOLOGIES, TYPOLOGY_TRAITS
from cible.features.typology import add_typology
from cible.segments.builtin import typology_inputs

INPUTS = (
    "discount_share",
    "promo_page_share",
    "frequency",
    "tenure_days",
    "recency_days",
    "comparisons_per_order",
    "view_to_purchase_hours",
    "high_tech_share",
    "early_adopter_share",
    "social_shares",
    "reviews_written",
)


def scored(frame: pd.DataFrame, section: TypologySection | None = None) -> pd.DataFrame:
    table = ibis.memtable(frame)
    section = section or TypologySection()
    inputs = typology_inputs(section)
    result: pd.DataFrame = add_typology(table, inputs, min_score=section.min_score).to_pandas()
    return result.set_index("customer_id").loc[frame.customer_id]


# -- the pandas reference ---------------------------------------------------------------


def reference(frame: pd.DataFrame, section: TypologySection) -> pd.DataFrame:
    """Scores and labels straight from the definition, one comparison at a time."""
    buyer = frame.frequency.fillna(0) > 0
    out = pd.DataFrame(index=frame.customer_id)
    for name, weights in typology_inputs(section).items():
        total = pd.Series(0.0, index=frame.index)
        for trait, weight in weights.items():
            values = frame[trait]
            usable = buyer & values.notna()
            pool = values[usable].to_numpy()
            rank = pd.Series(0.0, index=frame.index)
            for i in frame.index[usable]:
                worse = (pool < values[i]) if weight > 0 else (pool > values[i])
                rank[i] = worse.sum() / (len(pool) - 1) if len(pool) > 1 else 0.0
            total += abs(weight) * rank
        score = total / sum(abs(w) for w in weights.values())
        out[f"typology_score_{name}"] = np.where(buyer, score, np.nan)
    labels = []
    for _, row in out.iterrows():
        scores = [row[f"typology_score_{name}"] for name in TYPOLOGIES]
        best = max(scores)
        if math.isnan(best) or best < section.min_score:
            labels.append(None)
        else:
            labels.append(TYPOLOGIES[scores.index(best)])
    out["typology"] = labels
    return out


def labels(column: pd.Series) -> list[str | None]:
    return [value if isinstance(value, str) else None for value in column]


def random_traits(seed: int, size: int = 60) -> pd.DataFrame:
    """Small integer-valued traits, so that ties are frequent; some missing, some prospects."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {name: rng.integers(0, 5, size).astype(float) for name in INPUTS},
    )
    frame["frequency"] = rng.integers(0, 4, size)
    for name in ("promo_page_share", "view_to_purchase_hours", "early_adopter_share"):
        frame.loc[rng.random(size) < 0.3, name] = np.nan
    frame.insert(0, "customer_id", [f"c{i:02d}" for i in range(size)])
    return frame


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("min_score", [0.5, 0.75])
def test_scores_and_labels_match_the_pandas_reference(seed: int, min_score: float):
    frame = random_traits(seed)
    section = TypologySection(min_score=min_score)
    got = scored(frame, section)
    want = reference(frame, section)
    for name in TYPOLOGIES:
        column = f"typology_score_{name}"
        np.testing.assert_allclose(got[column].to_numpy(float), want[column].to_numpy(float))
    assert labels(got.typology) == labels(want.typology)
    assert got.typology.notna().sum() > 0  # the comparison covers real labels


def test_weights_from_the_settings_replace_a_typology_inputs():
    frame = random_traits(2)
    section = TypologySection(
        min_score=0.6, weights={"loyal": {"reviews_written": 1, "recency_days": -3}}
    )
    got = scored(frame, section)
    want = reference(frame, section)
    np.testing.assert_allclose(got.typology_score_loyal.to_numpy(float), want.typology_score_loyal)
    assert typology_inputs(section)["loyal"] == {"reviews_written": 1, "recency_days": -3}


# -- customers whose typology is obvious ---------------------------------------------------

BLAND = {
    "discount_share": 0.3,
    "promo_page_share": 0.1,
    "frequency": 3,
    "tenure_days": 400.0,
    "recency_days": 60.0,
    "comparisons_per_order": 0.5,
    "view_to_purchase_hours": 20.0,
    "high_tech_share": 0.1,
    "early_adopter_share": 0.05,
    "social_shares": 1,
    "reviews_written": 1,
}
OBVIOUS = {
    "value_shopper": {"discount_share": 1.0, "promo_page_share": 0.8},
    "loyal": {"frequency": 40, "tenure_days": 3000.0, "recency_days": 3.0},
    "informed": {"comparisons_per_order": 6.0, "view_to_purchase_hours": 300.0},
    "impulsive": {"view_to_purchase_hours": 0.2, "comparisons_per_order": 0.0},
    "technophile": {"high_tech_share": 0.9, "early_adopter_share": 0.8},
    "social_influencer": {"social_shares": 30, "reviews_written": 12},
}


def obvious_customers() -> pd.DataFrame:
    rows = [{"customer_id": f"bland{i}", **BLAND} for i in range(8)]
    rows += [{"customer_id": name, **BLAND, **changes} for name, changes in OBVIOUS.items()]
    rows.append({"customer_id": "prospect", **BLAND, "frequency": 0, "social_shares": 99})
    return pd.DataFrame(rows)


def test_customers_with_an_obvious_typology_get_it():
    got = scored(obvious_customers())
    for name in TYPOLOGIES:
        assert got.loc[name, "typology"] == name
        assert got.loc[name, f"typology_score_{name}"] == 1.0
    # Like everyone else: nothing stands out, no typology; prospects are not scored.
    assert got.loc[[f"bland{i}" for i in range(8)], "typology"].isna().all()
    assert got.loc["prospect", [t.name for t in TYPOLOGY_TRAITS]].isna().all()


def test_a_score_below_the_minimum_gives_no_typology():
    frame = obvious_customers()
    frame.loc[frame.customer_id == "technophile", "early_adopter_share"] = BLAND[
        "early_adopter_share"
    ]
    got = scored(frame)
    # High-tech share at the top (rank 1), new products like everyone (rank 0): 0.5.
    assert got.loc["technophile", "typology_score_technophile"] == 0.5
    assert pd.isna(got.loc["technophile", "typology"])
    assert scored(frame, TypologySection(min_score=0.5)).loc["technophile", "typology"] == (
        "technophile"
    )


def test_traits_declare_label_and_one_score_per_typology():
    names = [t.name for t in TYPOLOGY_TRAITS]
    assert names == ["typology", *(f"typology_score_{name}" for name in TYPOLOGIES)]
    for trait in TYPOLOGY_TRAITS:
        assert trait.description.endswith(".") and trait.description_fr.endswith(".")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"bargain": {"discount_share": 1}}, r"\[typology.weights.bargain\]: unknown typology"),
        ({"loyal": {"frequncy": 1}}, r"'frequncy' is not a numeric trait"),
        ({"loyal": {"top_channel": 1}}, r"'top_channel' is not a numeric trait"),
    ],
)
def test_bad_weights_are_refused_with_the_setting_named(weights: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        typology_inputs(TypologySection(weights=weights))


def test_workspace_refuses_weights_on_unknown_traits_when_it_opens(tmp_path: Path):
    Workspace.create(tmp_path / "shop").close()
    settings = tmp_path / "shop" / "cible.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "\n[typology.weights.loyal]\nfrequncy = 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"cible.toml: \[typology.weights.loyal\]: 'frequncy'"):
        Workspace.open(tmp_path / "shop")


@pytest.mark.parametrize("weights", [{"loyal": {}}, {"loyal": {"frequency": 0}}])
def test_empty_or_zero_weights_are_refused(weights: dict):
    with pytest.raises(pydantic.ValidationError, match=r"typology\.weights\.loyal"):
        TypologySection(weights=weights)
