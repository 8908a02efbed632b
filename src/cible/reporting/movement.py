"""The movement section of the report: where customers went, and what drifted.

For the lifecycle stages, value tiers, RFM segments and every clustering, the
migration (:func:`cible.segments.migration.migrate`) between a **start** and the
latest run's ``as_of`` (the **end**), drawn as a Sankey chart
(:func:`cible.reporting.sankey.layout_sankey`) with each segment's inflow, outflow,
churn and median days in segment beneath it. The start is the latest moment at
least ``[drift] reference_days`` before the end that the dimension can be read at:
a snapshot holding it, or a run (through the membership history) made since the
dimension had members. A dimension with no such moment is left out, and the
section says how to get one (``cible snapshots backfill``). The latest drift check's
alerts follow, in the report's language.

Examples
--------
A workspace before its first run has nothing to show (``tests/reporting`` builds the
section from runs):

>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     section = build_movement(ws.store, ws.segments.list(), "en", reference_days=90)
>>> section.empty, section.blocks
(True, [])
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from cible.domain.clock import normalise_as_of
from cible.locale.messages import text
from cible.reporting.model import Movement, MovementAlert, MovementBlock, MovementRow
from cible.reporting.sankey import layout_sankey
from cible.segments.catalog import SegmentInfo
from cible.segments.migration import NONE, known_dimensions, migrate
from cible.store.store import Store

#: The built-in dimensions the section shows, in this order; clusterings follow.
BUILTIN = ("lifecycle", "value", "rfm")


def build_movement(
    store: Store, infos: list[SegmentInfo], lang: str, *, reference_days: int
) -> Movement:
    """The movement section as of the latest run, in ``lang`` (see the module).

    ``infos`` are the workspace's segments (``ws.segments.list()``): their names,
    colours and order label the chart. Before any run the section is empty.
    """
    log = store.table("runs")
    ran = [normalise_as_of(m) for m in log.as_of.to_pyarrow().to_pylist() if m is not None]
    latest = log.order_by(log.run_id.desc()).limit(1).as_of.to_pyarrow().to_pylist()
    if not latest:
        return Movement()
    end = normalise_as_of(latest[0])
    limit = end - timedelta(days=reference_days)
    known = known_dimensions(store)
    clustered = sorted({i.dimension for i in infos if i.kind == "cluster" and i.dimension})
    wanted = [d for d in (*BUILTIN, *clustered) if d in known]
    moments = _readable_moments(store, wanted, ran)
    blocks, missing = [], []
    for dimension in wanted:
        before = [m for m in moments[dimension] if m <= limit]
        if not before:
            missing.append(_title(dimension, lang))
            continue
        blocks.append(_block(store, infos, dimension, max(before), end, lang))
    checks = store.drift_checks(limit=1)
    alerts: list[MovementAlert] = []
    check_as_of = check_reference = None
    if checks:
        check = checks[0]
        check_as_of, check_reference = check.as_of, check.reference_as_of
        for alert in json.loads(check.report).get("alerts") or []:
            alerts.append(
                MovementAlert(
                    kind=str(alert.get("kind", "")),
                    subject=str(alert.get("subject", "")),
                    what=_in(alert.get("what"), lang),
                    action=_in(alert.get("action"), lang),
                )
            )
    return Movement(
        end=end,
        reference_days=reference_days,
        blocks=blocks,
        missing=missing,
        check_as_of=check_as_of,
        check_reference=check_reference,
        alerts=alerts,
    )


def _readable_moments(
    store: Store, dimensions: list[str], ran: list[datetime]
) -> dict[str, set[datetime]]:
    """For each dimension, the moments a migration can start from.

    A moment with a snapshot is read from its latest snapshot
    (:func:`cible.segments.migration.at_moment`): it counts when that snapshot holds
    the dimension. Another run moment is read from the membership history: it counts
    once the dimension had its first member, so that a clustering fitted last week
    does not show everyone arriving from nowhere.
    """
    snapshots = store.list_snapshots()
    latest: dict[datetime, int] = {}
    for row in snapshots:  # oldest moment first; several at one moment: the newest id wins
        moment = normalise_as_of(row.as_of)
        latest[moment] = max(latest.get(moment, row.snapshot_id), row.snapshot_id)
    members = store.table("snapshot_members")
    held: dict[str, set[int]] = {}
    for row in members.select("snapshot_id", "dimension").distinct().to_pyarrow().to_pylist():
        held.setdefault(row["dimension"], set()).add(row["snapshot_id"])
    history = store.table("segment_memberships")
    first = {
        row["dimension"]: normalise_as_of(row["first"])
        for row in history.group_by("dimension")
        .aggregate(first=history.entered_at.min())
        .to_pyarrow()
        .to_pylist()
        if row["dimension"] is not None and row["first"] is not None
    }
    found: dict[str, set[datetime]] = {}
    for dimension in dimensions:
        ids = held.get(dimension, set())
        mine = {m for m, snapshot_id in latest.items() if snapshot_id in ids}
        began = first.get(dimension)
        if began is not None:
            mine |= {m for m in ran if m not in latest and m >= began}
        found[dimension] = mine
    return found


def _block(
    store: Store,
    infos: list[SegmentInfo],
    dimension: str,
    start: datetime,
    end: datetime,
    lang: str,
) -> MovementBlock:
    moved = migrate(store, dimension, start, end)
    own = [i for i in infos if i.dimension == dimension]
    by_id = {i.id: i for i in own}
    labels = {i.id: i.label(lang) for i in own} | {NONE: text("movement_none", lang)}
    colors = {i.id: i.color for i in own}
    chart = layout_sankey(
        {(c.source, c.target): c.customers for c in moved.cells},
        labels=labels,
        colors=colors,
        order=[i.id for i in own],
        other_label=text("movement_other", lang),
    )
    rows = [
        MovementRow(
            segment_id=flow.segment_id,
            name=labels.get(flow.segment_id, flow.segment_id),
            color=by_id[flow.segment_id].color if flow.segment_id in by_id else "#adb5bd",
            at_start=flow.at_start,
            at_end=flow.at_end,
            inflow=flow.inflow,
            outflow=flow.outflow,
            churn=flow.churn,
            median_days=flow.median_days_in_segment,
        )
        for flow in moved.flows
    ]
    place = {i.id: n for n, i in enumerate(own)}
    rows.sort(key=lambda r: (place.get(r.segment_id, len(place)), r.segment_id))
    return MovementBlock(
        dimension=dimension,
        title=_title(dimension, lang),
        start=moved.start,
        end=moved.end,
        customers=moved.customers,
        sankey=chart,
        rows=rows,
    )


def _title(dimension: str, lang: str) -> str:
    if dimension in BUILTIN:
        return text(f"dimension_{dimension}", lang)
    return text("dimension_other", lang, name=dimension)


def _in(texts: object, lang: str) -> str:
    """A sentence of an alert in ``lang``, else in the other language."""
    if isinstance(texts, dict):
        found = texts.get(lang) or next(iter(texts.values()), "")
        return str(found)
    return "" if texts is None else str(texts)
