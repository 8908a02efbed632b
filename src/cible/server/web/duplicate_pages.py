"""The duplicates page: proposals found by a dry run, the merge, and undo.

Finding duplicates is Splink's work and slow on a big base: it runs as a job started
by a button (the API's ``POST /api/dedupe``), never on a page's ``GET``. A merge
applies every proposal at once, as ``cible dedupe`` does (there is no merge of one
chosen group); each merge done can be undone on its own (``cible dedupe --undo``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.roles import Role
from cible.domain.errors import CibleError
from cible.server.deps import server_state
from cible.server.routes.jobs import DedupeCreate, start_dedupe
from cible.server.web.access import Reader, Visitor, page, requiring, twin
from cible.server.web.data_jobs import find_job
from cible.server.web.duplicates import merges_page

router = APIRouter(include_in_schema=False)

Editor = Annotated[Visitor, Depends(requiring(Role.EDITOR))]


PageNumber = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]


@router.get("/data/duplicates.json")
async def duplicates_json(request: Request, who: Reader, page: PageNumber = 1) -> PlainResponse:
    """The merges done, newest first."""
    return twin(await server_state(request).db.call(lambda ws: merges_page(ws, page)), who)


@router.get("/data/duplicates")
async def duplicates(
    request: Request,
    who: Reader,
    number: PageNumber = 1,
    job: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """The merges done with their undo, and a dedupe job's proposals when one is given
    (404 for any other job: an import's or an audit's result is no list of duplicates)."""
    shown = None if job is None else await find_job(request, who, job, kinds=("dedupe",))
    if job is not None and shown is None:
        response = page(request, who, "not_found.html.j2", what=f"dedupe job {job}")
        response.status_code = 404
        return response
    found = await server_state(request).db.call(lambda ws: merges_page(ws, number))
    return page(request, who, "data_duplicates.html.j2", data=found, job=shown, error=None)


async def _dedupe(request: Request, who: Visitor, dry_run: bool) -> RedirectResponse:
    state = server_state(request)
    started = await start_dedupe(state, who.principal, Response(), DedupeCreate(dry_run=dry_run))
    return RedirectResponse(f"/data/duplicates?job={started['job']['job_id']}", status_code=303)


@router.post("/data/duplicates/find")
async def find(request: Request, who: Editor) -> RedirectResponse:
    """Look for duplicates without merging (a dry run, as a job; editors, as the API)."""
    return await _dedupe(request, who, dry_run=True)


@router.post("/data/duplicates/merge")
async def merge(request: Request, who: Editor) -> RedirectResponse:
    """Merge every group of duplicates found now, as a job (editors)."""
    return await _dedupe(request, who, dry_run=False)


@router.post("/data/merges/{merge_id}/undo", response_model=None)
async def undo(
    request: Request, who: Editor, merge_id: Annotated[int, Path(ge=1, le=2**62)]
) -> HTMLResponse | RedirectResponse:
    """Reverse one merge exactly (editors), audited as ``cible dedupe --undo``."""
    state = server_state(request)
    try:
        await state.change(
            who.principal,
            "merge.undo",
            f"merge:{merge_id}",
            lambda ws: ws.quality.undo_merge(merge_id),
            lambda undone: {"restored": len(undone.restored_ids)},
        )
    except CibleError as refusal:  # unknown, undone already, or a later merge first
        found = await state.db.call(lambda ws: merges_page(ws, 1))
        response = page(
            request, who, "data_duplicates.html.j2", data=found, job=None, error=str(refusal)
        )
        response.status_code = 409
        return response
    return RedirectResponse(f"/data/duplicates?undone={merge_id}", status_code=303)
