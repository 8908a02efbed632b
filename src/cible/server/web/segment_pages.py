"""The segment pages: the list with its filters, one segment, its export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import CONTACT_FIELDS, sees_contacts
from cible.activation.export import CONTACT_FIELDS as CHANNEL_FIELDS
from cible.activation.export import PURPOSE
from cible.domain.errors import CibleError
from cible.domain.schema import CHANNELS
from cible.reporting.charts import size_trend
from cible.server.deps import server_state
from cible.server.routes import exports
from cible.server.web.access import (
    Reader,
    SearchText,
    Signed,
    Visitor,
    page,
    twin,
)
from cible.server.web.draft_pages import drafts_for
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: Members shown per page of a segment.
MEMBERS_PAGE = 50


def _segments(ws: Workspace, text: str, dimension: str) -> dict[str, Any]:
    infos = ws.segments.list()
    dimensions = sorted({i.dimension for i in infos if i.dimension})
    needle = text.strip().lower()
    kept = [
        i.as_dict()
        for i in infos
        if (not dimension or i.dimension == dimension)
        and (
            not needle
            or needle in i.id.lower()
            or any(needle in name.lower() for name in i.name.values())
        )
    ]
    return {"segments": kept, "dimensions": dimensions, "q": text, "dimension": dimension}


def _listed(ws: Workspace, who: Visitor, text: str, dimension: str) -> dict[str, Any]:
    """The segments found, and the drafts for those who may build."""
    return {**_segments(ws, text, dimension), "drafts": drafts_for(ws, who)}


@router.get("/segments.json")
async def segments_json(
    request: Request, who: Signed, q: SearchText = "", dimension: SearchText = ""
) -> PlainResponse:
    """The segment list's data."""
    data = await server_state(request).db.call(lambda ws: _listed(ws, who, q, dimension))
    return twin(data, who)


@router.get("/segments")
async def segments(
    request: Request, who: Signed, q: SearchText = "", dimension: SearchText = ""
) -> HTMLResponse:
    """Every segment, searchable and filtered by dimension (the table alone for htmx);
    the drafts below."""
    data = await server_state(request).db.call(lambda ws: _listed(ws, who, q, dimension))
    partial = request.headers.get("hx-request") == "true"
    return page(request, who, "_segment_rows.html.j2" if partial else "segments.html.j2", data=data)


def _segment(ws: Workspace, segment_id: str, page_number: int) -> dict[str, Any] | None:
    try:
        info = ws.segments.get(segment_id)
    except CibleError:
        return None
    stored = ws.segments.definition(segment_id)
    members: list[dict[str, Any]] = []
    total = 0
    if ws.store.has_run():
        total = ws.segments.member_count(segment_id)
        members = ws.segments.member_page(
            segment_id,
            ("monetary_value", "frequency", "recency_days"),
            limit=MEMBERS_PAGE,
            offset=(page_number - 1) * MEMBERS_PAGE,
        )
    trend = [
        {"as_of": row.as_of, "size": row.size}
        for row in (ws.kpis.sizes(segment=segment_id) if ws.store.has_run() else [])
    ]
    persona = None
    if total:
        try:
            persona = ws.persona(segment_id).as_dict()
        except CibleError:  # too few members to compare, say: the page goes without
            persona = None
    return {
        **info.as_dict(),
        "persona": persona,
        "definition": stored.to_dict() if stored else None,
        "trend": trend,
        "members": members,
        "members_total": total,
        "page": page_number,
        "pages": max(1, -(-total // MEMBERS_PAGE)),
    }


PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/segments/{segment_id}.json")
async def segment_json(
    request: Request, who: Signed, segment_id: str, page: PageNumber = 1
) -> PlainResponse:
    """One segment's data."""
    data = await server_state(request).db.call(lambda ws: _segment(ws, segment_id, page))
    if data is None:
        raise HTTPException(404, detail=f"No segment {segment_id!r}.")
    return twin(data, who)


@router.get("/segments/{segment_id}")
async def segment(
    request: Request,
    who: Signed,
    segment_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """One segment: what it is, its figures, its definition, its size over time, members."""
    data = await server_state(request).db.call(lambda ws: _segment(ws, segment_id, page_number))
    if data is None:
        response = page(request, who, "not_found.html.j2", what=segment_id)
        response.status_code = 404
        return response
    trend = size_trend([data], who.lang) if data["trend"] else None
    # Channels whose file carries contacts in clear need the right to see them.
    channels = [
        c
        for c in CHANNELS
        if sees_contacts(who.principal) or not CONTACT_FIELDS & set(CHANNEL_FIELDS.get(c, ()))
    ]
    return page(request, who, "segment.html.j2", data=data, trend_spec=trend, channels=channels)


@router.get("/segments/{segment_id}/export", response_model=None)
async def export_members(
    request: Request,
    who: Reader,
    segment_id: str,
    channel: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The members as CSV: for a channel, only those with consent (exactly the API's
    export, rights and audit included); without one, for analysis (no contact)."""
    if channel and channel not in CHANNELS:
        raise HTTPException(422, detail=f"Unknown channel {channel!r}.")
    return await exports.export(
        state=server_state(request),
        principal=who.principal,
        segment_id=segment_id,
        channel=exports.Channel(channel) if channel else None,
        purpose=exports.Purpose(PURPOSE),
        format=exports.Format.CSV,
        platform=None,
    )
