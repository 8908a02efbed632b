"""The admin pages: the server's jobs, the audit log, the API tokens.

Each gives the same rights as its API (docs/server.md): jobs for analysts and above
(``GET /api/jobs/{id}``), the audit log and tokens for admins (``GET /api/audit``,
``/api/tokens``); a lower role is refused (403) and the refusal audited. Tokens are
created and revoked through ``ws.tokens``, which writes the same audit entries as the
API; the server's keyring is loaded again after each change, so a revoked token is
refused from the next request.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.audit_log import AuditEntry
from cible.access.masking import mask_contacts
from cible.access.roles import Role
from cible.access.tokens import TokenNotFoundError
from cible.domain.errors import CibleError
from cible.locale import N_
from cible.server.deps import ServerState, server_state
from cible.server.web.access import Reader, SearchText, Visitor, page, reader, requiring, twin
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

Admin = Annotated[Visitor, Depends(reader(Role.ADMIN))]
Acting = Annotated[Visitor, Depends(requiring(Role.ADMIN))]
TokenId = Annotated[int, Path(ge=1, le=2**62)]
Outcome = Annotated[Literal["", "ok", "refused", "failed"], Query()]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]

#: Words the pages translate from data (job states, outcomes), marked for extraction.
WORDS = (
    *(N_("queued"), N_("running"), N_("succeeded"), N_("failed")),
    *(N_("ok"), N_("refused"), N_("ingest")),
)
#: Audit entries shown per page.
AUDIT_PAGE = 50
#: Roles a token may be given here (an ``ingest`` key only posts events).
TOKEN_ROLES = tuple(role.value for role in Role)


def _jobs(state: ServerState) -> dict[str, Any]:
    # Jobs live in the server's memory: read without waiting for the database.
    found = state.jobs.all()
    return {
        "jobs": [job.as_dict() for job in found],
        "running": any(not job.finished for job in found),
    }


@router.get("/admin/jobs.json")
async def jobs_json(request: Request, who: Reader) -> PlainResponse:
    """The server's jobs, the latest first."""
    return twin(_jobs(server_state(request)), who)


@router.get("/admin/jobs")
async def jobs(request: Request, who: Reader) -> HTMLResponse:
    """The server's jobs with their progress; htmx asks again every 2 s while one runs."""
    data = mask_contacts(_jobs(server_state(request)), who.principal)
    partial = request.headers.get("hx-request") == "true"
    return page(request, who, "_jobs.html.j2" if partial else "admin_jobs.html.j2", data=data)


async def _audit(
    request: Request, actor: str, action: str, outcome: str, page_number: int
) -> dict[str, Any]:
    offset = (page_number - 1) * AUDIT_PAGE

    def read(ws: Workspace) -> list[AuditEntry]:
        # One more than a page: whether an older page exists.
        return ws.audit_log.entries(
            AUDIT_PAGE + 1,
            offset,
            action or None,
            actor=actor or None,
            outcome=outcome or None,
        )

    found = await server_state(request).db.call(read)
    return {
        "actor": actor,
        "action": action,
        "outcome": outcome,
        "page": page_number,
        "has_next": len(found) > AUDIT_PAGE,
        "entries": [asdict(entry) for entry in found[:AUDIT_PAGE]],
    }


@router.get("/admin/audit.json")
async def audit_json(
    request: Request,
    who: Admin,
    actor: SearchText = "",
    action: SearchText = "",
    outcome: Outcome = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> PlainResponse:
    """The audit log's entries of one page, newest first, filtered."""
    return twin(await _audit(request, actor, action, outcome, page_number), who)


@router.get("/admin/audit")
async def audit(
    request: Request,
    who: Admin,
    actor: SearchText = "",
    action: SearchText = "",
    outcome: Outcome = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The audit log, newest first, by actor, action and outcome, 50 entries a page."""
    data = await _audit(request, actor, action, outcome, page_number)
    return page(request, who, "admin_audit.html.j2", data=data)


async def _tokens(request: Request) -> dict[str, Any]:
    listed = await server_state(request).db.call(lambda ws: ws.tokens.list())
    return {"tokens": [token.as_dict() for token in listed], "roles": TOKEN_ROLES}


@router.get("/admin/tokens.json")
async def tokens_json(request: Request, who: Admin) -> PlainResponse:
    """Every token (never a secret), revoked ones included."""
    return twin(await _tokens(request), who)


@router.get("/admin/tokens")
async def tokens(request: Request, who: Admin) -> HTMLResponse:
    """The tokens, a form to create one, a button to revoke each live one."""
    data = await _tokens(request)
    return page(request, who, "admin_tokens.html.j2", data=data, created=None, error=None)


@router.post("/admin/tokens")
async def create_token(
    request: Request,
    who: Acting,
    name: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    unmask: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Create a token; the page shows its secret this once (and is not cached)."""
    state = server_state(request)
    created: dict[str, Any] | None = None
    error = None
    try:
        secret, info = await state.db.call(
            lambda ws: ws.tokens.create(name, role, unmask=bool(unmask), actor=who.principal)
        )
        created = {**info.as_dict(), "token": secret}
    except CibleError as refused:  # written to the audit log by ws.tokens
        error = str(refused)
    await state.reload_keyring()
    data = await _tokens(request)
    response = page(request, who, "admin_tokens.html.j2", data=data, created=created, error=error)
    response.status_code = 201 if created else 422
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(request: Request, who: Acting, token_id: TokenId) -> RedirectResponse:
    """Revoke a token for good (refused from this moment), then back to the list."""
    state = server_state(request)
    state.keyring.forget(token_id)
    try:
        await state.db.call(lambda ws: ws.tokens.revoke(token_id, actor=who.principal))
    except TokenNotFoundError as missing:
        raise HTTPException(404, detail=str(missing)) from None
    finally:
        await state.reload_keyring()
    return RedirectResponse("/admin/tokens", status_code=303)
