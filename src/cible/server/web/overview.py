"""The overview page: the base, its quality, each dimension's segments; runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.roles import Role
from cible.reporting.charts import revenue_shares, size_trend
from cible.reporting.overview import build_overview
from cible.server.deps import server_state
from cible.server.web.access import (
    Signed,
    Visitor,
    page,
    requiring,
    twin,
)
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)


def _overview(ws: Workspace) -> dict[str, Any]:
    return build_overview(ws.store, ws.segments, ws.kpis)


@router.get("/overview.json")
async def overview_json(request: Request, who: Signed) -> PlainResponse:
    """The overview's data."""
    return twin(await server_state(request).db.call(_overview), who)


@router.get("/overview")
async def overview(request: Request, who: Signed) -> HTMLResponse:
    """The base, its quality, and each dimension's segments with a size trend."""
    data = await server_state(request).db.call(_overview)
    charts = {
        dim["id"]: {
            # A trend needs a moment at least: none before a run.
            "trend": size_trend(dim["segments"], who.lang)
            if any(seg["trend"] for seg in dim["segments"])
            else None,
            "shares": revenue_shares(dim["segments"], who.lang),
        }
        for dim in data["dimensions"]
    }
    return page(request, who, "overview.html.j2", data=data, charts=charts)


@router.post("/runs")
async def start_run(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.ANALYST))]
) -> RedirectResponse:
    """Start a run as a job (analysts and above), then back to the overview."""
    state = server_state(request)
    job = state.jobs.start("run", lambda ws, progress: dict(ws.run(progress=progress).__dict__))
    await state.audit(who.principal, "run.start", f"job:{job.job_id}", "ok", {"from": "web"})
    return RedirectResponse(f"/overview?job={job.job_id}", status_code=303)
