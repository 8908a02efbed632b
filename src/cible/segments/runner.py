"""A run: traits, RFM and lifecycle, every rule segment, and membership history.

One call computes the traits of every customer as of a moment, scores RFM and
lifecycle, evaluates the built-in dimensions and every stored rule segment (in
dependency order, ``in_segment`` included), resolves exclusive dimensions by
priority, then stores the traits and the memberships with their history in one
transaction. Each step's rows are held in a temporary table that later steps read
(:meth:`cible.store.store.Store.hold`); one :meth:`~cible.store.store.Store.commit_run`
writes the result.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.demo import build_demo
>>> folder = Path(tempfile.mkdtemp()) / "cdnow"
>>> _ = build_demo(folder, dataset="cdnow")
>>> with Workspace.open(folder) as ws:
...     record = ws.run(as_of=datetime(1998, 7, 1))
>>> record.customers
2357
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from cible.domain.clock import normalise_as_of, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.features import TRAITS, Trait, compute_traits
from cible.features.categories import without_special_categories
from cible.features.lifecycle import LIFECYCLE_COLUMNS, add_lifecycle
from cible.features.objection import (
    objecting_customers,
    objection_moment,
    unprofiled,
    without_objectors,
)
from cible.features.registry import (
    CHURN_TRAITS,
    DERIVED_TRAITS,
    TRAIT_GROUPS,
    TYPOLOGY_TRAITS,
    VALUE_TRAITS,
)
from cible.features.rfm import RFM_COLUMNS, add_rfm
from cible.features.typology import add_typology
from cible.models.churn_risk import churn_scores
from cible.models.value import hold_value_scores, value_inputs
from cible.segments.builtin import load_builtin, rfm_rules, typology_inputs
from cible.segments.cluster_members import assign_clusters, load_cluster_segments
from cible.segments.compiler import compile_members
from cible.segments.definition import SegmentDefinition, SegmentDefinitionError, parse_definition
from cible.segments.dependencies import evaluation_order
from cible.segments.summary import segment_figures
from cible.segments.vocabulary import Vocabulary
from cible.store.runs import TRAITS as TRAITS_TABLE
from cible.store.runs import RunRecord
from cible.store.snapshots import SnapshotRow
from cible.store.store import Store

#: Traits computed in the database before value and churn scores are joined.
BASE_TRAITS: tuple[Trait, ...] = TRAITS + DERIVED_TRAITS + TYPOLOGY_TRAITS
#: Every trait a run stores, in column order: the groups of the trait registry.
ALL_TRAITS: tuple[Trait, ...] = tuple(t for group in TRAIT_GROUPS.values() for t in group)
BUILTIN_DIMENSIONS = ("rfm", "lifecycle", "value", "churn_risk", "typology")
#: A run as of this close to now measures the present: its transitions reach automations.
CURRENT_RUN = timedelta(days=1)
#: Traits that profile a customer (scores, ranks, tiers, bands, typologies): NULL for a
#: customer who objects to profiling (:mod:`cible.features.objection`).
PROFILING_TRAITS: tuple[str, ...] = tuple(
    t.name for t in DERIVED_TRAITS + TYPOLOGY_TRAITS + VALUE_TRAITS + CHURN_TRAITS
)


def vocabulary(
    registry: FieldRegistry, segment_ids: set[str], tags: set[str] | None = None
) -> Vocabulary:
    """What definitions may refer to: all traits, profile fields, known segments and,
    when given, the tags that exist."""
    builtin = {s.id for d in BUILTIN_DIMENSIONS for s in load_builtin(d).segments}
    return Vocabulary(
        {t.name: t.dtype for t in ALL_TRAITS}, registry, segments=segment_ids | builtin, tags=tags
    )


def raw_traits(
    tables: Callable[[str], ir.Table], config: WorkspaceConfig, as_of: datetime
) -> ir.Table:
    """Every trait of :data:`cible.features.TRAITS`, one row per customer."""
    return compute_traits(
        tables("customers"),
        tables("orders"),
        tables("events"),
        as_of=as_of,
        order_lines=tables("order_lines"),
        products=without_special_categories(
            tables("products"), config.privacy.blocked_categories()
        ),
        settings=config.traits,
    )


def rfm_lifecycle(
    traits: ir.Table, orders: ir.Table, config: WorkspaceConfig, as_of: datetime
) -> ir.Table:
    """``customer_id`` with the RFM scores and lifecycle stage of the customers in ``traits``.

    The scores are ranked on the few columns they need: ranking the full table would
    sort every trait along with the key. ``traits`` should be a stored table: the
    result is meant to be joined back to it, and an expression would be computed
    twice, once per side of that join.
    """
    inputs = traits.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary_value",
        "mean_days_between_orders",
        "first_order_at",
        "last_order_at",
    )
    scored = add_lifecycle(
        add_rfm(inputs, rfm_rules(config.rfm)), orders, as_of=as_of, settings=config.lifecycle
    )
    return scored.select("customer_id", *RFM_COLUMNS, *LIFECYCLE_COLUMNS)


def _scored(raw_table: ir.Table, scores: ir.Table) -> ir.Table:
    """The raw traits with their RFM and lifecycle columns: what churn models read."""
    return raw_table.left_join(scores, "customer_id").select(
        "customer_id", *[t.name for t in TRAITS + DERIVED_TRAITS]
    )


def _full_traits(
    raw_table: ir.Table,
    scores: ir.Table,
    value: ir.Table,
    churn: ir.Table,
    config: WorkspaceConfig,
) -> ir.Table:
    """Every trait of :data:`ALL_TRAITS`: typologies and held scores joined to the raw ones.

    Typologies rank the held raw traits (their only inputs): over an unstored
    expression, DuckDB would compute it once for the ranks and again for the rows
    they join back to.
    """
    joined = (
        add_typology(
            raw_table, typology_inputs(config.typology), min_score=config.typology.min_score
        )
        .left_join(scores, "customer_id")
        .left_join(value, "customer_id")
        .left_join(churn, "customer_id")
    )
    columns = {t.name: joined[t.name].cast(t.dtype) for t in VALUE_TRAITS + CHURN_TRAITS}
    return joined.select("customer_id", *[t.name for t in BASE_TRAITS], **columns)


def load_segments(store: Store, registry: FieldRegistry) -> list[SegmentDefinition]:
    """Stored rule segments, parsed against today's vocabulary."""
    table = store.table("segments")
    everything = table.select("segment_id", "kind", "definition").to_pyarrow().to_pylist()
    # Cluster segments may be named by rules (in_segment) but are not rules themselves.
    words = vocabulary(registry, {row["segment_id"] for row in everything})
    definitions = []
    for row in everything:
        if row["kind"] != "rule":
            continue
        try:
            definitions.append(parse_definition(json.loads(row["definition"]), words))
        except SegmentDefinitionError as exc:
            # Stored before a limit or a setting changed: say which segment to fix.
            raise SegmentDefinitionError(
                f"Stored segment {row['segment_id']!r} is no longer valid; fix it and add it "
                f"again, or remove it with `cible segments remove {row['segment_id']}`:\n{exc}",
                exc.problems,
            ) from None
    return definitions


