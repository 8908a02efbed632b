"""Tags: ``/api/tags`` (definitions) and ``/api/tags/{name}/customers`` (who carries them).

Everyone may read. Editors and admins create, rename and delete tags and set or
remove them on customers (teams keep tags trustworthy by limiting who makes them).
Every change is in the audit log; each customer whose tags change is re-evaluated
at once, and automations triggered by a tag start.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cible.activation.tags import TagError
from cible.server.deps import Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/tags", tags=["tags"])

TagName = Annotated[str, Path(min_length=1, max_length=64)]
#: Most customers one request tags.
MAX_CUSTOMERS = 100_000


class TagCreate(BaseModel):
    """A tag to create, or the new colour, description or category of one."""

    model_config = ConfigDict(extra="forbid")

    colour: str | None = Field(default=None, description="#rrggbb")
    description: str = Field(default="", max_length=2_000, description="When to use it.")
    category: str | None = Field(default=None, max_length=64)


class TagRename(BaseModel):
    """A tag's new name."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)


class TagCustomers(BaseModel):
    """Customers to tag or untag."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_CUSTOMERS
    )


def _get(ws: Workspace, name: str) -> dict[str, Any]:
    try:
        info = ws.tags.get(name)
    except TagError as exc:
        raise NotFoundError(str(exc)) from None
    return {**info.to_dict(), "history": ws.tags.history(name)}


@router.get("")
async def list_tags(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every tag with how many customers carry it."""
    tags = await state.db.call(lambda ws: ws.tags.list())
    return [tag.to_dict() for tag in tags]


@router.get("/{name}")
async def get_tag(state: State, principal: Viewer, name: TagName) -> dict[str, Any]:
    """One tag, its count of customers and its latest changes."""
    return await state.db.call(lambda ws: _get(ws, name))


@router.put("/{name}")
async def put_tag(state: State, principal: Editor, name: TagName, tag: TagCreate) -> dict[str, Any]:
    """Create a tag, or change its colour, description or category (editors and admins)."""
    await state.change(
        principal,
        "tag.save",
        f"tag:{name}",
        lambda ws: ws.tags.define(
            name,
            colour=tag.colour,
            description=tag.description,
            category=tag.category,
            actor=principal.actor,
        ),
    )
    return await state.db.call(lambda ws: _get(ws, name))


@router.post("/{name}/rename")
async def rename_tag(
    state: State, principal: Editor, name: TagName, rename: TagRename
) -> dict[str, Any]:
    """Rename a tag in its definition and history; segments reading the old name must change."""
    moved = await state.change(
        principal,
        "tag.rename",
        f"tag:{name}",
        lambda ws: ws.tags.rename(name, rename.name),
        lambda moved: {"to": rename.name, "changes": moved},
    )
    return {"name": rename.name, "renamed_from": name, "changes": moved}


@router.delete("/{name}")
async def delete_tag(state: State, principal: Editor, name: TagName) -> dict[str, Any]:
    """Remove a tag from every customer, then delete it."""
    removed = await state.change(
        principal,
        "tag.delete",
        f"tag:{name}",
        lambda ws: ws.tags.delete(name, actor=principal.actor, source="api"),
        lambda removed: {"removed": removed},
    )
    state.changed()
    return {"name": name, "deleted": True, "removed": removed}


@router.get("/{name}/customers")
async def tagged_customers(
    state: State,
    principal: Viewer,
    name: TagName,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> dict[str, Any]:
    """Ids of the customers carrying the tag now."""

    def read(ws: Workspace) -> dict[str, Any]:
        _get(ws, name)
        ids = ws.tags.customers(name)
        return {"name": name, "total": len(ids), "customer_ids": ids[:limit]}

    return await state.db.call(read)


@router.post("/{name}/customers")
async def tag_customers(
    state: State, principal: Editor, name: TagName, body: TagCustomers
) -> dict[str, Any]:
    """Set the tag on customers; returns how many did not carry it yet."""
    added = await state.change(
        principal,
        "tag.add",
        f"tag:{name}",
        lambda ws: ws.tags.apply(name, body.customer_ids, actor=principal.actor, source="api"),
        lambda added: {"customers": len(body.customer_ids), "added": added},
    )
    state.changed()
    return {"name": name, "added": added}


@router.delete("/{name}/customers")
async def untag_customers(
    state: State, principal: Editor, name: TagName, body: TagCustomers
) -> dict[str, Any]:
    """Remove the tag from customers; returns how many carried it."""
    removed = await state.change(
        principal,
        "tag.remove",
        f"tag:{name}",
        lambda ws: ws.tags.withdraw(name, body.customer_ids, actor=principal.actor, source="api"),
        lambda removed: {"customers": len(body.customer_ids), "removed": removed},
    )
    state.changed()
    return {"name": name, "removed": removed}
