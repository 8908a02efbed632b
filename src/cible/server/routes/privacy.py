"""Erasure and the suppression list (admins only): ``POST /api/privacy/erase/{id}``,
``GET``/``POST /api/privacy/suppressions``, ``POST /api/privacy/unsuppress``.

See docs/privacy.md. Values sent to the list are hashed at once: no answer and no
log line holds them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from cible.server.deps import Admin, State

router = APIRouter(prefix="/privacy", tags=["privacy"])


class ErasureCreate(BaseModel):
    """Why a customer is erased."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500, description="Kept in the audit log.")


class SuppressionCreate(BaseModel):
    """A value to put on (or take off) the suppression list."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern="^(customer_id|email|phone)$")
    value: str = Field(min_length=1, max_length=1000)
    reason: str = Field(default="requested", max_length=200)


@router.post("/erase/{customer_id}")
async def erase_customer(
    state: State,
    principal: Admin,
    customer_id: Annotated[str, Path(min_length=1, max_length=1000)],
    erasure: ErasureCreate | None = None,
) -> dict[str, Any]:
    """Erase a customer from every table; their id, e-mail and phone are then refused."""
    reason = erasure.reason if erasure is not None else ""
    done = await state.db.call(
        lambda ws: ws.privacy.erase(customer_id, actor=principal.actor, reason=reason)
    )
    return done.as_dict()


@router.get("/suppressions")
async def list_suppressions(state: State, principal: Admin) -> dict[str, Any]:
    """Counts of the suppression list by kind and reason; no value."""
    counts: dict[str, Any] = await state.db.call(lambda ws: ws.privacy.suppressions())
    return counts


@router.post("/suppressions", status_code=201)
async def add_suppression(
    state: State, principal: Admin, suppression: SuppressionCreate
) -> dict[str, Any]:
    """Put a value on the suppression list; ``added`` is False when it was there."""
    added = await state.db.call(
        lambda ws: ws.privacy.suppress(
            suppression.kind, suppression.value, suppression.reason, actor=principal.actor
        )
    )
    return {"kind": suppression.kind, "added": added}


@router.post("/unsuppress")
async def remove_suppression(
    state: State, principal: Admin, suppression: SuppressionCreate
) -> dict[str, Any]:
    """Take a value off the suppression list; ``removed`` is False when it was not there."""
    removed = await state.db.call(
        lambda ws: ws.privacy.unsuppress(suppression.kind, suppression.value, actor=principal.actor)
    )
    return {"kind": suppression.kind, "removed": removed}
