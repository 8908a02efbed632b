"""The tag pages: the list with counts, one tag with its customers, and the editors' forms.

Every change goes through the API's own handlers (:mod:`cible.server.routes.tags`):
the same checks, the same audit entries, the same re-evaluation of the customers
touched. Creating, renaming, deleting a tag and setting it on customers is for
editors and admins, as in the API; a form from a lower role is refused and audited.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse
from pydantic import ValidationError

from cible.access.roles import Role
from cible.activation.tags import TagError
from cible.domain.errors import CibleError
from cible.locale import N_
from cible.server.deps import server_state
from cible.server.routes import tags as api
from cible.server.web.access import Signed, Visitor, page, requiring, twin
from cible.server.web.forms import refused, see_other, sentence
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

Editor = Annotated[Visitor, Depends(requiring(Role.EDITOR))]
#: What a tag's history says happened, marked for translation.
WORDS = (N_("added"), N_("removed"))
#: Customer ids a tag's page lists.
SHOWN_CUSTOMERS = 200
#: Customer ids in a form are separated by spaces, commas, semicolons or new lines.
_SEPARATORS = re.compile(r"[\s,;]+")


def _list(ws: Workspace) -> dict[str, Any]:
    return {"tags": [t.to_dict() for t in ws.tags.list()]}


def _tag(ws: Workspace, name: str) -> dict[str, Any] | None:
    try:
        info = ws.tags.get(name)
    except TagError:
        return None
    ids = ws.tags.customers(name)
    return {
        **info.to_dict(),
        "history": ws.tags.history(name),
        "customer_ids": ids[:SHOWN_CUSTOMERS],
        "customers_total": len(ids),
    }


@router.get("/tags.json")
async def tags_json(request: Request, who: Signed) -> PlainResponse:
    """Every tag with its count of customers."""
    return twin(await server_state(request).db.call(_list), who)


@router.get("/tags")
async def tags(request: Request, who: Signed) -> HTMLResponse:
    """Every tag with its count of customers; editors create tags here."""
    data = await server_state(request).db.call(_list)
    return page(request, who, "tags.html.j2", data=data, error=None, form={})


@router.post("/tags", response_model=None)
async def create_tag(request: Request, who: Editor) -> Response:
    """Create a tag (editors), as ``PUT /api/tags/{name}``."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    name = form.get("name", "").strip()
    try:
        body = api.TagCreate(
            colour=form.get("colour") or None,
            description=form.get("description", ""),
            category=form.get("category") or None,
        )
        await api.put_tag(server_state(request), who.principal, name, body)
    except (CibleError, ValidationError) as error:
        data = await server_state(request).db.call(_list)
        return refused(
            page(request, who, "tags.html.j2", data=data, error=sentence(error), form=form)
        )
    return see_other(f"/tags/{quote(name, safe='')}")


@router.get("/tags/{name}.json")
async def tag_json(request: Request, who: Signed, name: str) -> PlainResponse:
    """One tag's data: count, latest changes, customer ids."""
    data = await server_state(request).db.call(lambda ws: _tag(ws, name))
    if data is None:
        raise HTTPException(404, detail=f"No tag {name!r}.")
    return twin(data, who)


@router.get("/tags/{name}")
async def tag(request: Request, who: Signed, name: str) -> HTMLResponse:
    """One tag: its customers and latest changes; editors rename, delete, tag here."""
    return await _tag_page(request, who, name, None)


async def _tag_page(request: Request, who: Visitor, name: str, error: str | None) -> HTMLResponse:
    data = await server_state(request).db.call(lambda ws: _tag(ws, name))
    if data is None:
        response = page(request, who, "not_found.html.j2", what=name)
        response.status_code = 404
        return response
    response = page(request, who, "tag.html.j2", data=data, error=error)
    return refused(response) if error else response


@router.post("/tags/{name}/rename", response_model=None)
async def rename_tag(request: Request, who: Editor, name: str) -> Response:
    """Rename a tag (editors), as ``POST /api/tags/{name}/rename``."""
    new = str((await request.form()).get("new_name") or "").strip()
    try:
        await api.rename_tag(server_state(request), who.principal, name, api.TagRename(name=new))
    except (CibleError, ValidationError) as error:
        return await _tag_page(request, who, name, sentence(error))
    return see_other(f"/tags/{quote(new, safe='')}")


@router.post("/tags/{name}/delete", response_model=None)
async def delete_tag(request: Request, who: Editor, name: str) -> Response:
    """Remove a tag from everyone and delete it (editors), as ``DELETE /api/tags/{name}``."""
    try:
        await api.delete_tag(server_state(request), who.principal, name)
    except CibleError as error:
        return await _tag_page(request, who, name, sentence(error))
    return see_other("/tags")


@router.post("/tags/{name}/customers", response_model=None)
async def change_customers(request: Request, who: Editor, name: str) -> Response:
    """Set (``action=add``) or remove (``action=remove``) the tag on customers given by
    id (editors), as ``POST`` and ``DELETE /api/tags/{name}/customers``."""
    form = await request.form()
    ids = [i for i in _SEPARATORS.split(str(form.get("customer_ids") or "")) if i]
    state = server_state(request)
    try:
        body = api.TagCustomers(customer_ids=ids)
        if form.get("action") == "remove":
            await api.untag_customers(state, who.principal, name, body)
        else:
            await api.tag_customers(state, who.principal, name, body)
    except (CibleError, ValidationError) as error:
        return await _tag_page(request, who, name, sentence(error))
    return see_other(f"/tags/{quote(name, safe='')}")
