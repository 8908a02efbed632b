"""Typologies: six shopper types scored from behaviour, one per buyer at most.

Each typology (value shopper, loyal, informed, impulsive, technophile, social
influencer) reads a few traits with weights (``builtin/typology.yaml``, replaced per
typology by ``[typology.weights.<typology>]`` in ``cible.toml``). Among buyers
(``frequency > 0``), each input is turned into a percentile rank,

    rank = (buyers with a strictly lower value) / (buyers with a value - 1),

or, for a negative weight, with a strictly *higher* value, so that 1 is always "most
typical" and ties get the lower rank: a mass of customers sharing the most common
value (no share, no review) earns nothing from it. A buyer without a value for an
input (no page view, no product view before buying) earns 0 from it: no evidence.
The score of a typology is the weighted mean of its ranks, ``sum(|w| * rank) /
sum(|w|)``, between 0 and 1. A buyer takes the typology with the best score when that
score reaches ``[typology] min_score``, ties going to the first in
:data:`TYPOLOGIES`; prospects have no scores and no typology.

Ranks are relative to the workspace's own buyers, so the scores need no threshold
per trait and mean the same in any currency or catalogue.

Examples
--------
>>> import ibis
>>> from cible.domain.config import TypologySection
>>> traits = ibis.memtable({"customer_id": ["a", "b", "c", "p"], "frequency": [9, 1, 2, 0],
...     "social_shares": [0, 7, 0, 3], "reviews_written": [0, 2, 1, 0]})
>>> section = TypologySection(weights={"social_influencer": {"social_shares": 2,
...     "reviews_written": 1}})
>>> scored = add_typology(traits, section, only=("social_influencer",))
>>> scored.order_by("customer_id").typology.to_pyarrow().to_pylist()
[None, 'social_influencer', None, None]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import TypologySection
from cible.domain.errors import ConfigError
from cible.domain.schema import Category
from cible.features import TRAITS, Trait
from cible.segments.builtin import load_builtin

#: The typologies, in the order that breaks ties.
TYPOLOGIES = (
    "value_shopper",
    "loyal",
    "informed",
    "impulsive",
    "technophile",
    "social_influencer",
)
_NAMES = {
    "value_shopper": ("value shopper", "chasseur de bonnes affaires"),
    "loyal": ("loyal", "fidèle"),
    "informed": ("informed", "réfléchi"),
    "impulsive": ("impulsive", "impulsif"),
    "technophile": ("technophile", "technophile"),
    "social_influencer": ("social influencer", "influenceur"),
}
#: Traits an input may name: the numeric traits of :data:`cible.features.TRAITS`.
INPUT_TRAITS = tuple(t.name for t in TRAITS if t.dtype in ("float64", "int64"))


def _score_trait(name: str) -> Trait:
    english, french = _NAMES[name]
    return Trait(
        f"typology_score_{name}",
        "float64",
        "share",
        Category.BEHAVIOURAL,
        f"Typology score '{english}', 0-1: weighted percentile ranks of its inputs among "
        "buyers (docs/typologies.md).",
        f"Score de typologie « {french} », 0 à 1 : rangs centiles pondérés de ses critères "
        "parmi les acheteurs (docs/typologies.md).",
        label=f"Typology score: {english}",
        label_fr=f"Score de typologie : {french}",
    )


#: Traits a run adds for the typologies: the label, then one score per typology.
TYPOLOGY_TRAITS: tuple[Trait, ...] = (
    Trait(
        "typology",
        "string",
        "",
        Category.BEHAVIOURAL,
        "Typology with the best score, when it reaches [typology] min_score "
        f"({', '.join(TYPOLOGIES)}); empty otherwise.",
        "Typologie au meilleur score, s'il atteint [typology] min_score ; vide sinon.",
        label="Typology",
        label_fr="Typologie",
    ),
    *(_score_trait(name) for name in TYPOLOGIES),
)


def typology_inputs(section: TypologySection) -> dict[str, dict[str, float]]:
    """Each typology's inputs (trait -> weight): the built-in ones, then ``section``'s.

    Raises
    ------
    ConfigError
        When ``[typology.weights]`` names an unknown typology or a trait that is not
        a numeric trait; the message names the setting.

    Examples
    --------
    >>> typology_inputs(TypologySection())["technophile"]
    {'high_tech_share': 1.0, 'early_adopter_share': 1.0}
    """
    inputs = {
        segment.rule["typology"]: {k: float(v) for k, v in segment.rule["inputs"].items()}
        for segment in load_builtin("typology").segments
    }
    for name, weights in section.weights.items():
        if name not in inputs:
            raise ConfigError(
                f"[typology.weights.{name}]: unknown typology; known: {', '.join(TYPOLOGIES)}."
            )
        for trait in weights:
            if trait not in INPUT_TRAITS:
                raise ConfigError(
                    f"[typology.weights.{name}]: {trait!r} is not a numeric "
                    "trait (see docs/traits.md)."
                )
        inputs[name] = dict(weights)
    return inputs


def add_typology(
    traits: Any, section: TypologySection, *, only: tuple[str, ...] = TYPOLOGIES
) -> Any:
    """``traits`` with the :data:`TYPOLOGY_TRAITS` columns added.

    Parameters
    ----------
    traits : ibis.Table
        One row per customer with ``frequency`` and every input trait.
    section : TypologySection
        Weights and minimum score.
    only : tuple of str
        Typologies to score (all by default); the label is chosen among these.

    Returns
    -------
    ibis.Table
        The same rows plus ``typology`` (NULL when no score reaches the minimum, and
        for prospects) and ``typology_score_<name>`` per typology (NULL for
        prospects and for typologies left out).
    """
    inputs = typology_inputs(section)
    needed = sorted({(t, w > 0) for name in only for t, w in inputs[name].items()})
    position = {key: f"_rank_{i}" for i, key in enumerate(needed)}
    narrow = traits.select("customer_id", *sorted({"frequency"} | {t for t, _ in needed}))
    buyer = narrow.frequency.fill_null(0) > 0
    # A window sorts every column it carries, and ranks stacked on one table carry them
    # all: each trait is ranked apart, among its usable buyers only, and joined back.
    ranked = narrow.select("customer_id", "frequency")
    for trait in sorted({t for t, _ in needed}):
        ranks = _percentile_ranks(
            narrow, buyer, trait, {position[key]: key[1] for key in needed if key[0] == trait}
        )
        ranked = ranked.left_join(ranks, ranked.customer_id == ranks._key).drop("_key")
    # Buyers without a value, and prospects, earn nothing from the input.
    ranked = ranked.mutate(
        **{column: ranked[column].fill_null(0.0) for column in position.values()}
    )
    scores: dict[str, Any] = {}
    for name in TYPOLOGIES:
        column = f"typology_score_{name}"
        if name not in only:
            scores[column] = ibis.null(dt.float64)
            continue
        weights = inputs[name]
        total = sum(abs(w) for w in weights.values())
        weighted = [abs(w) * ranked[position[(t, w > 0)]] for t, w in weights.items()]
        scores[column] = ibis.cases(
            (ranked.frequency.fill_null(0) > 0, sum(weighted[1:], weighted[0]) / total),
            else_=ibis.null(dt.float64),
        )
    scored = ranked.mutate(**scores)
    labelled = scored.select(
        _key="customer_id",
        typology=_label(scored, only, section.min_score),
        **{column: scored[column] for column in scores},
    )
    joined = traits.left_join(labelled, traits.customer_id == labelled._key)
    return joined.drop("_key")


def _percentile_ranks(traits: Any, buyer: Any, trait: str, columns: dict[str, bool]) -> Any:
    """Percentile ranks of ``trait`` among the buyers who have a value, keyed by ``_key``.

    ``columns`` maps each rank column to its direction: an ascending rank is the share
    of the other buyers with a strictly lower value, a descending one with a higher one.
    """
    usable = traits.filter(buyer, traits[trait].notnull()).select("customer_id", _value=trait)
    ranks = {
        column: ibis.percent_rank().over(
            ibis.window(order_by=usable._value.asc() if ascending else usable._value.desc())
        )
        for column, ascending in columns.items()
    }
    return usable.select(_key="customer_id", **ranks)


def _label(scored: Any, only: tuple[str, ...], min_score: float) -> Any:
    columns = [scored[f"typology_score_{name}"] for name in only]
    best = ibis.greatest(*columns) if len(columns) > 1 else columns[0]
    # The first typology whose score equals the best: ties go by TYPOLOGIES order.
    pick = ibis.cases(
        *[(column == best, name) for column, name in zip(columns, only, strict=True)],
        else_=ibis.null(dt.string),
    )
    return ibis.cases((best >= min_score, pick), else_=ibis.null(dt.string))
