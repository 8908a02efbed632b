"""Persona cards: who the customers of a segment are, and what to do with them.

A card can be drawn for any segment with members in the latest run (built-in, rule
or cluster). Its figures are exact, computed in the database over the members: size,
shares of customers and revenue, average ``clv_12m`` and ``churn_risk`` (None when no
model gave them), the most common sales channel (``top_channel``), the contact
channel most members grant marketing consent for (the current state of the consents
ledger), the weekday and hour of most of their purchases (on the workspace's clock,
``[workspace] timezone``), and their top categories.

What sets the segment apart comes from
:func:`cible.models.clustering.profile.contrast` over the numeric traits (scores that
only restate a segment, RFM and typology scores, are left out); on a base above
:data:`MAX_BASE` customers it reads a uniform random sample of that many. The name is
generated from those traits with the words of ``builtin/persona_words.yaml``, unless
``[personas.names.<segment_id>]`` in ``cible.toml`` gives one. Recommended actions come
from the playbook (:mod:`cible.segments.playbook`).

Examples
--------
Cards compare behaviour, never the scores that merely restate a segment:

>>> names = {t.name for t in CONTRAST_TRAITS}
>>> "discount_share" in names, "typology_score_loyal" in names, "rfm_r" in names
(True, False, False)

With a workspace, ``ws.persona("typology-loyal")`` returns the card of that segment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from babel.dates import get_day_names

from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.features import Trait
from cible.features.clock import local_time
from cible.features.consent import current_consents
from cible.features.orders import is_purchase
from cible.features.registry import TYPOLOGY_TRAITS
from cible.locale.messages import LANGS, text
from cible.models.clustering import TraitContrast, contrast
from cible.segments.catalog import SegmentInfo, Segments
from cible.segments.persona_names import MIN_Z, generated_name
from cible.segments.playbook import Facts, playbook_rules, recommend
from cible.segments.runner import ALL_TRAITS
from cible.store import runs
from cible.store.store import Store

#: Largest base read whole for the comparison; larger ones are sampled to this size.
MAX_BASE = 200_000
#: A trait sets a segment apart when its test value is at least this, in absolute value.
_LEFT_OUT = {"rfm_r", "rfm_f", "rfm_m", *(t.name for t in TYPOLOGY_TRAITS)}
#: Numeric traits a card compares with the base.
CONTRAST_TRAITS: tuple[Trait, ...] = tuple(
    t for t in ALL_TRAITS if t.dtype in ("float64", "int64") and t.name not in _LEFT_OUT
)
NUMERIC_TRAITS = {t.name for t in ALL_TRAITS if t.dtype in ("float64", "int64")}
_LOCALES = {"en": "en_GB", "fr": "fr_FR"}


@dataclass(frozen=True)
class TraitDifference:
    """A trait that sets a persona's segment apart from the whole base."""

    trait: str
    #: For a label trait, the value compared; None for a number.
    level: str | None
    mean_in: float
    mean_base: float
    lift: float | None
    #: Test value: ``|z| > 2`` sets the segment apart.
    z: float
    #: What the trait is, per language.
    description: dict[str, str]
    #: The comparison as a sentence, per language.
    text: dict[str, str]
    #: The trait's name for a reader, per language (never its column name).
    label: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Share:
    """A value and the share of a segment's members holding it."""

    value: str
    share: float


@dataclass(frozen=True)
class PersonaCard:
    """Who the customers of one segment are, in English and French, and what to do.

    Texts are ``{"en": ..., "fr": ...}``; figures are over the segment's current
    members. ``avg_clv_12m`` and ``avg_churn_risk`` are None when not computed.
    Preferred times are on the workspace's clock, ``[workspace] timezone``
    (weekday 0 = Monday).
    """

    segment_id: str
    kind: str
    dimension: str | None
    color: str
    name: dict[str, str]
    #: "generated" from the distinguishing traits, or "chosen" in cible.toml.
    name_source: str
    segment_name: dict[str, str]
    size: int
    customer_share: float
    revenue_share: float
    avg_clv_12m: float | None
    avg_churn_risk: float | None
    traits: list[TraitDifference]
    sales_channel: Share | None
    contact_channel: Share | None
    preferred_weekday: Share | None
    preferred_hour: Share | None
    top_categories: list[Share]
    #: Playbook rule id -> action, in rule order.
    actions: list[tuple[str, dict[str, str]]]
    #: The preferred time as a sentence per language.
    time_text: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class _Base:
    """The latest run's traits, sampled when large, for comparisons."""

    frame: pd.DataFrame
    as_of: datetime


