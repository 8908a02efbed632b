"""Live refresh: the customers a micro-batch of events touched, re-evaluated at once.

A refresh runs the batch run's own expressions (:mod:`cible.segments.runner`) on a
few customers: every input table is restricted to their ids before the traits are
computed, so the work follows the number of customers touched, not the size of the
workspace. What each customer is measured on comes in two kinds:

- **their own behaviour**, recomputed now: every trait of :data:`cible.features.TRAITS`
  (orders, events, categories, consideration), the lifecycle stage (relative to the
  customer's own rhythm), every rule segment and its ``in_segment`` references;
- **the population**, taken from the latest run (:data:`POPULATION_TRAITS`): RFM
  quintiles, typology ranks, value scores and tiers, churn risk and its band, and
  cluster assignments. A live refresh moves a customer by their own behaviour against
  the last run's population; the next full run re-ranks everyone. A customer the
  latest run did not know has none of these until then.

The diff with the customers' open memberships gives ``entered`` / ``exited``
transitions, written with a NULL run to the membership history and, in the same
transaction, to the ``outbox`` (:mod:`cible.store.outbox`); their row of the traits
table is replaced. Nothing is refreshed before the first run: there is no population
to measure against, and the first run records everyone.

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
...     _ = ws.run(as_of=datetime(1998, 7, 1))
...     later = ws.segments.refresh(["1", "2"], as_of=datetime(1999, 7, 1))
>>> later.customers, later.as_of.year
(2, 1999)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from cible.domain.clock import normalise_as_of, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.features.lifecycle import LIFECYCLE_COLUMNS, add_lifecycle
from cible.features.objection import (
    objecting_customers,
    objection_moment,
    unprofiled,
    without_objectors,
)
from cible.features.registry import CHURN_TRAITS, TYPOLOGY_TRAITS, VALUE_TRAITS
from cible.features.rfm import RFM_COLUMNS
from cible.segments.cluster_members import load_cluster_segments
from cible.segments.compiler import compile_members
from cible.segments.definition import SegmentDefinition
from cible.segments.dependencies import evaluation_order
from cible.segments.runner import (
    ALL_TRAITS,
    PROFILING_TRAITS,
    builtin_members,
    exclusive_members,
    load_segments,
    raw_traits,
    rule_members,
)
from cible.store.prepared import Plan
from cible.store.runs import TRAITS
from cible.store.store import Hold, Store

_log = logging.getLogger(__name__)

#: Traits ranked or scored against the whole population: a live refresh reads them
#: from the latest run.
POPULATION_TRAITS: tuple[str, ...] = (
    *RFM_COLUMNS,
    *(t.name for t in TYPOLOGY_TRAITS + VALUE_TRAITS + CHURN_TRAITS),
)
#: Tables whose rows belong to one customer: restricted to the customers refreshed.
_PER_CUSTOMER = ("customers", "orders", "events", "consents", "customer_tags")
#: Up to this many customers, tables are restricted by a literal list of ids (index
#: look-ups); beyond, by a join with a table of the ids (one scan each).
_LISTED = 200
#: The event columns traits and segments read.
_EVENT_COLUMNS = ("customer_id", "type", "event", "timestamp", "properties")


@dataclass(frozen=True)
class LiveRefresh:
    """What one live refresh did.

    Attributes
    ----------
    customers : int
        Customers re-evaluated (0 before the first run).
    entered, exited : int
        Transitions written to the membership history and the outbox.
    as_of : datetime
        The moment they were evaluated at, and the time of the transitions.
    deferred : bool
        True when another process was running a run on the shared workspace
        (PostgreSQL): nothing was evaluated; the sweep brings these customers up to
        date.
    """

    customers: int
    entered: int
    exited: int
    as_of: datetime
    deferred: bool = False


#: How long a live refresh waits for another process's run on a shared workspace.
LIVE_WAIT_SECONDS = 1.0


def refresh_customers(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    customer_ids: Iterable[str | None],
    *,
    anonymous_ids: Iterable[str | None] = (),
    as_of: datetime | None = None,
    source: str = "live",
) -> LiveRefresh:
    """Re-evaluate ``customer_ids`` (and the customers ``anonymous_ids`` are linked to).

    See the module's description; ``source`` (``live``, ``sweep``) is written in the
    outbox. Returns the counts.
    """
    moment = utc_now() if as_of is None else normalise_as_of(as_of)
    if not store.has_run():
        return LiveRefresh(0, 0, 0, moment)
    wanted = {i for i in customer_ids if i is not None}
    anonymous = sorted({i for i in anonymous_ids if i is not None})
    if anonymous:
        identities = store.table("identities")
        linked = identities.filter(identities.anonymous_id.isin(anonymous)).customer_id
        wanted.update(i for i in linked.to_pyarrow().to_pylist() if i is not None)
    if not wanted:
        return LiveRefresh(0, 0, 0, moment)
    ids = sorted(wanted)
    # Read and written in one turn; a run of another process holding it for minutes
    # is not waited for: the events are stored, the sweep re-evaluates these customers.
    with store.history_turn(wait=LIVE_WAIT_SECONDS) as turn:
        if not turn:
            return LiveRefresh(0, 0, 0, moment, deferred=True)
        traits, members = evaluate_customers(store, registry, config, ids, moment)
        record = store.commit_live(
            ids=ids, traits=traits, members=members, at=moment, source=source
        )
    return LiveRefresh(record.customers, record.entered, record.exited, moment)


def prepare(store: Store, registry: FieldRegistry, config: WorkspaceConfig) -> bool:
    """Record the plan live refreshes replay, before the first event needs it.

    Recording costs a few evaluations (about a second on a large workspace); a server
    does it when it starts. Returns whether there was anything to prepare (a run).
    """
    if not store.has_run():
        return False
    evaluate_customers(store, registry, config, [], utc_now())
    return True


def evaluate_customers(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    ids: Sequence[str],
    as_of: datetime,
) -> tuple[str, ir.Table]:
    """Traits and memberships of the customers ``ids`` as of ``as_of``.

    Population-relative traits and cluster assignments come from the latest run.
    Returns the name of the temporary table holding their traits (the columns of the
    traits table) and their memberships (``segment_id, dimension, customer_id``),
    exclusive dimensions resolved as a run resolves them.

    The work comes in two parts. First every table is restricted to the customers
    (:func:`_restrict`): the only part that depends on ``ids``. Then the traits and
    segments are computed from those few rows by the steps of :func:`_evaluate`, whose
    compiled SQL is kept (:mod:`cible.store.prepared`) and run again by the next
    refreshes as long as the segments, the settings and the tables' columns stay
    the same: compiling them costs more than running them.
    """
    held = _restrict(store, ids)
    # Objections are read as of now when ``as_of`` is past (they govern the processing
    # done now): held outside the recorded steps, which see only ``as_of``.
    store.hold("_live_objectors", objecting_customers(held["consents"], objection_moment(as_of)))
    key = (
        config.model_dump_json(),
        tuple(tuple(row.values()) for row in _stored_segments(store)),
        tuple((name, tuple(table.schema().items())) for name, table in sorted(held.items())),
    )
    plan = _PLANS.get(key)
    if plan is None:
        definitions = load_segments(store, registry)
        dimensions = sorted({c.dimension for c in load_cluster_segments(store)})

        def build(moment: datetime, hold: Hold) -> None:
            _evaluate(store, config, definitions, dimensions, moment, hold)

        if key not in _PLANS:
            if len(_PLANS) >= _MAX_PLANS:
                _PLANS.pop(next(iter(_PLANS)))
            _PLANS[key] = plan = store.record(build)
            if plan is None:
                _log.warning("Live refresh: no reusable plan; each refresh compiles its queries.")
        if plan is None:
            build(as_of, store.hold)
    if plan is not None:
        store.replay(plan, as_of)
    return "_live_traits", store.table("_live_members")


#: Recorded plans by what they were built from (settings, segments, columns).
_PLANS: dict[tuple[Any, ...], Plan | None] = {}
_MAX_PLANS = 8


def _stored_segments(store: Store) -> list[dict[str, Any]]:
    table = store.table("segments")
    rows: list[dict[str, Any]] = (
        table.select("segment_id", "kind", "dimension", "definition")
        .order_by("segment_id")
        .to_pyarrow()
        .to_pylist()
    )
    return rows


def _restrict(store: Store, ids: Sequence[str]) -> dict[str, ir.Table]:
    """Hold the rows of ``ids`` of every table a refresh reads, under ``_live_<table>``.

    Each table is read once. A few ids (up to :data:`_LISTED`) are a literal list,
    which DuckDB looks up through the table's index (:mod:`cible.store.indexes`): a
    join with a table of ids would scan the whole table. More ids (a sweep's page)
    are such a join, one scan: a list of thousands of literals is tested row by row
    and runs for minutes. ``_live_population`` holds their population traits from
    the latest run and ``_live_history`` their memberships, past and open.
    """
    if len(ids) <= _LISTED:
        wanted: Any = list(ids)
    else:
        wanted = store.hold("_live_ids", pa.table({"customer_id": pa.array(ids, pa.string())}))
        wanted = wanted.customer_id
    held: dict[str, ir.Table] = {}
    for name in _PER_CUSTOMER:
        table = store.table(name)
        rows = table.filter(table.customer_id.isin(wanted))
        if name == "events":
            # Each row is fetched column by column from wherever it lies in the file:
            # the columns no trait or segment reads (context, ids, reception) are left.
            rows = rows.select(*(c for c in _EVENT_COLUMNS if c in table.columns))
        held[name] = store.hold(f"_live_{name}", rows)
    orders: Any = held["orders"].order_id
    if len(ids) <= _LISTED:
        listed = orders.to_pyarrow().to_pylist()
        # A few customers may still have many orders (a wholesaler): the join then.
        orders = listed if len(listed) <= _LISTED * 10 else orders
    lines = store.table("order_lines")
    held["order_lines"] = store.hold("_live_order_lines", lines.filter(lines.order_id.isin(orders)))
    latest = store.table(TRAITS)
    held["population"] = store.hold(
        "_live_population",
        latest.filter(latest.customer_id.isin(wanted)).select("customer_id", *POPULATION_TRAITS),
    )
    history = store.table("segment_memberships")
    # By id alone: a second condition (exited_at IS NULL) would make DuckDB scan the
    # table instead of using its index; the open ones are picked from these few rows.
    held["history"] = store.hold(
        "_live_history",
        history.filter(history.customer_id.isin(wanted)).select(
            "segment_id", "dimension", "customer_id", "exited_at"
        ),
    )
    return held


def _evaluate(
    store: Store,
    config: WorkspaceConfig,
    definitions: Sequence[SegmentDefinition],
    cluster_dimensions: Sequence[str],
    as_of: datetime,
    hold: Hold,
) -> None:
    """Hold ``_live_traits`` and ``_live_members`` from the ``_live_*`` tables.

    Reads nothing but the tables :func:`_restrict` held, ``_live_objectors`` and the
    small ``products``, and ``as_of`` only through the traits' and segments' own
    expressions, so that its steps can be recorded once and replayed for other
    customers and moments.
    """
    per_customer = {*_PER_CUSTOMER, "order_lines"}

    def restricted(name: str) -> ir.Table:
        return store.table(f"_live_{name}" if name in per_customer else name)

    raw = hold("_live_raw", raw_traits(restricted, config, as_of))
    stages = add_lifecycle(
        raw.select(
            "customer_id",
            "frequency",
            "recency_days",
            "mean_days_between_orders",
            "first_order_at",
            "last_order_at",
        ),
        restricted("orders"),
        as_of=as_of,
        settings=config.lifecycle,
    ).select("customer_id", *LIFECYCLE_COLUMNS)
    population = store.table("_live_population")
    joined = raw.left_join(stages, "customer_id").left_join(population, "customer_id")
    # An objection recorded since the latest run counts at once: the customer's
    # scores are dropped and every automated membership exits with this refresh.
    objectors = store.table("_live_objectors")
    traits = hold(
        "_live_traits",
        unprofiled(
            joined.select(
                "customer_id", **{t.name: joined[t.name].cast(t.dtype) for t in ALL_TRAITS}
            ),
            objectors,
            PROFILING_TRAITS,
        ),
    )
    history = store.table("_live_history")
    clusters = history.filter(
        history.exited_at.isnull(),
        history.dimension.isin(cluster_dimensions) if cluster_dimensions else ibis.literal(False),
    ).select(
        "segment_id", "dimension", priority=ibis.literal(0, dt.int64), customer_id="customer_id"
    )
    builtin = ibis.union(builtin_members(traits), clusters)
    evaluated: dict[str, ir.Table] = {}

    def membership(segment_id: str) -> ir.Table:
        if segment_id in evaluated:
            return evaluated[segment_id]
        return builtin.filter(builtin.segment_id == segment_id).select("customer_id")

    base = without_objectors(traits, objectors).join(restricted("customers"), "customer_id")
    by_id = {d.id: d for d in definitions}
    for segment_id in evaluation_order(definitions):
        members = compile_members(
            by_id[segment_id],
            base=base,
            events=restricted("events"),
            consents=restricted("consents"),
            tags=restricted("customer_tags"),
            as_of=as_of,
            membership=membership,
        )
        evaluated[segment_id] = hold(f"_live_segment_{len(evaluated)}", members)
    pieces = [builtin, *(rule_members(by_id[i], m) for i, m in evaluated.items())]
    contested = {d.dimension for d in definitions if d.dimension is not None}
    # Cluster memberships come from the history: an objector leaves them here.
    hold(
        "_live_members",
        without_objectors(exclusive_members(ibis.union(*pieces), contested), objectors),
    )


def customer_page(customers: ir.Table, *, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` customer ids after ``after`` (from the first when None), in order.

    A sweep walks the whole customer table this way, one page per refresh.

    Examples
    --------
    >>> t = ibis.memtable({"customer_id": ["b", "a", "c"]})
    >>> customer_page(t, after=None, limit=2), customer_page(t, after="b", limit=2)
    (['a', 'b'], ['c'])
    """
    rows = customers.filter(customers.customer_id.notnull())
    if after is not None:
        rows = rows.filter(rows.customer_id > ibis.literal(after, dt.string))
    page = rows.select("customer_id").order_by("customer_id").limit(limit)
    return [str(i) for i in page.to_pyarrow().column(0).to_pylist()]
