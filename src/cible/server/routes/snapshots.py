"""Snapshots: ``/api/snapshots`` (list, take, backfill, remove).

Everyone may read the list. Analysts take snapshots and backfill them, as jobs (a
replay computes every trait, like a run); removing one needs an editor. Each start,
end and removal is in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from cible.domain.progress import Progress
from cible.server.deps import Analyst, Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.server.routes.jobs import accepted, checked_moment, start_job
from cible.workspace import Workspace

router = APIRouter(prefix="/snapshots", tags=["snapshots"])


class SnapshotCreate(BaseModel):
    """A snapshot to take: a replay as of a moment (default now), the present untouched."""

    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(default=None, description="ISO 8601; naive means UTC.")


class Backfill(BaseModel):
    """Months to replay: the first day of each, from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(default=None, description="Default: the first order.")
    end: datetime | None = Field(default=None, description="Default: after the last order.")
    replace: bool = Field(default=False, description="Replay months already kept.")


@router.get("")
async def list_snapshots(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every snapshot, oldest moment first."""
    found = await state.db.call(lambda ws: ws.snapshots.list())
    return [s.as_dict() for s in found]


@router.post("", status_code=202)
async def take_snapshot(
    state: State,
    principal: Analyst,
    response: Response,
    options: Annotated[SnapshotCreate | None, Body()] = None,
) -> dict[str, Any]:
    """Replay a run as of a moment into a snapshot, as a job; the present is untouched."""
    as_of = checked_moment(None if options is None else options.as_of)

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        return ws.snapshots.take(as_of, progress=progress).as_dict()

    job = start_job(state, principal, response, "snapshot", work)
    return await accepted(state, principal, job, {"as_of": as_of})


@router.post("/backfill", status_code=202)
async def backfill(
    state: State,
    principal: Analyst,
    response: Response,
    options: Annotated[Backfill | None, Body()] = None,
) -> dict[str, Any]:
    """Replay the first day of each month of the data's history, as a job."""
    chosen = options or Backfill()
    start, end = checked_moment(chosen.start), checked_moment(chosen.end)

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        written = ws.snapshots.backfill(
            start=start, end=end, replace=chosen.replace, progress=progress
        )
        return {"snapshots": [s.as_dict() for s in written]}

    job = start_job(state, principal, response, "backfill", work)
    detail = {"start": start, "end": end, "replace": chosen.replace}
    return await accepted(state, principal, job, detail)


@router.delete("/{snapshot_id}")
async def remove_snapshot(
    state: State, principal: Editor, snapshot_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> dict[str, Any]:
    """Remove a snapshot and its rows (editors and admins)."""
    removed = await state.change(
        principal,
        "snapshot.remove",
        f"snapshot:{snapshot_id}",
        lambda ws: ws.snapshots.remove(snapshot_id),
    )
    if not removed:
        raise NotFoundError(f"No snapshot {snapshot_id}.")
    return {"removed": snapshot_id}
