"""What every route depends on: the server's state, who is asking, strict JSON.

:func:`require` is the one authentication and authorisation check: it reads the
``Authorization: Bearer <token>`` header, finds the principal in the in-memory
:class:`~cible.access.tokens.Keyring` (so it answers while a job holds the
database), and refuses with 401 (no or unknown token) or 403 (a role too low). Every
refusal is written to the audit log with who, what and why before the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cible.access.roles import LOCAL_USER, Principal, Role
from cible.access.tokens import Keyring
from cible.domain.json_values import dumps_json
from cible.server.automation import AutomationWorker
from cible.server.database import Database
from cible.server.jobs import Jobs
from cible.workspace import Workspace

T = TypeVar("T")


class StrictJSONResponse(JSONResponse):
    """JSON without NaN or infinity (written ``null``), UTF-8 kept (see json_values)."""

    def render(self, content: Any) -> bytes:
        return dumps_json(content).encode("utf-8")


@dataclass
class ServerState:
    """What the app holds while it runs (``app.state.cible``)."""

    db: Database
    jobs: Jobs
    keyring: Keyring
    #: The local user's secret (cible.serve.token), valid for this process only.
    local_secret: str = field(repr=False)
    #: The automation worker, once started (woken after changes that may trigger).
    automations: AutomationWorker | None = None

    def changed(self) -> None:
        """Something reached the outbox (tags, segments): let automations look."""
        if self.automations is not None:
            self.automations.wake()

    async def reload_keyring(self) -> None:
        """Read the live tokens again (after a token change)."""
        self.keyring = await self.db.call(self.keyring_of)

    def keyring_of(self, ws: Workspace) -> Keyring:
        """The keyring of ``ws``'s live tokens and the local user's secret."""
        return ws.tokens.keyring(extra=[(self.local_secret, LOCAL_USER)])

    async def audit(
        self,
        principal: Principal | str,
        action: str,
        target: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one audit entry (on the database thread)."""
        actor = principal if isinstance(principal, str) else principal.actor
        await self.db.call(lambda ws: ws.audit_log.record(actor, action, target, outcome, detail))

    async def change(
        self,
        principal: Principal,
        action: str,
        target: str,
        work: Callable[[Workspace], T],
        detail: Callable[[T], dict[str, Any]] = lambda result: {},
    ) -> T:
        """Run ``work`` on the database thread and record it: ``ok`` with ``detail(result)``,
        or ``failed`` with the error's sentence (then the error propagates)."""

        def recorded(ws: Workspace) -> T:
            return ws.audit_log.change(principal.actor, action, target, lambda: work(ws), detail)

        return await self.db.call(recorded)


def server_state(request: Request) -> ServerState:
    """The running server's state."""
    state: ServerState = request.app.state.cible
    return state


State = Annotated[ServerState, Depends(server_state)]

_bearer = HTTPBearer(auto_error=False, description="An API token: `cible tokens create`.")

#: The actor written in the audit log for a request without a valid token.
ANONYMOUS = "anonymous"


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the caller's principal when it may act as ``role``."""

    async def check(
        request: Request,
        state: State,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        target = f"{request.method} {request.url.path}"
        principal = (
            None if credentials is None else state.keyring.authenticate(credentials.credentials)
        )
        if principal is None:
            reason = "no token" if credentials is None else "unknown or revoked token"
            await state.audit(
                ANONYMOUS, "auth", target, "refused", {"status": 401, "reason": reason}
            )
            raise HTTPException(
                401,
                detail="Give a valid API token as `Authorization: Bearer <token>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.may(role):
            detail = {"status": 403, "role": principal.role.value, "required": role.value}
            await state.audit(principal, "auth", target, "refused", detail)
            raise HTTPException(
                403,
                detail=f"This needs the {role.value} role; the token has {principal.role.value}.",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]
Editor = Annotated[Principal, Depends(require(Role.EDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