@dataclass(frozen=True)
class Evaluation:
    """What a run computed, held in temporary tables, before it is stored.

    ``traits`` names the held traits table; ``members`` are the memberships
    (``segment_id, dimension, customer_id``), each customer once per exclusive
    dimension.
    """

    as_of: datetime
    started_at: datetime
    traits: str
    members: ir.Table
    segments: int
    notes: str


def evaluate(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Compute traits and memberships as of ``as_of`` (default: now), held, not stored.

    Every step holds its rows (:meth:`~cible.store.store.Store.hold`) for the next
    ones to read: computing an expression once and reading the table is what keeps
    DuckDB from computing the traits again in every join and window that uses them.
    """
    report = reporter(progress)
    started = utc_now()
    moment = started if as_of is None else normalise_as_of(as_of)
    definitions = load_segments(store, registry)
    steps = 4 + len(definitions)

    report("traits", 0, steps)
    # Customers who object to profiling get no score and join no segment (art. 21).
    # The objection is read as of now when the data's moment is past: it governs the
    # processing done now, a replay or backtest included.
    objectors = store.hold(
        "_objectors", objecting_customers(store.table("consents"), objection_moment(moment))
    )
    raw_table = store.hold("_raw_traits", raw_traits(store.table, config, moment))
    # RFM ranks and lifecycle read a narrow copy of the held traits, then join back.
    scores = store.hold("_scores", rfm_lifecycle(raw_table, store.table("orders"), config, moment))

    report("lifetime value and churn risk", 1, steps)
    # Models fit on a sample in Python and score page by page: memory stays bounded.
    value, note = hold_value_scores(
        store, value_inputs(store.table("orders"), moment), as_of=moment
    )
    # Churn risk is scored customer by customer: objectors are not scored at all.
    # (Value scores come from a model fitted on every buyer: those of objectors are
    # masked below, so the other customers' scores do not depend on who objects.)
    churn = churn_scores(store, without_objectors(_scored(raw_table, scores), objectors))
    traits = store.hold(
        "_traits",
        unprofiled(
            _full_traits(raw_table, scores, value, churn, config), objectors, PROFILING_TRAITS
        ),
    )
    profiled = without_objectors(traits, objectors)

    report("built-in dimensions", 2, steps)
    clusters = assign_clusters(store, profiled)
    # Cluster segments are evaluated before the rules, which may name them.
    builtin = ibis.union(
        builtin_members(traits),
        clusters.select(
            "segment_id",
            "dimension",
            priority=ibis.literal(0, dt.int64),
            customer_id="customer_id",
        ),
    )
    evaluated = store_rule_members(
        store,
        definitions,
        base=profiled.join(store.table("customers"), "customer_id"),
        as_of=moment,
        builtin=builtin,
        progress=lambda done, segment_id: report(f"segment {segment_id}", done + 3, steps),
    )

    report("memberships", steps - 1, steps)
    by_id = {d.id: d for d in definitions}
    pieces = [builtin, *(rule_members(by_id[i], m) for i, m in evaluated.items())]
    contested = {d.dimension for d in definitions if d.dimension is not None}
    return Evaluation(
        as_of=moment,
        started_at=started,
        traits="_traits",
        # Built-in segments read the masked traits and rules the objectors' absence
        # from ``base``; removing them once more here keeps that true of any piece.
        members=without_objectors(exclusive_members(ibis.union(*pieces), contested), objectors),
        segments=len(definitions)
        + len(load_cluster_segments(store))
        + sum(len(load_builtin(d).segments) for d in BUILTIN_DIMENSIONS),
        notes=note,
    )


def run_segments(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    *,
    as_of: datetime | None = None,
    snapshot: bool = False,
    progress: Progress | None = None,
) -> RunRecord:
    """Compute traits and memberships as of ``as_of`` (default: now) and store them.

    With ``snapshot``, the run is also kept as a snapshot, in the same transaction.
    """
    report = reporter(progress)
    # From its first read to its commit: another process's live refresh, computed on
    # newer events, must not be overwritten by this run's older view (PostgreSQL).
    with store.history_turn():
        return _run_and_commit(store, registry, config, as_of, snapshot, progress, report)


def _run_and_commit(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    as_of: datetime | None,
    snapshot: bool,
    progress: Progress | None,
    report: Callable[[str, int, int], None],
) -> RunRecord:
    done = evaluate(store, registry, config, as_of=as_of, progress=progress)
    # Automations hear of a run's transitions when it measures the present: the first
    # run (everyone "enters") and replays of the past (backtests) trigger nothing.
    current = store.has_run() and done.as_of >= utc_now() - CURRENT_RUN
    record = store.commit_run(
        traits=done.traits,
        members=done.members,
        as_of=done.as_of,
        started_at=done.started_at,
        finished_at=utc_now(),
        segments=done.segments,
        notes=done.notes,
        outbox_source="run" if current else None,
        snapshot=snapshot,
    )
    keep_figures(store, registry, record.run_id)
    report("done", 1, 1)
    return record


def keep_figures(store: Store, registry: FieldRegistry, run_id: int) -> None:
    """Store every segment's figures at run ``run_id`` (a row even for an empty one),
    so that listings read them instead of computing them again (see
    :meth:`cible.segments.catalog.Segments.list`)."""
    ids = [seg.id for d in BUILTIN_DIMENSIONS for seg in load_builtin(d).segments]
    ids += [d.id for d in load_segments(store, registry)]
    ids += [c.id for c in load_cluster_segments(store)]
    history = store.table("segment_memberships")
    current = history.filter(history.exited_at.isnull()).select("segment_id", "customer_id")
    figures = segment_figures(store.table(TRAITS_TABLE), current)
    every = ibis.memtable({"segment_id": sorted(set(ids))}, schema={"segment_id": "string"})
    store.save_figures(run_id, every.left_join(figures, "segment_id").drop("segment_id_right"))


def snapshot_segments(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    *,
    as_of: datetime,
    origin: str = "replay",
    replace: bool = False,
    progress: Progress | None = None,
) -> SnapshotRow:
    """Replay a run as of ``as_of`` into a snapshot; the live tables stay as they are.

    With ``replace``, a snapshot already stored as of the same moment is replaced.
    """
    report = reporter(progress)
    done = evaluate(store, registry, config, as_of=as_of, progress=progress)
    row = store.commit_snapshot(
        traits=done.traits,
        members=done.members,
        as_of=done.as_of,
        taken_at=utc_now(),
        origin=origin,
        replace=replace,
    )
    report("done", 1, 1)
    return row


def rule_members(definition: SegmentDefinition, members: ir.Table) -> ir.Table:
    """The held members of a rule segment as memberships with its dimension and priority."""
    return members.select(
        segment_id=ibis.literal(definition.id),
        dimension=ibis.literal(definition.dimension, dt.string),
        priority=ibis.literal(definition.priority or 0, dt.int64),
        customer_id="customer_id",
    )


#: Built-in dimension -> (trait holding the member's label, key of that label in the
#: dimension's YAML rules; None when the trait already holds the segment id).
_BUILTIN_LABELS = {
    "rfm": ("rfm_segment", None),
    "lifecycle": ("lifecycle_stage", "stage"),
    "value": ("value_tier", "tier"),
    "churn_risk": ("churn_risk_band", "band"),
    "typology": ("typology", "typology"),
}


def builtin_members(traits: Any) -> Any:
    """Memberships of the built-in dimensions, read from the scored traits."""
    pieces = []
    for dimension, (column, key) in _BUILTIN_LABELS.items():
        label = traits[column]
        if key is not None:
            label = label.substitute({s.rule[key]: s.id for s in load_builtin(dimension).segments})
        pieces.append(
            traits.filter(traits[column].notnull()).select(
                segment_id=label,
                dimension=ibis.literal(dimension),
                priority=ibis.literal(0, dt.int64),
                customer_id=traits.customer_id,
            )
        )
    return ibis.union(*pieces)


def store_rule_members(
    store: Store,
    definitions: list[SegmentDefinition],
    *,
    base: ir.Table,
    as_of: datetime,
    builtin: ir.Table | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> dict[str, ir.Table]:
    """Evaluate every rule in dependency order, each held as a temporary table.

    ``base`` holds one row per customer with traits and profile attributes;
    ``builtin`` (``segment_id``, ``customer_id``) answers ``in_segment`` conditions on
    segments that are not rules. Returns segment id -> table of its members.
    """
    evaluated: dict[str, ir.Table] = {}

    def membership(segment_id: str) -> ir.Table:
        if segment_id in evaluated or builtin is None:
            return evaluated[segment_id]
        return builtin.filter(builtin.segment_id == segment_id).select("customer_id")

    for done, segment_id in enumerate(evaluation_order(definitions)):
        if progress is not None:
            progress(done, segment_id)
        definition = next(d for d in definitions if d.id == segment_id)
        members = compile_members(
            definition,
            base=base,
            events=store.table("events"),
            consents=store.table("consents"),
            as_of=as_of,
            membership=membership,
            tags=store.table("customer_tags"),
        )
        evaluated[segment_id] = store.hold(f"_segment_{len(evaluated)}", members)
    return evaluated


def exclusive_members(members: Any, contested: set[str]) -> Any:
    """In a dimension, keep each customer in its highest-priority segment only.

    Every piece holds a customer once per segment, and the built-in and cluster
    dimensions hold a customer in one segment by construction: only the dimensions
    that rule segments name (``contested``) need ranking, which sorts their rows.
    """
    columns = ("segment_id", "dimension", "customer_id")
    if not contested:
        return members.select(*columns)
    inside = members.dimension.isin(sorted(contested)).fill_null(False)
    window = ibis.window(
        group_by=[members.dimension, members.customer_id],
        order_by=[members.priority.desc(), members.segment_id],
    )
    ranked = members.filter(inside).mutate(_rank=ibis.row_number().over(window))
    kept = ranked.filter(ranked._rank == 0).select(*columns)
    return ibis.union(members.filter(~inside).select(*columns), kept)
