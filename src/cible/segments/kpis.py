"""KPIs per segment over time (``ws.kpis``): the figures a marketer follows each month.

At each kept snapshot and now (the latest run), for each segment: its size, and what
its members did in the period that ends there (a calendar month by default): buyers,
revenue, average order value, purchase frequency, conversion, churn, e-mail open and
click rates, NPS, CSAT, support tickets per 100 members, with the members' average
CLV and acquisition cost. Also the retention triangle of a segment's cohorts and the
revenue Pareto of a dimension. docs/kpis.md defines every figure.

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
...     _ = ws.snapshots.take(datetime(1998, 6, 1))
...     rows = ws.kpis.per_segment(dimension="lifecycle")
...     shares = ws.kpis.pareto("lifecycle")
>>> sorted({f"{row.as_of:%Y-%m-%d}" for row in rows})
['1998-06-01', '1998-07-01']
>>> round(sum(share.revenue_share or 0 for share in shares), 6)
1.0
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.clock import normalise_as_of
from cible.domain.errors import CibleError
from cible.segments.cac import customer_cac
from cible.segments.catalog import Segments
from cible.segments.cohorts import Cohort, retention_triangle
from cible.segments.kpi_facts import (
    email_facts,
    order_facts,
    period_facts,
    segment_kpis,
    survey_facts,
    ticket_facts,
)
from cible.segments.kpi_moments import NOW, KpiMoment, check_period, kpi_moments
from cible.segments.revenue_pareto import ParetoShare, revenue_pareto
from cible.store import runs
from cible.store.snapshots import MEMBERS as SNAPSHOT_MEMBERS
from cible.store.snapshots import TRAITS as SNAPSHOT_TRAITS
from cible.store.store import Store

#: The trait averaged as the members' CLV.
CLV_TRAIT = "clv_12m"


@dataclass(frozen=True)
class KpiRow:
    """One segment's KPIs at one moment (docs/kpis.md defines each)."""

    as_of: datetime
    #: Whether the moment is now (the latest run) rather than a kept snapshot.
    now: bool
    period_start: datetime
    segment_id: str
    dimension: str | None
    size: int
    buyers: int
    orders: int
    revenue: float
    avg_order_value: float | None
    frequency: float | None
    avg_clv: float | None
    previous_buyers: int
    churn_rate: float | None
    conversion: float | None
    mailed: int
    open_rate: float | None
    click_rate: float | None
    nps_answers: int
    nps: float | None
    csat_answers: int
    csat: float | None
    tickets: int | None
    tickets_per_100: float | None
    avg_cac: float | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON and CSV."""
        return asdict(self)


@dataclass(frozen=True)
class SizeRow:
    """A segment's size at a moment (a kept snapshot, or now: the latest run)."""

    as_of: datetime
    segment_id: str
    size: int


