"""Who is looking at a page, what they may do, and how a page is sent.

The session's token decides (:mod:`cible.access.roles`): every state-changing form
carries the session's CSRF token and a refusal is written to the audit log. Pages
are rendered on the server (:mod:`cible.server.web.rendering`) with security headers;
each has a JSON twin holding what it shows, contacts masked the same way
(:mod:`cible.access.masking`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import mask_contacts
from cible.access.roles import Principal, Role
from cible.domain.json_values import dumps_json
from cible.locale import N_
from cible.server.deps import server_state
from cible.server.web.rendering import LANG_COOKIE, choose_lang, render
from cible.server.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Sessions,
    WebSession,
)

#: Words the pages translate from data (roles, kinds of segment), marked for extraction.
WORDS = (
    *(N_("viewer"), N_("analyst"), N_("editor"), N_("admin")),
    *(N_("builtin"), N_("rule"), N_("cluster")),
)
#: Sent with every page: scripts only from this server (Vega compiles its expressions,
#: hence 'unsafe-eval'), no framing (clickjacking), forms only to this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class NotSignedInError(Exception):
    """The request has no live session: the browser is sent to the sign-in page."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


@dataclass(frozen=True)
class Visitor:
    """Who is looking: the principal of the session's token, the session, the language."""

    principal: Principal
    session: WebSession
    lang: str

    def may(self, role: Role) -> bool:
        """Whether the visitor's role reaches ``role``."""
        return self.principal.may(role)


def sessions_of(request: Request) -> Sessions:
    """The server's web sessions (created with the app)."""
    found: Sessions = request.app.state.web_sessions
    return found


def lang_of(request: Request) -> str:
    """The language of this request (URL, cookie, browser)."""
    return choose_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


async def refuse_role(request: Request, who: Visitor, role: Role, what: str = "This") -> None:
    """Refuse (403) a visitor whose role does not reach ``role``, written to the audit
    log with the role they had and the one they needed."""
    if who.may(role):
        return
    target = f"{request.method} {request.url.path}"
    detail = {"status": 403, "role": who.principal.role.value, "required": role.value}
    await server_state(request).audit(who.principal, "auth", target, "refused", detail)
    raise HTTPException(403, detail=f"{what} needs the {role.value} role.")


def reader(role: Role) -> Callable[..., Any]:
    """A dependency for pages that need ``role`` to be read (a customer's profile holds
    personal data: analysts and above, as ``GET /api/customers/{id}``)."""

    async def check(request: Request, who: Signed) -> Visitor:
        await refuse_role(request, who, role)
        return who

    return check


async def visitor(request: Request) -> Visitor:
    """The signed-in visitor, or :class:`NotSignedInError`."""
    state = server_state(request)
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE))
    principal = None if session is None else state.keyring.authenticate(session.secret)
    if session is None or principal is None or principal.role is Role.INGEST:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotSignedInError(target)
    return Visitor(principal, session, lang_of(request))


Signed = Annotated[Visitor, Depends(visitor)]
#: A search box's text.
SearchText = Annotated[str, Query(max_length=200)]
Reader = Annotated[Visitor, Depends(reader(Role.ANALYST))]


def requiring(role: Role) -> Callable[..., Any]:
    """A dependency: the visitor, when their role reaches ``role`` and the CSRF token is
    right; otherwise 403, written to the audit log."""

    async def check(request: Request, who: Signed) -> Visitor:
        state = server_state(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            given = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
        target = f"{request.method} {request.url.path}"
        if not sessions_of(request).valid_csrf(who.session, given):
            await state.audit(who.principal, "auth", target, "refused", {"reason": "csrf"})
            raise HTTPException(403, detail="This form has expired: reload the page.")
        await refuse_role(request, who, role)
        return who

    return check


def page(request: Request, who: Visitor | None, template: str, **context: Any) -> HTMLResponse:
    """A rendered page; a ``?lang=`` choice is remembered in a cookie."""
    lang = who.lang if who is not None else lang_of(request)
    html = render(
        lang,
        template,
        request_path=request.url.path,
        query=request.url.query,
        visitor=who,
        csrf=who.session.csrf if who is not None else "",
        Role=Role,
        **context,
    )
    response = HTMLResponse(html, headers=SECURITY_HEADERS)
    chosen = request.query_params.get("lang")
    if chosen == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def twin(data: Any, who: Visitor) -> PlainResponse:
    """The JSON twin of a page: the same data, contacts masked as on the page."""
    return PlainResponse(
        dumps_json(mask_contacts(data, who.principal)), media_type="application/json"
    )


def sign_in_redirect(request: Request, error: NotSignedInError) -> Response:
    """Where a request without a session goes: the sign-in page (htmx: a full reload)."""
    if request.url.path.endswith(".json"):
        return PlainResponse(
            dumps_json({"detail": "Sign in first: /sign-in."}),
            status_code=401,
            media_type="application/json",
        )
    target = f"/sign-in?next={quote(error.target, safe='')}"
    if request.headers.get("hx-request") == "true":
        return PlainResponse(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
