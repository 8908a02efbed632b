"""Typologies: six shopper types scored from behaviour, one per buyer at most.

Each typology (value shopper, loyal, informed, impulsive, technophile, social
influencer) reads a few traits with weights (``segments/builtin/typology.yaml``, replaced per
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
per trait and mean the same in any currency or catalogue. The built-in inputs are
data the caller hands over (``segments/builtin/typology.yaml``, read by
:func:`cible.segments.builtin.typology_inputs`); the traits this module adds are
declared in :data:`cible.features.registry.TYPOLOGY_TRAITS`.

Examples
--------
>>> import ibis
>>> traits = ibis.memtable({"customer_id": ["a", "b", "c", "p"], "frequency": [9, 1, 2, 0],
...     "social_shares": [0, 7, 0, 3], "reviews_written": [0, 2, 1, 0]})
>>> inputs = {"social_influencer": {"social_shares": 2.0, "reviews_written": 1.0}}
>>> scored = add_typology(traits, inputs, min_score=0.75, only=("social_influencer",))
>>> scored.order_by("customer_id").typology.to_pyarrow().to_pylist()
[None, 'social_influencer', None, None]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import TypologySection
from cible.domain.errors import ConfigError
from cible.features.registry import TRAITS, TYPOLOGIES

#: Traits an input may name: the numeric traits of :data:`cible.features.TRAITS`.
INPUT_TRAITS = tuple(t.name for t in TRAITS if t.dtype in ("float64", "int64"))


def merge_inputs(
    builtin: Mapping[str, Mapping[str, float]], section: TypologySection
) -> dict[str, dict[str, float]]:
    """Each typology's inputs (trait -> weight): ``builtin``'s, replaced by ``section``'s.

    Raises
    ------
    ConfigError
        When ``[typology.weights]`` names an unknown typology or a trait that is not
        a numeric trait; the message names the setting.

    Examples
    --------
    >>> builtin = {"loyal": {"frequency": 1.0, "tenure_days": 1.0}}
    >>> merge_inputs(builtin, TypologySection(weights={"loyal": {"frequency": 2}}))
    {'loyal': {'frequency': 2.0}}
    """
    inputs = {name: dict(weights) for name, weights in builtin.items()}
    for name, weights in section.weights.items():
        if name not in TYPOLOGIES:
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
    traits: Any,
    inputs: Mapping[str, Mapping[str, float]],
    *,
    min_score: float,
    only: tuple[str, ...] = TYPOLOGIES,
) -> Any:
    """``traits`` with the :data:`~cible.features.registry.TYPOLOGY_TRAITS` columns added.

    Parameters
    ----------
    traits : ibis.Table
        One row per customer with ``frequency`` and every input trait.
    inputs : mapping
        Each typology's inputs, trait -> weight (:func:`merge_inputs`); every
        typology of ``only`` needs its own.
    min_score : float
        Best score a buyer needs to get a typology (``[typology] min_score``).
    only : tuple of str
        Typologies to score (all by default); the label is chosen among these.

    Returns
    -------
    ibis.Table
        The same rows plus ``typology`` (NULL when no score reaches the minimum, and
        for prospects) and ``typology_score_<name>`` per typology (NULL for
        prospects and for typologies left out).
    """
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
        typology=_label(scored, only, min_score),
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
