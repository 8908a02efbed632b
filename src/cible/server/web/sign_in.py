"""Signing in with an API token, which becomes a session cookie, and out."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cible.access.roles import Role
from cible.server.deps import ANONYMOUS, server_state
from cible.server.web.access import (
    Visitor,
    page,
    requiring,
    sessions_of,
)
from cible.server.web.sessions import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
)

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto")
    return (forwarded or request.url.scheme) == "https"


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect to another one."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/overview"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.get("/")
async def home() -> RedirectResponse:
    """The overview."""
    return RedirectResponse("/overview", status_code=303)


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form: paste an API token."""
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request, None, "sign_in.html.j2", next=_safe_next(next), form_token=token, error=None
    )
    response.set_cookie(
        SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/overview",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Open a session for a valid token (not an ingest key); say why otherwise."""
    state = server_state(request)
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not expected or not csrf_token or expected != csrf_token:
        raise HTTPException(403, detail="This form has expired: reload the page.")
    principal = state.keyring.authenticate(token.strip())
    if principal is None or principal.role is Role.INGEST:
        await state.audit(ANONYMOUS, "web.sign_in", "web", "refused", {"reason": "bad token"})
        refused = page(
            request,
            None,
            "sign_in.html.j2",
            next=_safe_next(next),
            form_token=expected,
            error="unknown",
        )
        refused.status_code = 401
        return refused
    session = sessions_of(request).open(token.strip())
    await state.audit(principal, "web.sign_in", "web", "ok", {"role": principal.role.value})
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session.id, httponly=True, samesite="lax", secure=_secure(request)
    )
    response.delete_cookie(SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.VIEWER))]
) -> RedirectResponse:
    """End the session."""
    sessions_of(request).close(who.session.id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
