"""Migrations: where the customers of one dimension went between two moments.

The membership history (``segment_memberships``: who entered and left each segment,
when) gives the segment of every customer at any moment: the membership open then
(entered at or before it, not exited by then). Two such snapshots of one dimension,
joined by customer, give the migration matrix: how many customers went from each
segment (or from none, ``(none)``) to each segment (or none). From it come each
segment's size at both moments, what flowed in and out, and its churn (the share of
its members at the start who are elsewhere at the end). The median time in segment
is read from the memberships of each segment that began by the end: how long they
lasted, or have lasted so far. A moment with a snapshot taken as of it reads the
snapshot's memberships (:mod:`cible.store.snapshots`), which is how months replayed
by a backfill, never run live, can be compared.

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
...     _ = ws.run(as_of=datetime(1997, 9, 1))
...     _ = ws.run(as_of=datetime(1998, 3, 1))
...     moved = ws.segments.migration("lifecycle", datetime(1997, 9, 1), datetime(1998, 3, 1))
>>> sum(cell.customers for cell in moved.cells) == moved.customers
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cible.domain.clock import normalise_as_of
from cible.domain.errors import CibleError
from cible.store.store import Store

#: The row and column of customers in no segment of the dimension.
NONE = "(none)"


@dataclass(frozen=True)
class Cell:
    """Customers who were in ``source`` at the start and in ``target`` at the end."""

    source: str
    target: str
    customers: int
    share_of_source: float


@dataclass(frozen=True)
class Flow:
    """One segment between the two moments."""

    segment_id: str
    at_start: int
    at_end: int
    stayed: int
    inflow: int
    outflow: int
    churn: float | None
    median_days_in_segment: float | None


@dataclass(frozen=True)
class Migration:
    """The migration of a dimension's customers between ``start`` and ``end``."""

    dimension: str
    start: datetime
    end: datetime
    customers: int
    cells: list[Cell] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)


def snapshot(memberships: ir.Table, dimension: str, moment: datetime) -> ir.Table:
    """``customer_id, segment_id``: each customer's segment of ``dimension`` at ``moment``."""
    at = ibis.literal(moment, "timestamp")
    open_then = memberships.filter(
        memberships.dimension == dimension,
        memberships.entered_at <= at,
        memberships.exited_at.isnull() | (memberships.exited_at > at),
    )
    return open_then.select("customer_id", "segment_id").distinct()


def at_moment(store: Store, dimension: str, moment: datetime) -> ir.Table:
    """``customer_id, segment_id`` of ``dimension`` at ``moment``.

    Read from the snapshot taken as of ``moment`` when there is one (a backfilled
    month has no membership history), else from the membership history.
    """
    snapshots = store.table("snapshots")
    found = (
        snapshots.filter(snapshots.as_of == ibis.literal(moment, "timestamp"))
        .order_by(ibis.desc("snapshot_id"))
        .limit(1)
        .snapshot_id.to_pyarrow()
        .to_pylist()
    )
    if found:
        members = store.table("snapshot_members")
        return (
            members.filter(members.snapshot_id == found[0], members.dimension == dimension)
            .select("customer_id", "segment_id")
            .distinct()
        )
    return snapshot(store.table("segment_memberships"), dimension, moment)


def known_dimensions(store: Store) -> set[str]:
    """Dimensions with membership history or in a snapshot."""
    found: set[str] = set()
    for name in ("segment_memberships", "snapshot_members"):
        table = store.table(name)
        found |= {
            d for d in table.select("dimension").distinct().dimension.to_pyarrow().to_pylist() if d
        }
    return found


