"""``GET /api/audit``: the audit log, newest first (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cible.access.audit_log import MAX_LIMIT
from cible.server.deps import Admin, State

router = APIRouter(tags=["audit"])


@router.get("/audit")
async def audit(
    state: State,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    action: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """Who did what and when: changes, exports, token changes, refusals; only those of an
    action, an actor and an outcome when given (as the web's audit page)."""
    entries = await state.db.call(
        lambda ws: ws.audit_log.entries(limit, offset, action, actor=actor, outcome=outcome)
    )
    return {"limit": limit, "offset": offset, "entries": entries}
