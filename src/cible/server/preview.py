"""A segment definition evaluated on the latest run without storing it: size and sample.

The definition is compiled by the same compiler as a run
(:func:`cible.segments.compiler.compile_members`), over the latest run's traits and
the customers' profiles, as of that run's moment, with ``in_segment`` conditions
answered by the current memberships: what the next run would give if nothing else
changed.
"""

from __future__ import annotations

from typing import Any

from cible.domain.errors import CibleError
from cible.segments.compiler import compile_members
from cible.store.runs import TRAITS
from cible.workspace import Workspace

#: Customers shown in a preview.
SAMPLE = 20


def preview_segment(ws: Workspace, source: dict[str, Any], sample: int = SAMPLE) -> dict[str, Any]:
    """Size, share and the first ``sample`` members (by id, with traits) of a definition.

    Raises
    ------
    CibleError
        When the definition is invalid (naming the path) or there is no run yet.
    """
    definition = ws.segments.validate(source)
    runs = ws.table("runs")
    latest = runs.order_by(runs.run_id.desc()).limit(1).to_pyarrow().to_pylist()
    if not latest:
        raise CibleError("No run yet: start one (POST /api/runs) before previewing a segment.")
    as_of = latest[0]["as_of"]
    traits = ws.table(TRAITS)
    history = ws.table("segment_memberships")
    current = history.filter(history.exited_at.isnull())
    members = compile_members(
        definition,
        base=traits.join(ws.table("customers"), "customer_id"),
        events=ws.table("events"),
        consents=ws.table("consents"),
        as_of=as_of,
        membership=lambda segment_id: current.filter(current.segment_id == segment_id).select(
            "customer_id"
        ),
    )
    held = ws.store.hold("_preview", members)
    size = int(held.count().execute())
    customers = int(traits.count().execute())
    first = held.order_by("customer_id").limit(sample)
    rows = first.join(traits, "customer_id").order_by("customer_id").to_pyarrow().to_pylist()
    return {
        "id": definition.id,
        "as_of": as_of,
        "size": size,
        "customers": customers,
        "share": size / customers if customers else None,
        "sample": rows,
    }