class Kpis:
    """``ws.kpis``: KPIs per segment over time, cohort retention, revenue Pareto."""

    def __init__(self, store: Store, segments: Segments) -> None:
        self._store = store
        self._segments = segments

    def per_segment(
        self,
        *,
        dimension: str | None = None,
        segment: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        period: str = "month",
    ) -> list[KpiRow]:
        """The KPIs of every segment at every moment from ``start`` to ``end``.

        Parameters
        ----------
        dimension, segment : str, optional
            Only this dimension's segments, or only this segment.
        start, end : datetime, optional
            Only moments in ``[start, end]`` (naive means UTC).
        period : str
            ``week``, ``month`` (default) or ``quarter``: the window ending at each
            moment that "in the period" figures count.

        Returns
        -------
        list of KpiRow
            Oldest moment first, then by dimension and segment.
        """
        check_period(period)
        self._check_filters(dimension, segment)
        moments = self._moments(start, end, period)
        if not moments:
            return []
        moments_table = ibis.memtable(
            {
                "moment_id": [m.moment_id for m in moments],
                "as_of": [m.as_of for m in moments],
                "period_start": [m.period_start for m in moments],
                "previous_start": [m.previous_start for m in moments],
            },
            schema={
                "moment_id": "int64",
                "as_of": "timestamp",
                "period_start": "timestamp",
                "previous_start": "timestamp",
            },
        )
        table = self._store.table
        members = self._members(moments)
        if dimension is not None:
            members = members.filter(members.dimension == dimension)
        if segment is not None:
            members = members.filter(members.segment_id == segment)
        facts = period_facts(
            order_facts(table("orders"), moments_table),
            email_facts(table("events"), moments_table),
            survey_facts(table("surveys"), moments_table),
            ticket_facts(table("tickets"), moments_table),
        )
        cac = customer_cac(table("customers"), table("orders"), table("acquisition_costs"))
        kpis = segment_kpis(members, facts, self._values(moments), cac)
        has_tickets = bool(table("tickets").count().execute())
        by_id = {m.moment_id: m for m in moments}
        rows = []
        for found in kpis.to_pyarrow().to_pylist():
            moment = by_id[found.pop("moment_id")]
            if not has_tickets:
                found["tickets"] = found["tickets_per_100"] = None
            rows.append(
                KpiRow(
                    as_of=moment.as_of,
                    now=moment.moment_id == NOW,
                    period_start=moment.period_start,
                    **found,
                )
            )
        rows.sort(key=lambda r: (r.as_of, r.dimension or "", r.segment_id))
        return rows

    def sizes(self, *, segment: str | None = None) -> list[SizeRow]:
        """Each segment's size at every moment :meth:`per_segment` knows, oldest first.

        The ``size`` of :meth:`per_segment` alone, without the order, e-mail and value
        facts it computes for every other KPI: a trend on a page needs no more. Now's
        sizes are the latest run's figures (:meth:`cible.segments.catalog.Segments.list`);
        a segment without members at a moment has no row for it.
        """
        # Raises for an unknown segment before any query.
        one = None if segment is None else self._segments.get(segment)
        moments = self._moments(None, None, "month")
        kept = [m.moment_id for m in moments if m.moment_id != NOW]
        sizes: dict[tuple[int, str], int] = {}
        if kept:
            members = self._store.table(SNAPSHOT_MEMBERS)
            members = members.filter(members.snapshot_id.isin(kept))
            if segment is not None:
                members = members.filter(members.segment_id == segment)
            counts = members.group_by("snapshot_id", "segment_id").aggregate(size=members.count())
            for row in counts.to_pyarrow().to_pylist():
                sizes[(row["snapshot_id"], row["segment_id"])] = row["size"]
        if len(kept) < len(moments):
            infos = self._segments.list() if one is None else [one]
            sizes.update({(NOW, info.id): info.size for info in infos if info.size})
        at = {m.moment_id: m.as_of for m in moments}
        rows = [SizeRow(at[moment], sid, size) for (moment, sid), size in sizes.items()]
        return sorted(rows, key=lambda r: (r.as_of, r.segment_id))

    def cohorts(self, segment_id: str, *, months: int = 12) -> list[Cohort]:
        """Retention by first-purchase month of the segment's current members.

        The cohorts of the last ``months`` months up to the latest run, oldest first;
        see :mod:`cible.segments.cohorts`.
        """
        if months < 1:
            raise CibleError(f"months must be at least 1, got {months}.")
        self._segments.entry(segment_id)
        as_of = self._now()
        current = self._current()
        members = current.filter(current.segment_id == segment_id).select("customer_id")
        return retention_triangle(self._store.table("orders"), members, as_of, months=months)

    def pareto(self, dimension: str) -> list[ParetoShare]:
        """The dimension's segments, most revenue first, with their shares of customers
        and revenue and the running totals (see :mod:`cible.segments.revenue_pareto`)."""
        self._check_filters(dimension, None)
        self._now()
        current = self._current().select("segment_id", "dimension", "customer_id")
        return revenue_pareto(self._store.table(runs.TRAITS), current, dimension)

    # -- inputs ---------------------------------------------------------------------

    def _check_filters(self, dimension: str | None, segment: str | None) -> None:
        if dimension is None and segment is None:
            return
        infos = self._segments.catalogue()
        if segment is not None:
            self._segments.entry(segment)
        known = sorted({i.dimension for i in infos if i.dimension})
        if dimension is not None and dimension not in known:
            raise CibleError(f"No dimension {dimension!r}; known: {', '.join(known)}.")

    def _now(self) -> datetime:
        """The latest run's moment; ``CibleError`` before the first run."""
        log = self._store.table("runs")
        found = log.order_by(log.run_id.desc()).limit(1).to_pyarrow().to_pylist()
        if not found:
            raise CibleError("No run yet: run `cible run` first, then `cible kpis`.")
        return normalise_as_of(found[0]["as_of"])

    def _moments(
        self, start: datetime | None, end: datetime | None, period: str
    ) -> list[KpiMoment]:
        now = self._now()
        first = None if start is None else normalise_as_of(start)
        last = None if end is None else normalise_as_of(end)

        def wanted(moment: datetime) -> bool:
            return (first is None or moment >= first) and (last is None or moment <= last)

        # A run kept as a snapshot is the same moment as now: the live tables stand for it.
        chosen = [
            (row.snapshot_id, normalise_as_of(row.as_of))
            for row in self._store.list_snapshots()
            if wanted(normalise_as_of(row.as_of)) and normalise_as_of(row.as_of) != now
        ]
        if wanted(now):
            chosen.append((NOW, now))
        return kpi_moments(chosen, period)

    def _current(self) -> Any:
        history = self._store.table("segment_memberships")
        return history.filter(history.exited_at.isnull())

    def _members(self, moments: list[KpiMoment]) -> Any:
        """``moment_id, segment_id, dimension, customer_id`` at every moment."""
        ids = [m.moment_id for m in moments if m.moment_id != NOW]
        parts = []
        if ids:
            kept = self._store.table(SNAPSHOT_MEMBERS)
            kept = kept.filter(kept.snapshot_id.isin(ids))
            parts.append(
                kept.select(
                    moment_id=kept.snapshot_id.cast(dt.int64),
                    # Snapshot columns are NOT NULL, the live ones not: a union needs one type.
                    segment_id=kept.segment_id.cast(dt.String(nullable=True)),
                    dimension=kept.dimension,
                    customer_id=kept.customer_id.cast(dt.String(nullable=True)),
                )
            )
        if len(ids) < len(moments):
            current = self._current()
            parts.append(
                current.select(
                    moment_id=ibis.literal(NOW, dt.int64),
                    segment_id=current.segment_id,
                    dimension=current.dimension,
                    customer_id=current.customer_id,
                )
            )
        return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]

    def _values(self, moments: list[KpiMoment]) -> Any:
        """``moment_id, customer_id, clv`` at every moment."""
        ids = [m.moment_id for m in moments if m.moment_id != NOW]
        parts = []
        if ids:
            kept = self._store.table(SNAPSHOT_TRAITS)
            if "customer_id" in kept.columns:
                kept = kept.filter(kept.snapshot_id.isin(ids))
                parts.append(
                    kept.select(
                        moment_id=kept.snapshot_id.cast(dt.int64),
                        customer_id=kept.customer_id.cast(dt.String(nullable=True)),
                        clv=_clv(kept),
                    )
                )
        if len(ids) < len(moments):
            current = self._store.table(runs.TRAITS)
            parts.append(
                current.select(
                    moment_id=ibis.literal(NOW, dt.int64),
                    customer_id=current.customer_id,
                    clv=_clv(current),
                )
            )
        if not parts:
            return ibis.memtable(
                {"moment_id": [], "customer_id": [], "clv": []},
                schema={"moment_id": "int64", "customer_id": "string", "clv": "float64"},
            )
        return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _clv(traits: Any) -> Any:
    """The CLV trait as float, NULL in tables written before it existed."""
    if CLV_TRAIT in traits.columns:
        return traits[CLV_TRAIT].cast(dt.float64)
    return ibis.null(dt.float64)
