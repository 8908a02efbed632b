"""The page of a data job (an import, a search for duplicates or a merge, an audit),
followed until it ends: htmx asks for its part every second, without inline script."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import mask_contacts
from cible.access.roles import Principal
from cible.server.deps import server_state
from cible.server.jobs import Job
from cible.server.web.access import Reader, Visitor, page, twin
from cible.server.web.data_pages import file_name, rejects_page
from cible.server.web.duplicates import proposals
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: Jobs the data pages follow.
DATA_JOBS = ("import", "dedupe", "audit")
JobId = Annotated[int, Path(ge=1, le=2**62)]


def job_view(ws: Workspace, job: Job, principal: Principal) -> dict[str, Any]:
    """A job as the pages show it: its state, and what it found once it ended."""
    view: dict[str, Any] = {**job.as_dict(), "finished": job.finished, "result": None}
    result = job.result if isinstance(job.result, dict) else None
    if result is None:
        return view
    if job.kind == "import":
        view["result"] = {**result, "file": file_name(result.get("file"))}
        view["rejects"] = rejects_page(ws, int(result["import_id"]), 1, principal)
    elif job.kind == "dedupe":
        view["result"] = {k: v for k, v in result.items() if k not in ("proposed", "applied")}
        view["groups"] = proposals(ws, result)
    else:
        view["result"] = result
    return mask_contacts(view, principal)


async def find_job(
    request: Request, who: Visitor, job_id: int, kinds: tuple[str, ...] = DATA_JOBS
) -> dict[str, Any] | None:
    """Data job ``job_id`` as shown to ``who``, or None (unknown, or not of ``kinds``)."""
    state = server_state(request)
    job = state.jobs.get(job_id)
    if job is None or job.kind not in kinds:
        return None
    return await state.db.call(lambda ws: job_view(ws, job, who.principal))


async def _job(request: Request, who: Visitor, job_id: int) -> dict[str, Any]:
    found = await find_job(request, who, job_id)
    if found is None:
        raise HTTPException(404, detail=f"No data job {job_id} (jobs last until the server stops).")
    return found


@router.get("/data/jobs/{job_id}.json")
async def job_json(request: Request, who: Reader, job_id: JobId) -> PlainResponse:
    """A data job's state and, once it ended, what it found."""
    return twin(await _job(request, who, job_id), who)


@router.get("/data/jobs/{job_id}")
async def job_page(request: Request, who: Reader, job_id: JobId) -> HTMLResponse:
    """A data job followed until it ends (the part alone for htmx)."""
    found = await _job(request, who, job_id)
    partial = request.headers.get("hx-request") == "true"
    return page(request, who, "_data_job.html.j2" if partial else "data_job.html.j2", job=found)