def migrate(store: Store, dimension: str, start: datetime, end: datetime) -> Migration:
    """The migration of ``dimension`` between ``start`` and ``end`` (see the module).

    Raises
    ------
    CibleError
        When the dimension has no membership history, or ``end`` is before ``start``.
    """
    begin, finish = normalise_as_of(start), normalise_as_of(end)
    if finish < begin:
        raise CibleError(f"The end {finish:%Y-%m-%d} is before the start {begin:%Y-%m-%d}.")
    dimensions = known_dimensions(store)
    if dimension not in dimensions:
        listed = ", ".join(sorted(dimensions)) or "none yet: run `cible run`"
        raise CibleError(f"No membership history for dimension {dimension!r} ({listed}).")
    memberships = store.table("segment_memberships")
    first = at_moment(store, dimension, begin)
    last = at_moment(store, dimension, finish)
    # Everyone known now, and anyone a snapshot holds who has since gone (erased).
    customers = ibis.union(
        *(
            t.select(customer_id=t.customer_id.cast("string"))
            for t in (store.table("customers"), first, last)
        )
    ).distinct()
    sources = customers.left_join(first, "customer_id").select(
        "customer_id", source=ibis.coalesce(first.segment_id, ibis.literal(NONE))
    )
    targets = customers.left_join(last, "customer_id").select(
        "customer_id", target=ibis.coalesce(last.segment_id, ibis.literal(NONE))
    )
    pairs = sources.join(targets, "customer_id")
    counts = pairs.group_by(["source", "target"]).aggregate(customers=pairs.count())
    rows = counts.order_by(["source", "target"]).to_pyarrow().to_pylist()
    by_source: dict[str, int] = {}
    for row in rows:
        by_source[row["source"]] = by_source.get(row["source"], 0) + int(row["customers"])
    cells = [
        Cell(r["source"], r["target"], int(r["customers"]), r["customers"] / by_source[r["source"]])
        for r in rows
    ]
    # Months replayed by a backfill have no history: their spells come from snapshots.
    durations = {
        **_snapshot_median_days(store, dimension, finish),
        **_median_days(memberships, dimension, finish),
    }
    segments = sorted({c.source for c in cells} | {c.target for c in cells} - {NONE})
    flows = []
    for segment in segments:
        if segment == NONE:
            continue
        at_start = sum(c.customers for c in cells if c.source == segment)
        at_end = sum(c.customers for c in cells if c.target == segment)
        stayed = sum(c.customers for c in cells if c.source == segment == c.target)
        flows.append(
            Flow(
                segment_id=segment,
                at_start=at_start,
                at_end=at_end,
                stayed=stayed,
                inflow=at_end - stayed,
                outflow=at_start - stayed,
                churn=(at_start - stayed) / at_start if at_start else None,
                median_days_in_segment=durations.get(segment),
            )
        )
    return Migration(dimension, begin, finish, sum(by_source.values()), cells, flows)


def _median_days(memberships: ir.Table, dimension: str, end: datetime) -> dict[str, float]:
    """Median length, in days, of each segment's memberships begun by ``end``."""
    at = ibis.literal(end, "timestamp")
    mine = memberships.filter(memberships.dimension == dimension, memberships.entered_at <= at)
    stop = ibis.ifelse(mine.exited_at.isnull() | (mine.exited_at > at), at, mine.exited_at)
    seconds = stop.epoch_seconds() - mine.entered_at.epoch_seconds()
    medians = (
        mine.mutate(days=seconds / 86_400)
        .group_by("segment_id")
        .aggregate(median=ibis._.days.median())
    )
    return {r["segment_id"]: float(r["median"]) for r in medians.to_pyarrow().to_pylist()}


def _snapshot_median_days(store: Store, dimension: str, end: datetime) -> dict[str, float]:
    """Median length, in days, of each segment's spells across the snapshots up to ``end``.

    A spell is a run of consecutive snapshots holding the customer in the segment; it
    lasts from the first of them to the one after its last (the customer had left by
    then), or to ``end`` when it is still open. Snapshots are months apart, so this is
    the membership history at their resolution.
    """
    kept = store.table("snapshots")
    moments = (
        kept.filter(kept.as_of <= ibis.literal(end, "timestamp"))
        .group_by("as_of")
        .aggregate(snapshot_id=kept.snapshot_id.max())
        .order_by("as_of")
        .to_pandas()
    )
    if len(moments) < 2:
        return {}
    members = store.table("snapshot_members")
    found = (
        members.filter(
            members.snapshot_id.isin(moments.snapshot_id.tolist()), members.dimension == dimension
        )
        .select("snapshot_id", "segment_id", "customer_id")
        .to_pandas()
    )
    if found.empty:
        return {}
    position = {sid: i for i, sid in enumerate(moments.snapshot_id)}
    found["at"] = found.snapshot_id.map(position)
    return spell_medians(found, [*moments.as_of], end)


def spell_medians(found: pd.DataFrame, moments: list[datetime], end: datetime) -> dict[str, float]:
    """Median days of each segment's spells, from memberships at numbered moments.

    ``found`` holds ``segment_id, customer_id, at`` (the position of a moment in
    ``moments``, in time order). A spell is a run of consecutive positions; it lasts
    from its first moment to the moment after its last, or to ``end`` when it holds at
    the last moment.

    Examples
    --------
    >>> months = [datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 3, 1)]
    >>> found = pd.DataFrame({"segment_id": ["s", "s", "s", "s"],
    ...                       "customer_id": ["a", "a", "b", "b"], "at": [0, 1, 0, 2]})
    >>> spell_medians(found, months, datetime(2024, 3, 11))
    {'s': 31.0}
    """
    times = [*moments, end]
    last = len(moments) - 1
    found = found.sort_values(["segment_id", "customer_id", "at"])
    same = (found.segment_id == found.segment_id.shift()) & (
        found.customer_id == found.customer_id.shift()
    )
    found = found.assign(spell=(~(same & (found["at"] == found["at"].shift() + 1))).cumsum())
    spells = found.groupby(["segment_id", "spell"])["at"].agg(["min", "max"])
    stop = [times[m + 1] if m < last else end for m in spells["max"]]
    spells["days"] = [
        (b - times[a]).total_seconds() / 86_400 for a, b in zip(spells["min"], stop, strict=True)
    ]
    medians = spells.groupby(level="segment_id").days.median()
    return {str(k): float(v) for k, v in medians.items()}
