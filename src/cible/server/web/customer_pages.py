"""The customer pages: search by id, e-mail or name, and one profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import mask_contacts, sees_contacts
from cible.domain.errors import UnknownCustomerError
from cible.server.deps import server_state
from cible.server.web.access import (
    Reader,
    SearchText,
    Visitor,
    page,
    twin,
)
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: Customers a search lists at most.
SEARCH_LIMIT = 50


@router.get("/customers.json")
async def customers_json(request: Request, who: Reader, q: SearchText = "") -> PlainResponse:
    """The search's results."""
    found = await server_state(request).db.call(lambda ws: _search(ws, q, who))
    return twin({"q": q, "customers": found}, who)


@router.get("/customers")
async def customers(request: Request, who: Reader, q: SearchText = "") -> HTMLResponse:
    """Search customers by id, e-mail or name."""
    found = await server_state(request).db.call(lambda ws: _search(ws, q, who))
    data = mask_contacts({"q": q, "customers": found}, who.principal)
    return page(request, who, "customers.html.j2", data=data)


def _search(ws: Workspace, text: str, who: Visitor) -> list[dict[str, Any]]:
    # Without the grant, e-mails match whole: a substring search would spell out,
    # one character at a time, the addresses the page masks.
    return ws.customers.search(
        text, limit=SEARCH_LIMIT, partial_contacts=sees_contacts(who.principal)
    )


def _customer(ws: Workspace, customer_id: str) -> dict[str, Any] | None:
    try:
        profile = ws.customers.profile(customer_id)
    except UnknownCustomerError:
        return None
    names = {info.id: info for info in ws.segments.catalogue()}
    for stay in profile["memberships"]:
        info = names.get(stay["segment_id"])
        stay["name"] = info.name if info else {}
        stay["color"] = info.color if info else "#868e96"
    return {**profile, "timeline": ws.customers.timeline(customer_id)}


@router.get("/customers/{customer_id}.json")
async def customer_json(request: Request, who: Reader, customer_id: str) -> PlainResponse:
    """One customer's data."""
    data = await server_state(request).db.call(lambda ws: _customer(ws, customer_id))
    if data is None:
        raise HTTPException(404, detail=f"No customer {customer_id!r}.")
    return twin(data, who)


@router.get("/customers/{customer_id}")
async def customer(request: Request, who: Reader, customer_id: str) -> HTMLResponse:
    """One customer: profile, traits, segments with history, consents, timeline."""
    data = await server_state(request).db.call(lambda ws: _customer(ws, customer_id))
    if data is None:
        response = page(request, who, "not_found.html.j2", what=customer_id)
        response.status_code = 404
        return response
    return page(request, who, "customer.html.j2", data=mask_contacts(data, who.principal))
