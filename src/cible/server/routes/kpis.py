"""KPIs per segment: ``GET /api/kpis``, ``/api/kpis/cohorts/{segment}`` and
``/api/kpis/pareto/{dimension}``.

Everyone may read them (viewer role): they read the kept snapshots, the latest run
and the raw orders, events, surveys, tickets and acquisition costs, and write
nothing. docs/kpis.md defines each figure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from cible.server.deps import State, Viewer
from cible.server.routes.jobs import checked_moment

router = APIRouter(prefix="/kpis", tags=["kpis"])

_ID = Path(min_length=1, max_length=200)


@router.get("")
async def list_kpis(
    state: State,
    principal: Viewer,
    dimension: Annotated[str | None, Query(max_length=200)] = None,
    segment: Annotated[str | None, Query(max_length=200)] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="First moment (ISO 8601).")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Last moment (ISO 8601).")
    ] = None,
    period: Annotated[str, Query(pattern="^(week|month|quarter)$")] = "month",
) -> list[dict[str, Any]]:
    """Each segment's KPIs at each kept snapshot and now, oldest moment first."""
    first, last = checked_moment(start), checked_moment(end)
    found = await state.db.call(
        lambda ws: ws.kpis.per_segment(
            dimension=dimension, segment=segment, start=first, end=last, period=period
        )
    )
    return [row.as_dict() for row in found]


@router.get("/cohorts/{segment_id}")
async def cohorts(
    state: State,
    principal: Viewer,
    segment_id: Annotated[str, _ID],
    months: Annotated[int, Query(ge=1, le=120)] = 12,
) -> list[dict[str, Any]]:
    """Retention of the segment's members by first-purchase month (a triangle)."""
    found = await state.db.call(lambda ws: ws.kpis.cohorts(segment_id, months=months))
    return [cohort.as_dict() for cohort in found]


@router.get("/pareto/{dimension}")
async def pareto(
    state: State, principal: Viewer, dimension: Annotated[str, _ID]
) -> list[dict[str, Any]]:
    """The dimension's segments, most revenue first, with shares and running totals."""
    found = await state.db.call(lambda ws: ws.kpis.pareto(dimension))
    return [share.as_dict() for share in found]
