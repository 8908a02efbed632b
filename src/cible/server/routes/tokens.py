"""API tokens (admins only): ``GET``/``POST /api/tokens``, ``DELETE /api/tokens/{id}``.

A created token's secret is in the answer once and nowhere else. After each change
the server reloads its keyring, so a revoked token is refused from the next request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from cible.access.roles import Role
from cible.server.deps import Admin, State

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    """A token to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Shown as the actor.")
    role: Role
    unmask: bool = Field(
        default=False,
        description="Let a viewer or analyst read e-mails and phones in clear "
        "(editors and admins always do).",
    )


@router.get("")
async def list_tokens(state: State, principal: Admin) -> list[dict[str, Any]]:
    """Every token (never a secret), revoked ones included."""
    tokens = await state.db.call(lambda ws: ws.tokens.list())
    return [token.as_dict() for token in tokens]


@router.post("", status_code=201)
async def create_token(state: State, principal: Admin, token: TokenCreate) -> dict[str, Any]:
    """Create a token; its secret is in this answer only."""
    secret, created = await state.db.call(
        lambda ws: ws.tokens.create(token.name, token.role, unmask=token.unmask, actor=principal)
    )
    await state.reload_keyring()
    return {**created.as_dict(), "token": secret}


@router.delete("/{token_id}")
async def revoke_token(
    state: State, principal: Admin, token_id: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, Any]:
    """Revoke a token for good; it is refused from this moment, even while a job runs."""
    state.keyring.forget(token_id)
    try:
        revoked = await state.db.call(lambda ws: ws.tokens.revoke(token_id, actor=principal))
    finally:
        await state.reload_keyring()
    return revoked.as_dict()
