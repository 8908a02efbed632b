"""Runs as jobs: ``POST /api/runs`` starts one, ``GET /api/jobs/{id}`` follows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from cible.domain.clock import normalise_as_of
from cible.domain.errors import CibleError
from cible.domain.progress import Progress
from cible.server.deps import Analyst, State, Viewer
from cible.server.errors import NotFoundError
from cible.server.jobs import Job
from cible.workspace import Workspace

router = APIRouter(tags=["jobs"])

#: Years an ``as_of`` may fall in (as on the command line).
YEARS = (1900, 2999)


class RunCreate(BaseModel):
    """A run to start: as of a moment (default: now, UTC)."""

    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(default=None, description="ISO 8601; naive means UTC.")


@router.post("/runs", status_code=202)
async def start_run(
    state: State,
    principal: Analyst,
    response: Response,
    run: Annotated[RunCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Start a run (traits, scores, every segment) as a job; follow it at the URL returned."""
    as_of = None if run is None or run.as_of is None else normalise_as_of(run.as_of)
    if as_of is not None and not YEARS[0] <= as_of.year <= YEARS[1]:
        raise CibleError(
            f"as_of {as_of.isoformat()}: give a moment between {YEARS[0]} and {YEARS[1]}."
        )

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        return dict(ws.run(as_of=as_of, progress=progress).__dict__)

    def finish(job: Job, ws: Workspace) -> None:
        outcome = "ok" if job.state == "succeeded" else "failed"
        detail = {"job_id": job.job_id, "result": job.result, "error": job.error}
        ws.audit_log.record(principal.actor, "run.finish", f"job:{job.job_id}", outcome, detail)

    job = state.jobs.start("run", work, on_finish=finish)
    await state.audit(principal, "run.start", f"job:{job.job_id}", "ok", {"as_of": as_of})
    url = f"/api/jobs/{job.job_id}"
    response.headers["Location"] = url
    return {"job": job.as_dict(), "url": url}


@router.get("/jobs/{job_id}")
async def get_job(
    state: State, principal: Viewer, job_id: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, Any]:
    """A job's state, step, done/total, and its result or error once it has ended."""
    job = state.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"No job {job_id} (jobs are kept until the server stops).")
    return job.as_dict()