class Personas:
    """Persona cards of one workspace's segments.

    Parameters
    ----------
    store : Store
        The workspace database.
    segments : Segments
        The workspace's segments (names, figures).
    config : WorkspaceConfig
        ``[personas]`` names and ``[playbook]`` rules.
    """

    def __init__(self, store: Store, segments: Segments, config: WorkspaceConfig) -> None:
        self._store = store
        self._segments = segments
        self._config = config

    def card(self, segment_id: str) -> PersonaCard:
        """The card of one segment, kept for the latest run once drawn.

        Drawing a card takes seconds on a large base: the first one drawn after a run
        is kept (:mod:`cible.store.persona_cards`) and shown until the next run, a
        clustering of its dimension, or a change of ``[personas]``, ``[playbook]`` or
        the time zone.

        Raises
        ------
        CibleError
            When there is no run, no such segment, or the segment has no member.
        """
        return self.cards([segment_id])[0]

    def _settings_key(self) -> str:
        """What a card depends on besides the run: names, playbook and clock."""
        settings = {
            "personas": self._config.personas.model_dump(mode="json"),
            "playbook": self._config.playbook.model_dump(mode="json"),
            "zone": self._config.workspace.zone,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    def cards(self, segment_ids: Iterable[str]) -> list[PersonaCard]:
        """Cards of several segments, kept ones read, the others drawn reading the base
        once (and kept); empty segments raise."""
        wanted = list(segment_ids)
        known = {entry.id for entry in self._segments.catalogue()}
        # Only the wanted segments' figures: listing every segment's costs far more.
        infos = {sid: self._segments.get(sid) for sid in dict.fromkeys(wanted) if sid in known}
        return self._kept_or_drawn(infos, wanted, known)

    def for_dimensions(self, dimensions: Iterable[str]) -> list[PersonaCard]:
        """Cards of every segment with members in ``dimensions``, in catalogue order."""
        chosen = set(dimensions)
        infos = {info.id: info for info in self._segments.list()}
        wanted = [i.id for i in infos.values() if i.dimension in chosen and i.size > 0]
        return self._kept_or_drawn(infos, wanted, set(infos)) if wanted else []

    def _kept_or_drawn(
        self, infos: dict[str, SegmentInfo], wanted: list[str], known: set[str]
    ) -> list[PersonaCard]:
        for segment_id in wanted:  # a card kept for a segment removed since is not shown
            if segment_id not in infos:
                raise CibleError(f"No segment {segment_id!r}; known: {', '.join(sorted(known))}.")
        key = self._settings_key()
        has_run = self._store.has_run()
        kept = {sid: self._store.kept_card(sid, key) if has_run else None for sid in wanted}
        missing = [sid for sid in dict.fromkeys(wanted) if kept[sid] is None]
        drawn = (
            dict(zip(missing, self._cards(infos, missing, known), strict=True)) if missing else {}
        )
        for segment_id, card in drawn.items():
            self._store.keep_card(segment_id, key, json.dumps(card.as_dict(), default=str))
        return [
            drawn[sid] if sid in drawn else card_from_dict(json.loads(str(kept[sid])))
            for sid in wanted
        ]

    def _cards(
        self, infos: dict[str, SegmentInfo], wanted: list[str], known: set[str]
    ) -> list[PersonaCard]:
        log = self._store.table("runs")
        latest = log.order_by(log.run_id.desc()).limit(1).to_pyarrow().to_pylist()
        if not latest:
            raise CibleError("No run yet: run `cible run` first.")
        for segment_id in wanted:
            if segment_id not in infos:
                raise CibleError(f"No segment {segment_id!r}; known: {', '.join(sorted(known))}.")
            if infos[segment_id].size == 0:
                raise CibleError(
                    f"Segment {segment_id!r} has no member in the latest run: no persona."
                )
        base = self._base(latest[0]["as_of"])
        return [self._card(infos[segment_id], base) for segment_id in wanted]

    def _base(self, as_of: datetime) -> _Base:
        traits = self._store.table(runs.TRAITS)
        columns = ["customer_id", *(t.name for t in CONTRAST_TRAITS if t.name in traits.columns)]
        table = traits.select(*columns)
        total = int(table.count().execute())
        if total > MAX_BASE:
            table = table.sample(MAX_BASE / total, seed=0)
        return _Base(table.to_pandas(), as_of)

    def _card(self, info: SegmentInfo, base: _Base) -> PersonaCard:
        members = self._members(info.id)
        mask = (
            base.frame["customer_id"]
            .isin(set(members.customer_id.to_pyarrow().to_pylist()))
            .to_numpy()
        )
        found = contrast(base.frame, mask, CONTRAST_TRAITS, top=5) if mask.any() else []
        differences = [_difference(c) for c in found if abs(c.z) >= MIN_Z]
        traits = self._store.table(runs.TRAITS)
        joined = members.join(traits, "customer_id")
        figures = (
            joined.aggregate(clv=joined.clv_12m.mean(), churn=joined.churn_risk.mean())
            .to_pyarrow()
            .to_pylist()[0]
        )
        size = info.size
        categories = _shares(joined, "top_category", size, 3)
        channel = _shares(joined, "top_channel", size, 1)
        contact = self._contact(members, size)
        weekday, hour = self._times(members, base.as_of)
        shares = self._overlaps(members, size)
        chosen = self._config.personas.names.get(info.id)
        name = (
            chosen.as_dict()
            if chosen
            else generated_name(found, {lang: info.label(lang) for lang in LANGS})
        )
        facts = Facts(
            figures={
                "size": float(size),
                "customer_share": info.customer_share,
                "revenue_share": info.revenue_share,
                "avg_clv_12m": figures["clv"],
                "avg_churn_risk": figures["churn"],
            },
            shares=shares,
            means=_means(base.frame, mask),
            lifts=_lifts(base.frame, mask),
        )
        section = self._config.playbook
        rules = recommend(playbook_rules(section), facts, max_actions=section.max_actions)
        fill = _placeholders(contact, categories)
        return PersonaCard(
            segment_id=info.id,
            kind=info.kind,
            dimension=info.dimension,
            color=info.color,
            name=name,
            name_source="chosen" if chosen else "generated",
            segment_name={lang: info.label(lang) for lang in LANGS},
            size=size,
            customer_share=info.customer_share,
            revenue_share=info.revenue_share,
            avg_clv_12m=figures["clv"],
            avg_churn_risk=figures["churn"],
            traits=differences,
            sales_channel=channel[0] if channel else None,
            contact_channel=contact,
            preferred_weekday=weekday,
            preferred_hour=hour,
            top_categories=categories,
            actions=[
                (rule.id, {lang: getattr(rule.action, lang).format(**fill[lang]) for lang in LANGS})
                for rule in rules
            ],
            time_text=_time_text(weekday, hour, self._config.workspace.zone),
        )

    def _members(self, segment_id: str) -> Any:
        history = self._store.table("segment_memberships")
        current = history.filter(history.exited_at.isnull(), history.segment_id == segment_id)
        return current.select("customer_id").distinct()

    def _contact(self, members: Any, size: int) -> Share | None:
        # The ledger's current state: a consent granted then withdrawn does not count.
        consents = current_consents(self._store.table("consents"))
        granted = consents.filter(
            consents.purpose == "marketing", consents.status == "granted"
        ).semi_join(members, "customer_id")
        counts = granted.group_by("channel").aggregate(n=granted.customer_id.nunique())
        rows = counts.order_by([counts.n.desc(), counts.channel]).limit(1).to_pyarrow().to_pylist()
        return Share(rows[0]["channel"], rows[0]["n"] / size) if rows else None

    def _times(self, members: Any, as_of: datetime) -> tuple[Share | None, Share | None]:
        orders = self._store.table("orders")
        bought = orders.filter(orders.ordered_at < as_of, is_purchase(orders)).semi_join(
            members, "customer_id"
        )
        # The workspace's wall clock: an order at 23:30 UTC is a Paris buyer's 00:30.
        local = local_time(bought.ordered_at, self._config.workspace.zone)
        counts = (
            bought.group_by(weekday=local.day_of_week.index(), hour=local.hour())
            .aggregate(n=bought.count())
            .to_pandas()
        )
        if counts.empty:
            return None, None
        total = float(counts.n.sum())
        by_day = counts.groupby("weekday").n.sum().sort_index()
        by_hour = counts.groupby("hour").n.sum().sort_index()
        # idxmax keeps the first of equal counts: ties go to the earlier day or hour.
        return (
            Share(str(int(by_day.idxmax())), float(by_day.max()) / total),
            Share(str(int(by_hour.idxmax())), float(by_hour.max()) / total),
        )

    def _overlaps(self, members: Any, size: int) -> dict[str, float]:
        history = self._store.table("segment_memberships")
        current = history.filter(history.exited_at.isnull()).semi_join(members, "customer_id")
        counts = current.group_by("segment_id").aggregate(n=current.customer_id.nunique())
        return {r["segment_id"]: r["n"] / size for r in counts.to_pyarrow().to_pylist()}


def card_from_dict(data: dict[str, Any]) -> PersonaCard:
    """The card :meth:`PersonaCard.as_dict` gave, back (after a trip through JSON)."""

    def share(value: dict[str, Any] | None) -> Share | None:
        return None if value is None else Share(**value)

    return PersonaCard(
        **{
            **data,
            "traits": [TraitDifference(**t) for t in data["traits"]],
            "sales_channel": share(data["sales_channel"]),
            "contact_channel": share(data["contact_channel"]),
            "preferred_weekday": share(data["preferred_weekday"]),
            "preferred_hour": share(data["preferred_hour"]),
            "top_categories": [Share(**c) for c in data["top_categories"]],
            "actions": [(rule, action) for rule, action in data["actions"]],
        }
    )


def _shares(joined: Any, column: str, size: int, top: int) -> list[Share]:
    known = joined.filter(joined[column].notnull())
    counts = known.group_by(column).aggregate(n=known.count())
    rows = counts.order_by([counts.n.desc(), counts[column]]).limit(top).to_pyarrow().to_pylist()
    return [Share(str(r[column]), r["n"] / size) for r in rows]


def _difference(found: TraitContrast) -> TraitDifference:
    trait = next(t for t in CONTRAST_TRAITS if t.name == found.trait)
    return TraitDifference(
        trait=found.trait,
        level=found.level,
        mean_in=found.mean_in,
        mean_base=found.mean_base,
        lift=found.lift,
        z=found.z,
        description={"en": trait.description, "fr": trait.description_fr},
        text=dict(found.text),
        label={lang: trait.label_in(lang) for lang in LANGS},
    )


def _means(frame: pd.DataFrame, mask: np.ndarray) -> dict[str, float | None]:
    if not mask.any():
        return {}
    inside = frame.loc[mask]
    return {t.name: _mean(inside[t.name]) for t in CONTRAST_TRAITS if t.name in frame.columns}


def _lifts(frame: pd.DataFrame, mask: np.ndarray) -> dict[str, float | None]:
    means = _means(frame, mask)
    lifts: dict[str, float | None] = {}
    for name, inside in means.items():
        whole = _mean(frame[name])
        lifts[name] = inside / whole if inside is not None and whole and whole > 0 else None
    return lifts


def _mean(column: pd.Series) -> float | None:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def _placeholders(contact: Share | None, categories: list[Share]) -> dict[str, dict[str, str]]:
    return {
        lang: {
            "channel": text(f"contact_{contact.value}" if contact else "contact_none", lang),
            "category": categories[0].value if categories else text("category_none", lang),
        }
        for lang in LANGS
    }


def _time_text(weekday: Share | None, hour: Share | None, zone: str) -> dict[str, str]:
    if weekday is None or hour is None:
        return {lang: text("time_unknown", lang) for lang in LANGS}
    day, at = int(weekday.value), int(hour.value)
    return {
        lang: text(
            "time_pattern",
            lang,
            weekday=get_day_names("wide", locale=_LOCALES[lang])[day],
            hour=f"{at:02d}",
            next=f"{(at + 1) % 24:02d}",
            zone=zone,
        )
        for lang in LANGS
    }
