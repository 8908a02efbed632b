"""Segments: list, read, save, delete, preview, members (``/api/segments``).

Everyone may read; analysts and above preview; only editors and admins change a
segment (teams restrict who edits segments to keep them trustworthy). Every change,
failed ones included, is in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.segments.catalog import SegmentInfo
from cible.server.deps import Analyst, Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/segments", tags=["segments"])

#: A segment definition in the segment language (docs/segments.md), as JSON.
Definition = Annotated[
    dict[str, Any],
    Body(
        description="A segment definition (docs/segments.md).",
        examples=[
            {
                "id": "big-spenders",
                "name": "Big spenders",
                "where": {"trait": "monetary_value", "op": ">=", "value": 500},
            }
        ],
    ),
]
SegmentId = Annotated[str, Path(min_length=1, max_length=200)]

#: Most members one page returns.
MAX_PAGE = 1000


def _info(ws: Workspace, segment_id: str) -> SegmentInfo:
    try:
        return ws.segments.get(segment_id)
    except CibleError:
        raise NotFoundError(f"No segment {segment_id!r}.") from None


@router.get("")
async def list_segments(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every segment with its figures in the latest run (what `cible segments list` shows)."""
    infos = await state.db.call(lambda ws: ws.segments.list())
    return [info.as_dict() for info in infos]


@router.post("/preview")
async def preview(state: State, principal: Analyst, definition: Definition) -> dict[str, Any]:
    """Size and a sample of 20 members of a definition on the latest run, without saving it."""
    return await state.db.call(lambda ws: ws.segments.preview(definition))


@router.get("/migrations/{dimension}")
async def migration(
    state: State,
    principal: Viewer,
    dimension: Annotated[str, Path(min_length=1, max_length=64)],
    start: Annotated[datetime, Query(description="The first moment (ISO 8601).")],
    end: Annotated[datetime | None, Query(description="The second moment; default now.")] = None,
) -> dict[str, Any]:
    """Where the dimension's customers went between two moments: the matrix of counts
    and shares, each segment's inflow, outflow, churn and median days in segment."""
    moment = end or utc_now()
    found = await state.db.call(lambda ws: ws.segments.migration(dimension, start, moment))
    return found.as_dict()


@router.get("/{segment_id}")
async def get_segment(state: State, principal: Viewer, segment_id: SegmentId) -> dict[str, Any]:
    """One segment: its figures and, for a rule segment, its definition."""

    def read(ws: Workspace) -> dict[str, Any]:
        stored = ws.segments.definition(segment_id)
        info = _info(ws, segment_id)
        return {**info.as_dict(), "definition": stored.to_dict() if stored else None}

    return await state.db.call(read)


@router.put("/{segment_id}", responses={201: {"description": "Created"}})
async def put_segment(
    state: State,
    principal: Editor,
    segment_id: SegmentId,
    definition: Definition,
    response: Response,
) -> dict[str, Any]:
    """Add or replace a rule segment (editors and admins); members come at the next run."""
    body = {**definition, "id": definition.get("id", segment_id)}
    if body["id"] != segment_id:
        await state.audit(principal, "segment.save", f"segment:{segment_id}", "failed")
        raise CibleError(
            f"The definition's id {body['id']!r} differs from the URL's {segment_id!r}."
        )
    saved, created = await state.change(
        principal,
        "segment.save",
        f"segment:{segment_id}",
        lambda ws: ws.segments.add(body),
        lambda result: {"created": result[1], "definition": result[0].to_dict()},
    )
    response.status_code = 201 if created else 200
    return {"id": saved.id, "created": created, "definition": saved.to_dict()}


@router.delete("/{segment_id}")
async def delete_segment(state: State, principal: Editor, segment_id: SegmentId) -> dict[str, Any]:
    """Delete a rule segment (editors and admins); its memberships end at the next run."""

    def remove(ws: Workspace) -> bool:
        if not ws.segments.remove(segment_id):
            raise NotFoundError(f"No stored rule segment {segment_id!r}.")
        return True

    await state.change(principal, "segment.delete", f"segment:{segment_id}", remove)
    return {"id": segment_id, "deleted": True}


@router.get("/{segment_id}/members")
async def members(
    state: State,
    principal: Viewer,
    segment_id: SegmentId,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> dict[str, Any]:
    """Current members with their traits, ordered by customer id, one page at a time."""

    def page(ws: Workspace) -> dict[str, Any]:
        _info(ws, segment_id)
        table = ws.segments.members(segment_id)
        total = int(table.count().execute())
        rows = table.limit(limit, offset=offset).to_pyarrow().to_pylist()
        return {
            "segment_id": segment_id,
            "total": total,
            "limit": limit,
            "offset": offset,
            "members": rows,
        }

    return await state.db.call(page)
