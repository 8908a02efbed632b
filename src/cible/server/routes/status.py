"""``GET /api/status``: rows per table, the latest imports, the jobs under way."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cible.server.deps import State, Viewer
from cible.workspace import Workspace

router = APIRouter(tags=["status"])


def workspace_status(ws: Workspace) -> dict[str, Any]:
    """What ``cible status --json`` prints: schema version, counts, latest 10 imports."""
    return {
        "workspace": ws.config.workspace.name,
        "schema_version": ws.schema_version,
        "counts": ws.counts(),
        "imports": ws.imports.log().limit(10).to_pyarrow().to_pylist(),
    }


@router.get("/status")
async def status(state: State, principal: Viewer) -> dict[str, Any]:
    """The workspace's schema version, rows per table, latest imports and active jobs."""
    found = await state.db.call(workspace_status)
    return {**found, "jobs": [job.as_dict() for job in state.jobs.active()]}
