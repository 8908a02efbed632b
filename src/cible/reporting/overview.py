"""What the overview page shows: the base, its quality, and each dimension's segments.

One dictionary, the same for the web page and its JSON twin (``/overview.json``):
the base's size, buyers and revenue from the latest run, the latest quality score,
and per dimension its segments (colour, size, revenue share) with their size at each
moment the KPIs know (kept snapshots and now), for a trend.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_text("customer_id\\na\\nb\\n")
>>> orders = "order_id,customer_id,ordered_at,amount\\n1,a,2024-01-01,30\\n"
>>> _ = (folder / "o.csv").write_text(orders)
>>> with Workspace.create(folder / "shop") as ws:
...     _ = ws.imports.load("customers", folder / "c.csv")
...     _ = ws.imports.load("orders", folder / "o.csv")
...     _ = ws.run()
...     found = build_overview(ws.store, ws.segments, ws.kpis)
>>> found["customers"], found["buyers"], found["revenue"], found["dimensions"][0]["id"]
(2, 1, 30.0, 'rfm')
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cible.segments.catalog import Segments
from cible.segments.kpis import Kpis
from cible.segments.summary import totals
from cible.store import runs
from cible.store.store import Store


def build_overview(store: Store, segments: Segments, kpis: Kpis) -> dict[str, Any]:
    """The overview of a workspace (see the module's description).

    Returns
    -------
    dict
        ``has_run``; ``customers``, ``buyers``, ``revenue`` (None before a run);
        ``quality_score`` (the latest audit's, or None); ``dimensions``: each ``id``
        and ``segments`` (as :meth:`cible.segments.catalog.SegmentInfo.as_dict`, each
        with ``trend``: ``as_of`` and ``size`` oldest first).
    """
    has_run = store.has_run()
    whole: dict[str, Any] = {"customers": None, "buyers": None, "revenue": None}
    trend: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if has_run:
        whole = totals(store.table(runs.TRAITS)).to_pyarrow().to_pylist()[0]
        for row in kpis.sizes():
            trend[row.segment_id].append({"as_of": row.as_of, "size": row.size})
    audits = store.audit_history(limit=1)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for info in segments.list():
        grouped[info.dimension or ""].append({**info.as_dict(), "trend": trend.get(info.id, [])})
    return {
        "has_run": has_run,
        "customers": whole["customers"],
        "buyers": whole["buyers"],
        "revenue": whole["revenue"],
        "quality_score": audits[-1].score if audits else None,
        "dimensions": [{"id": name, "segments": found} for name, found in grouped.items()],
    }
