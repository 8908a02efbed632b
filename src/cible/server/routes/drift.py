"""Drift checks: ``POST /api/drift/checks`` (a job) and ``GET /api/drift/checks``.

Analysts check (a check reads every snapshot it compares and may re-fit a
clustering, so it runs as a job); everyone may read the history. Each start and end
is in the audit log, and so is each alert.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from cible.domain.progress import Progress
from cible.server.deps import Analyst, State, Viewer
from cible.server.routes.jobs import accepted, start_job
from cible.workspace import Workspace

router = APIRouter(prefix="/drift", tags=["drift"])


class CheckCreate(BaseModel):
    """The snapshots to compare; by default the latest and its reference."""

    model_config = ConfigDict(extra="forbid")

    snapshot: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reference: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/checks", status_code=202)
async def start_check(
    state: State,
    principal: Analyst,
    response: Response,
    options: Annotated[CheckCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Compare a snapshot with its reference, as a job; the check and its alerts are kept."""
    chosen = options or CheckCreate()

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        progress("drift", 0, 1)
        found = ws.monitoring.check(chosen.snapshot, chosen.reference, actor=principal.actor)
        progress("drift", 1, 1)
        return found.as_dict()

    job = start_job(state, principal, response, "drift", work)
    return await accepted(state, principal, job, chosen.model_dump())


@router.get("/checks")
async def list_checks(
    state: State, principal: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[dict[str, Any]]:
    """The latest drift checks, newest first, each with its alerts."""
    return await state.db.call(lambda ws: ws.monitoring.history(limit=limit))
