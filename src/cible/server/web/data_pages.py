"""The data pages: the quality score and its top problems, the import log, each import's
rejects, and an audit started from the page."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import HIDDEN, mask_value, sees_contacts
from cible.access.roles import Principal, Role
from cible.domain.progress import Progress
from cible.server.deps import server_state
from cible.server.routes.jobs import accepted, start_job
from cible.server.web.access import Reader, Visitor, page, requiring, twin
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: Imports the log lists; rejects per page.
LOG_ROWS, REJECTS_PAGE = 50, 50
#: Checks whose examples read ``id: value`` with a contact as the value.
_CONTACT_CHECKS = {"validity.email": "email", "validity.phone": "phone"}

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
ImportId = Annotated[int, Path(ge=1, le=2**62)]


def file_name(path: Any) -> str:
    # The log keeps where a file was on the importing machine; the pages name it only.
    return PurePath(str(path)).name if path else ""


def _quality(ws: Workspace, principal: Principal) -> dict[str, Any] | None:
    stored = ws.store.load_audit()
    if stored is None:
        return None
    problems = []
    for problem in stored.get("problems", []):
        field = _CONTACT_CHECKS.get(problem["id"])
        if field and not sees_contacts(principal):
            masked = [_masked_example(e, field) for e in problem["examples"]]
            problem = {**problem, "examples": masked}
        problems.append(problem)
    keys = ("audit_id", "created_at", "customers", "score", "previous_score", "change", "areas")
    found = {key: stored.get(key) for key in keys}
    # The report is stored as JSON: its moment is ISO text.
    found["created_at"] = datetime.fromisoformat(str(found["created_at"]))
    return {**found, "problems": problems}


def _masked_example(example: str, field: str) -> str:
    key, sep, value = example.partition(": ")
    return f"{key}: {mask_value(field, value)}" if sep else HIDDEN


def _data(ws: Workspace, principal: Principal) -> dict[str, Any]:
    log = ws.imports.log().limit(LOG_ROWS).to_pyarrow().to_pylist()
    keys = ("import_id", "kind", "started_at", "finished_at", "status")
    counts = ("rows_read", "rows_loaded", "rows_rejected", "rows_flagged")
    imports = [
        {**{k: row[k] for k in keys}, "file": file_name(row["file"]), **{k: row[k] for k in counts}}
        for row in log
    ]
    return {"quality": _quality(ws, principal), "imports": imports}


@router.get("/data.json")
async def data_json(request: Request, who: Reader) -> PlainResponse:
    """The data page's figures."""
    return twin(await server_state(request).db.call(lambda ws: _data(ws, who.principal)), who)


@router.get("/data")
async def data(request: Request, who: Reader) -> HTMLResponse:
    """The latest quality score, its top problems, and the import log."""
    found = await server_state(request).db.call(lambda ws: _data(ws, who.principal))
    return page(request, who, "data.html.j2", data=found)


@router.post("/data/audit")
async def start_audit(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.ANALYST))]
) -> RedirectResponse:
    """Audit the data now, as a job (analysts and above, as ``cible audit``)."""
    state = server_state(request)

    def work(ws: Workspace, progress: Progress) -> dict[str, Any]:
        report = ws.quality.audit(progress=progress).as_dict()
        return {k: report[k] for k in ("audit_id", "score", "previous_score", "change")}

    job = start_job(state, who.principal, Response(), "audit", work)
    await accepted(state, who.principal, job, {"from": "web"})
    return RedirectResponse(f"/data/jobs/{job.job_id}", status_code=303)


def masked_rejects(rows: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    """Rejected rows as shown: the file's name, contacts masked without the right to
    read them (a whole line, which no field names, hidden)."""
    sees = sees_contacts(principal)
    shown = []
    for row in rows:
        value = row["value"]
        if not sees and value is not None:
            value = mask_value(row["column_name"], value) if row["column_name"] else HIDDEN
        shown.append({**row, "file": file_name(row["file"]), "value": value})
    return shown


def rejects_page(
    ws: Workspace, import_id: int, number: int, principal: Principal
) -> dict[str, Any] | None:
    """One page of import ``import_id``'s rejected and flagged rows, or None."""
    log = ws.imports.log()
    found = log.filter(log.import_id == import_id).to_pyarrow().to_pylist()
    if not found:
        return None
    issues = ws.imports.rejects(import_id)
    total = int(issues.count().execute())
    rows = issues.limit(REJECTS_PAGE, offset=(number - 1) * REJECTS_PAGE).to_pyarrow().to_pylist()
    return {
        "import_id": import_id,
        "file": file_name(found[0]["file"]),
        "kind": found[0]["kind"],
        "rejects": masked_rejects(rows, principal),
        "total": total,
        "page": number,
        "pages": max(1, -(-total // REJECTS_PAGE)),
    }


@router.get("/data/imports/{import_id}/rejects.json")
async def rejects_json(
    request: Request, who: Reader, import_id: ImportId, page: PageNumber = 1
) -> PlainResponse:
    """One page of an import's rejects."""
    found = await server_state(request).db.call(
        lambda ws: rejects_page(ws, import_id, page, who.principal)
    )
    if found is None:
        raise HTTPException(404, detail=f"No import {import_id}.")
    return twin(found, who)


@router.get("/data/imports/{import_id}/rejects")
async def rejects(
    request: Request,
    who: Reader,
    import_id: ImportId,
    number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """An import's rejected and flagged rows: file, line, field, value, reason."""
    found = await server_state(request).db.call(
        lambda ws: rejects_page(ws, import_id, number, who.principal)
    )
    if found is None:
        response = page(request, who, "not_found.html.j2", what=str(import_id))
        response.status_code = 404
        return response
    return page(request, who, "data_rejects.html.j2", data=found)
