"""``ws.fairness``: how a protected attribute spreads across segments (docs/fairness.md).

A protected attribute *held for audit only* is a customer attribute declared with
``sensitivity = "special"`` (or ``personal``) and, for a special one, no legal basis:
rules, clusterings, models and templates refuse it, and this report is the one place
that reads it, each time recorded in the audit log. For each dimension of the latest
run and each of its segments it gives:

- the share of each attribute group in the segment against the whole base, and each
  group's *selection rate* (the share of the group the segment holds);
- the *disparate-impact ratio*, lowest over highest selection rate among the groups
  of at least ``min_group_size`` customers, and a flag when it is below 0.8 (the
  four-fifths rule) and significant (Fisher's exact test, Holm across the report);
- a *proxy check*: Cramér's V between membership and the attribute, and how well the
  dimension's membership predicts the attribute (cross-validated balanced accuracy
  against chance);
- for a flagged segment, *the traits responsible*: the fields its definition reads and
  how strongly each alone is associated with the attribute.

The database reduces memberships and the attribute to a crosstab of a few rows
(:func:`crosstab`); the statistics run in Python on it
(:mod:`cible.segments.fairness_stats`).

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.domain.config import WorkspaceConfig
>>> folder = Path(tempfile.mkdtemp())
>>> rows = [f"c{i},{'a' if i % 2 else 'b'}" for i in range(200)]
>>> _ = (folder / "c.csv").write_text("customer_id,origin\\n" + "\\n".join(rows) + "\\n")
>>> config = WorkspaceConfig.model_validate(
...     {"attributes": {"origin": {"sensitivity": "special", "category": "demographic"}}})
>>> with Workspace.create(folder / "shop", config=config) as ws:
...     _ = ws.imports.load("customers", folder / "c.csv")
...     _ = ws.run(as_of=datetime(2025, 1, 1))
...     report = ws.fairness.report("origin", dimension="lifecycle")
>>> [(g.group, g.customers) for g in report.groups], report.flagged_segments
([('a', 100), ('b', 100)], ())
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import FieldType, Sensitivity
from cible.features.objection import objecting_customers, objection_moment, without_objectors
from cible.models.churn_risk import latest_card
from cible.segments.builtin import typology_inputs
from cible.segments.catalog import SegmentInfo, Segments
from cible.segments.cluster_members import load_cluster_segments, load_segmenter
from cible.segments.conditions import (
    AttributeCondition,
    ConsentCondition,
    InSegmentCondition,
    TagCondition,
    TraitCondition,
    walk,
)
from cible.segments.event_condition import EventCondition
from cible.segments.fairness_stats import (
    ALPHA,
    FOUR_FIFTHS,
    MIN_GROUP_SIZE,
    GroupRate,
    cramers_v,
    disparate_impact,
    flag,
    independence_p_value,
    proxy_accuracy,
    proxy_level,
)
from cible.segments.monitoring import BUILTIN_INPUTS
from cible.segments.runner import BUILTIN_DIMENSIONS, load_segments
from cible.store.runs import TRAITS
from cible.store.store import Store

#: Attribute types that name groups; a date or a number would need bands first.
GROUP_TYPES = (FieldType.ENUM, FieldType.STRING, FieldType.BOOLEAN, FieldType.INTEGER)
#: Most groups an attribute may have: beyond, it is an identifier or a free text,
#: not a protected characteristic, and every group would be too small to compare.
MAX_GROUPS = 20
#: Number bins (quantiles) and most distinct values kept when a trait's association
#: with the attribute is measured; rarer values are pooled as ``(other)``.
TRAIT_BINS = 5
TRAIT_VALUES = 30

#: Records each report in the audit log: (actor, action, target, outcome, detail).
Audit = Callable[[str, str, str, str, dict[str, Any] | None], int]


class FairnessError(CibleError):
    """An attribute the fairness report cannot audit, or a workspace without a run."""


@dataclass(frozen=True)
class BaseGroup:
    """One attribute group in the whole base of the latest run."""

    group: str
    customers: int
    share: float
    too_small: bool


@dataclass(frozen=True)
class TraitAssociation:
    """One field a segment's definition reads, and its association with the attribute.

    ``cramers_v`` is measured over the whole base with numbers cut at their
    quintiles and text reduced to its most frequent values; ``bins`` is the number of
    categories compared (missing values count as one).
    """

    field: str
    source: str
    cramers_v: float | None
    bins: int


@dataclass(frozen=True)
class SegmentFairness:
    """One segment of the report: group rates, ratio, test, proxy and, when flagged,
    the traits responsible."""

    segment_id: str
    kind: str
    name: dict[str, str]
    color: str
    size: int
    #: Members with no value for the attribute (left out of every rate).
    missing: int
    groups: tuple[GroupRate, ...]
    disparate_impact: float | None
    lowest_group: str | None
    highest_group: str | None
    p_value: float | None
    adjusted_p_value: float | None
    #: Cramér's V of membership (in or out) against the attribute.
    cramers_v: float | None
    below_four_fifths: bool
    flagged: bool
    traits: tuple[TraitAssociation, ...]
    #: Conditions of the definition whose association is not measured (events,
    #: consents, tags).
    unmeasured: tuple[str, ...]


@dataclass(frozen=True)
class DimensionFairness:
    """The segments of one dimension and how well membership predicts the attribute.

    ``dimension`` is None for a segment outside any dimension, audited alone.
    """

    dimension: str | None
    segments: tuple[SegmentFairness, ...]
    #: Customers of the groups compared (large enough, with a value).
    customers: int
    cramers_v: float | None
    p_value: float | None
    balanced_accuracy: float | None
    chance_accuracy: float | None
    proxy: str


@dataclass(frozen=True)
class FairnessReport:
    """The fairness report of one protected attribute (see the module's docstring)."""

    attribute: str
    sensitivity: str
    as_of: datetime
    generated_at: datetime
    customers: int
    missing: int
    groups: tuple[BaseGroup, ...]
    min_group_size: int
    threshold: float
    alpha: float
    dimensions: tuple[DimensionFairness, ...]
    #: Customers of the latest run who object to profiling, left out of the base.
    not_profiled: int = 0

    @property
    def flagged_segments(self) -> tuple[str, ...]:
        """Ids of the segments flagged, in report order."""
        return tuple(s.segment_id for d in self.dimensions for s in d.segments if s.flagged)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the API."""
        found = asdict(self)
        found["flagged_segments"] = list(self.flagged_segments)
        return found


def crosstab(base: ir.Table, memberships: ir.Table) -> ir.Table:
    """Customers per (segment, dimension, group): the one reduction of memberships.

    Parameters
    ----------
    base : ibis.Table
        ``customer_id`` and ``group`` (the attribute as text, NULL when missing).
    memberships : ibis.Table
        ``segment_id``, ``dimension``, ``customer_id``.

    Examples
    --------
    >>> import ibis
    >>> base = ibis.memtable({"customer_id": ["a", "b", "c"], "group": ["x", "y", "x"]})
    >>> members = ibis.memtable({"segment_id": ["s", "s"], "dimension": ["d", "d"],
    ...                          "customer_id": ["a", "c"]})
    >>> crosstab(base, members).to_pyarrow().to_pylist()
    [{'segment_id': 's', 'dimension': 'd', 'group': 'x', 'customers': 2}]
    """
    joined = memberships.join(base, "customer_id")
    counts = joined.group_by(["segment_id", "dimension", "group"]).aggregate(
        customers=joined.count()
    )
    return counts.order_by(["segment_id", "group"])


class Fairness:
    """The fairness report of a workspace (``ws.fairness``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Declares the attribute audited and its sensitivity.
    config : WorkspaceConfig
        Typology inputs (the traits the typology dimension reads).
    audit : callable, optional
        Records each report in the audit log.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        audit: Audit | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._audit = audit

    def report(
        self,
        attribute: str,
        dimension: str | None = None,
        *,
        actor: str = "cli",
        min_group_size: int = MIN_GROUP_SIZE,
        seed: int = 0,
    ) -> FairnessReport:
        """Audit the current segments against protected ``attribute``.

        Parameters
        ----------
        attribute : str
            A customer attribute declared with sensitivity ``special`` or ``personal``.
        dimension : str, optional
            Only this dimension's segments (default: every dimension).
        actor : str
            Who asks, for the audit log.
        min_group_size : int
            Groups with fewer customers are reported as too small and not compared.
        seed : int
            Seed of the proxy classifier's folds (and of its sample on large bases).

        Raises
        ------
        FairnessError
            For an undeclared or non-protected attribute, one with too many values or
            fewer than two, an unknown dimension, or a workspace without a run.
        """
        field = self._protected(attribute)
        if min_group_size < 1:
            raise FairnessError(f"min_group_size must be at least 1 (got {min_group_size}).")
        as_of = self._latest_run()
        # Objections as of now, as a run started now reads them (docs/privacy.md).
        objectors = self._store.hold(
            "_fairness_objectors",
            objecting_customers(self._store.table("consents"), objection_moment(as_of)),
        )
        base = self._base(attribute, objectors)
        counts = _counts(base.group_by("group").aggregate(customers=base.count()))
        values = {g: n for g, n in counts.items() if g is not None}
        self._check_groups(attribute, values)
        infos = {info.id: info for info in Segments(self._store, self._registry).list()}
        table = crosstab(base.filter(base.group.notnull()), self._memberships()).to_pyarrow()
        per_segment: dict[str, dict[str, int]] = {}
        dimension_of: dict[str, str | None] = {}
        for row in table.to_pylist():
            per_segment.setdefault(row["segment_id"], {})[row["group"]] = int(row["customers"])
            dimension_of[row["segment_id"]] = row["dimension"]
        for info in infos.values():  # segments without members are audited too
            if info.id not in dimension_of and (info.kind != "builtin" or info.size):
                dimension_of[info.id] = info.dimension
                per_segment[info.id] = {}
        ordered = _order(dimension_of, infos, dimension)
        sizes = self._sizes()
        tests = {
            s: disparate_impact(per_segment[s], values, min_group_size=min_group_size)
            for _, ids in ordered
            for s in ids
        }
        names = list(tests)
        decided = flag([tests[s] for s in names])
        eligible = [g for g, n in values.items() if n >= min_group_size]
        associations = _Associations(self._store, base, eligible, min_group_size)
        dimensions = []
        for key, ids in ordered:
            segments = []
            for s in ids:
                i = names.index(s)
                inside = [per_segment[s].get(g, 0) for g in eligible]
                outside = [values[g] - per_segment[s].get(g, 0) for g in eligible]
                fields, unmeasured = ((), ()) if not decided.flagged[i] else self._inputs(s, infos)
                segments.append(
                    _segment(
                        infos.get(s),
                        s,
                        tests[s],
                        size=sizes.get(s, 0),
                        missing=sizes.get(s, 0) - sum(per_segment[s].values()),
                        v=cramers_v([inside, outside]),
                        adjusted=decided.adjusted_p_values[i],
                        below=decided.below_four_fifths[i],
                        flagged=decided.flagged[i],
                        traits=tuple(associations.measure(f) for f in fields),
                        unmeasured=unmeasured,
                    )
                )
            dimensions.append(_dimension(key, segments, per_segment, values, eligible, seed))
        total = sum(counts.values())
        report = FairnessReport(
            attribute=attribute,
            sensitivity=field.sensitivity.value,
            as_of=as_of,
            generated_at=utc_now(),
            customers=total,
            missing=counts.get(None, 0),
            groups=tuple(
                BaseGroup(g, n, n / sum(values.values()), n < min_group_size)
                for g, n in values.items()
            ),
            min_group_size=min_group_size,
            threshold=FOUR_FIFTHS,
            alpha=ALPHA,
            dimensions=tuple(dimensions),
            not_profiled=self._not_profiled(objectors),
        )
        if self._audit is not None:
            detail = {
                "dimension": dimension,
                "segments": len(names),
                "flagged": list(report.flagged_segments),
            }
            self._audit(actor, "privacy.fairness", attribute, "ok", detail)
        return report

    # -- reading ----------------------------------------------------------------------

    def _protected(self, attribute: str) -> Any:
        """The declared field of ``attribute``, refused unless it may be audited."""
        fields = {f.name: f for f in self._registry.table("customers").fields}
        protected = sorted(
            name for name, f in fields.items() if f.sensitivity is not Sensitivity.NONE
        )
        found = fields.get(attribute)
        if found is None:
            raise FairnessError(
                f"Unknown attribute {attribute!r}: declare it in cible.toml as "
                f'[attributes.{attribute}] with sensitivity = "special" '
                f"(protected attributes now: {', '.join(protected) or 'none'})."
            )
        if found.sensitivity is Sensitivity.NONE:
            raise FairnessError(
                f"{attribute!r} has sensitivity 'none': the fairness report audits protected "
                "attributes only (sensitivity 'special' or 'personal' in cible.toml)."
            )
        if found.type not in GROUP_TYPES:
            kinds = ", ".join(t.value for t in GROUP_TYPES)
            raise FairnessError(
                f"{attribute!r} is of type {found.type.value}: the fairness report compares "
                f"groups, so the attribute must be one of {kinds}."
            )
        return found

    def _check_groups(self, attribute: str, values: dict[str, int]) -> None:
        if len(values) > MAX_GROUPS:
            raise FairnessError(
                f"{attribute!r} has {len(values)} distinct values, more than {MAX_GROUPS}: "
                "a fairness audit compares a few groups; declare it as an enum of groups."
            )
        if len(values) < 2:
            raise FairnessError(
                f"{attribute!r} has {len(values)} distinct value(s) among the customers of "
                "the latest run: at least two groups are needed to compare them."
            )

    def _latest_run(self) -> datetime:
        runs = self._store.table("runs")
        latest = runs.order_by(runs.run_id.desc()).limit(1).to_pyarrow().to_pylist()
        if not latest or not self._store.has_run():
            raise FairnessError("No run yet: run `cible run` before the fairness report.")
        as_of: datetime = latest[0]["as_of"]
        return as_of

    def _base(self, attribute: str, objectors: ir.Table) -> ir.Table:
        """Every customer of the latest run with the attribute as text (NULL: missing),
        but those who object to profiling: they can be in no automated segment, so
        counting them would lower every selection rate."""
        customers = self._store.table("customers")
        value = customers[attribute].cast("string")
        group = ibis.cases((value.strip() == "", ibis.null("string")), else_=value)
        traits = without_objectors(self._store.table(TRAITS).select("customer_id"), objectors)
        return traits.join(customers.select("customer_id", group=group), "customer_id")

    def _not_profiled(self, objectors: ir.Table) -> int:
        """Customers of the latest run who object to profiling (left out of the base)."""
        traits = self._store.table(TRAITS).select("customer_id")
        found = traits.semi_join(objectors, "customer_id").count().to_pyarrow().as_py()
        return int(found or 0)

    def _memberships(self) -> ir.Table:
        history = self._store.table("segment_memberships")
        current = history.filter(history.exited_at.isnull())
        return current.select("segment_id", "dimension", "customer_id")

    def _sizes(self) -> dict[str, int]:
        """Members of each segment, those without a value for the attribute included."""
        members = self._memberships()
        traits = self._store.table(TRAITS).select("customer_id")
        joined = members.join(traits, "customer_id")
        sizes = joined.group_by("segment_id").aggregate(n=joined.count()).to_pyarrow()
        return {r["segment_id"]: int(r["n"]) for r in sizes.to_pylist()}

    # -- the traits responsible ---------------------------------------------------------

    def _inputs(
        self, segment_id: str, infos: dict[str, SegmentInfo]
    ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """The fields (source, name) a segment's definition reads, and the conditions
        that are not fields; ``in_segment`` conditions are followed."""
        rules = {d.id: d for d in load_segments(self._store, self._registry)}
        clusters = {c.id: c for c in load_cluster_segments(self._store)}
        fields: dict[tuple[str, str], None] = {}
        other: dict[str, None] = {}
        seen: set[str] = set()

        def visit(sid: str) -> None:
            if sid in seen:
                return
            seen.add(sid)
            if sid in rules:
                for node in walk(rules[sid].where):
                    if isinstance(node, TraitCondition):
                        fields[("trait", node.trait)] = None
                    elif isinstance(node, AttributeCondition):
                        fields[("attribute", node.attribute)] = None
                    elif isinstance(node, InSegmentCondition):
                        visit(node.in_segment)
                    elif isinstance(node, EventCondition):
                        other[f"event {node.event_name}"] = None
                    elif isinstance(node, ConsentCondition):
                        other[f"consent {node.consent}/{node.purpose}"] = None
                    elif isinstance(node, TagCondition):
                        other[f"tag {node.tag}"] = None
            elif sid in clusters:
                _, segmenter = load_segmenter(self._store, clusters[sid].model_id)
                fields.update((("trait", t), None) for t in segmenter.traits_)
            elif sid in infos:
                fields.update((("trait", t), None) for t in self._builtin_inputs(infos[sid]))

        visit(segment_id)
        return tuple(fields), tuple(other)

    def _builtin_inputs(self, info: SegmentInfo) -> Iterable[str]:
        if info.dimension in BUILTIN_INPUTS:
            return BUILTIN_INPUTS[info.dimension]
        if info.dimension == "typology":
            weights = typology_inputs(self._config.typology).values()
            return sorted({trait for inputs in weights for trait in inputs})
        if info.dimension == "churn_risk":
            found = latest_card(self._store)
            return () if found is None else found[1].features
        return ()


class _Associations:
    """Cramér's V of single fields against the attribute, each measured once."""

    def __init__(
        self, store: Store, base: ir.Table, groups: list[str], min_group_size: int
    ) -> None:
        self._store = store
        self._base = base.filter(base.group.isin(groups)) if groups else base
        self._min = min_group_size
        self._found: dict[tuple[str, str], TraitAssociation] = {}

    def measure(self, key: tuple[str, str]) -> TraitAssociation:
        if key not in self._found:
            self._found[key] = self._measure(*key)
        return self._found[key]

    def _measure(self, source: str, name: str) -> TraitAssociation:
        table = self._store.table(TRAITS if source == "trait" else "customers")
        if name not in table.columns:
            return TraitAssociation(name, source, None, 0)
        values = self._base.join(table.select("customer_id", value=table[name]), "customer_id")
        binned = _bins(values, self._min)
        if binned is None:
            return TraitAssociation(name, source, None, 0)
        counts = binned.group_by(["bin", "group"]).aggregate(n=binned.count()).to_pyarrow()
        rows = counts.to_pylist()
        bins = sorted({r["bin"] for r in rows})
        groups = sorted({r["group"] for r in rows})
        matrix = np.zeros((len(bins), len(groups)), dtype=np.int64)
        for r in rows:
            matrix[bins.index(r["bin"]), groups.index(r["group"])] = int(r["n"])
        return TraitAssociation(name, source, cramers_v(matrix), len(bins))


def _bins(values: ir.Table, min_size: int) -> ir.Table | None:
    """``values`` with ``bin``: the quintile of a number, a frequent value of a text
    (rarer ones pooled), ``(missing)``; None for a type that has neither."""
    value = values.value
    dtype = value.type()
    if dtype.is_boolean():
        label = value.cast("string")
    elif dtype.is_numeric():
        quantiles = values.aggregate(
            **{f"q{i}": value.quantile(i / TRAIT_BINS) for i in range(1, TRAIT_BINS)}
        )
        row = quantiles.to_pyarrow().to_pylist()[0]
        cuts = sorted({float(c) for c in row.values() if c is not None})
        position: Any = ibis.literal(0)
        for cut in cuts:
            position = position + (value > cut).cast("int32")
        label = position.cast("string")
    elif dtype.is_string():
        frequent = values.group_by("value").aggregate(n=values.count())
        top = (
            frequent.filter(frequent.value.notnull() & (frequent.n >= min_size))
            .order_by([frequent.n.desc(), frequent.value])
            .limit(TRAIT_VALUES)
        )
        kept = [r["value"] for r in top.to_pyarrow().to_pylist()]
        label = value.isin(kept).ifelse(value, "(other)") if kept else ibis.literal("(other)")
    else:
        return None
    return values.select("group", bin=ibis.cases((value.isnull(), "(missing)"), else_=label))


def _counts(table: ir.Table) -> dict[str | None, int]:
    rows = table.order_by(table.group).to_pyarrow().to_pylist()
    return {r["group"]: int(r["customers"]) for r in rows}


def _order(
    dimension_of: dict[str, str | None],
    infos: dict[str, SegmentInfo],
    only: str | None,
) -> list[tuple[str | None, list[str]]]:
    """Dimensions in report order (built-in ones first), each with its segment ids in
    catalog order; a segment outside any dimension stands alone, last."""
    position = {sid: i for i, sid in enumerate(infos)}
    named = {d for d in dimension_of.values() if d is not None}
    if only is not None and only not in named:
        known = ", ".join(sorted(named)) or "none"
        raise FairnessError(f"No dimension {only!r} in the latest run; known: {known}.")
    keys = [d for d in BUILTIN_DIMENSIONS if d in named] + sorted(named - set(BUILTIN_DIMENSIONS))
    if only is not None:
        keys = [only]

    def members(key: str | None) -> list[str]:
        found = [s for s, d in dimension_of.items() if d == key]
        return sorted(found, key=lambda s: (position.get(s, len(position)), s))

    ordered: list[tuple[str | None, list[str]]] = [(k, members(k)) for k in keys]
    if only is None:
        ordered += [(None, [s]) for s in members(None)]
    return ordered


def _segment(
    info: SegmentInfo | None,
    segment_id: str,
    test: Any,
    *,
    size: int,
    missing: int,
    v: float | None,
    adjusted: float | None,
    below: bool,
    flagged: bool,
    traits: tuple[TraitAssociation, ...],
    unmeasured: tuple[str, ...],
) -> SegmentFairness:
    ranked = tuple(sorted(traits, key=lambda t: -(t.cramers_v or 0.0)))
    return SegmentFairness(
        segment_id=segment_id,
        kind=info.kind if info else "rule",
        name=dict(info.name) if info else {},
        color=info.color if info else "#495057",
        size=size,
        missing=max(missing, 0),
        groups=test.rates,
        disparate_impact=test.ratio,
        lowest_group=test.lowest,
        highest_group=test.highest,
        p_value=test.p_value,
        adjusted_p_value=adjusted,
        cramers_v=v,
        below_four_fifths=below,
        flagged=flagged,
        traits=ranked,
        unmeasured=unmeasured,
    )


def _dimension(
    key: str | None,
    segments: list[SegmentFairness],
    per_segment: dict[str, dict[str, int]],
    values: dict[str, int],
    eligible: list[str],
    seed: int,
) -> DimensionFairness:
    """The proxy check of one dimension: membership (each segment, or none) against the
    groups large enough to compare."""
    rows = [[per_segment[s.segment_id].get(g, 0) for g in eligible] for s in segments]
    # Segments of a dimension do not overlap, so the customers in none of them are the
    # base less the members; a segment outside any dimension is compared with the rest.
    rest = [values[g] - sum(r[j] for r in rows) for j, g in enumerate(eligible)]
    table = np.array([*rows, rest], dtype=np.int64)
    v = cramers_v(table)
    p = independence_p_value(table)
    return DimensionFairness(
        dimension=key,
        segments=tuple(segments),
        customers=int(table.sum()),
        cramers_v=v,
        p_value=p,
        balanced_accuracy=proxy_accuracy(table, seed=seed),
        chance_accuracy=1 / len(eligible) if eligible else None,
        proxy=proxy_level(v, p),
    )
