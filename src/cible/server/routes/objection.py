"""Objection to profiling (GDPR art. 21), admins only:

- ``POST /api/privacy/objections/{id}``: the customer objects; records appended to the
  consents ledger, their automated memberships end at once;
- ``POST /api/privacy/objections/{id}/withdraw``: the objection is withdrawn; the next
  run profiles the customer again;
- ``GET /api/privacy/objections``: the ids of the customers who object now.

Each change is in the audit log; see docs/privacy.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from cible.server.deps import Admin, State

router = APIRouter(prefix="/privacy", tags=["privacy"])

CustomerId = Annotated[str, Path(min_length=1, max_length=200)]


class ObjectionCreate(BaseModel):
    """Where a request to object (or to withdraw an objection) came from."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(default="request", max_length=200, description="Kept in the ledger.")
    proof: str = Field(default="", max_length=1000, description="A ticket, a letter.")


@router.get("/objections")
async def list_objections(state: State, principal: Admin) -> dict[str, Any]:
    """The ids of the customers who object to profiling now, sorted."""
    ids: list[str] = await state.db.call(lambda ws: ws.objection.objecting())
    return {"total": len(ids), "customer_ids": ids}


@router.post("/objections/{customer_id}", status_code=201)
async def add_objection(
    state: State,
    principal: Admin,
    customer_id: CustomerId,
    request: ObjectionCreate | None = None,
) -> dict[str, Any]:
    """Record that the customer objects to profiling; their segments end at once."""
    body = request or ObjectionCreate()
    done = await state.db.call(
        lambda ws: ws.objection.object(
            customer_id, source=body.source, proof=body.proof, actor=principal.actor
        )
    )
    return done.as_dict()


@router.post("/objections/{customer_id}/withdraw")
async def withdraw_objection(
    state: State,
    principal: Admin,
    customer_id: CustomerId,
    request: ObjectionCreate | None = None,
) -> dict[str, Any]:
    """Record that the customer withdraws their objection; the next run profiles them."""
    body = request or ObjectionCreate()
    done = await state.db.call(
        lambda ws: ws.objection.unobject(
            customer_id, source=body.source, proof=body.proof, actor=principal.actor
        )
    )
    return done.as_dict()
