"""The web pages of ``cible serve``: sign-in, overview, segments and customers.

Pages are rendered on the server (Jinja2, :mod:`cible.server.web.rendering`) and
enhanced with htmx (the segment list filters as you type); charts are Vega-Lite
specs (:mod:`cible.reporting.charts`) drawn by the vendored vega-embed. Every page
has a JSON twin at the same path with ``.json`` (``/segments/vip`` and
``/segments/vip.json``) holding what the page shows, so people, programs and tests
read the same data.

Who may do what is the API's rule (:mod:`cible.access.roles`): the session's token
decides, every state-changing form carries the session's CSRF token, and a refusal is
written to the audit log. E-mails and phones are masked for viewers and analysts
without the grant (:mod:`cible.access.masking`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.masking import CONTACT_FIELDS, mask_contacts, sees_contacts
from cible.access.roles import Principal, Role
from cible.activation.export import CONTACT_FIELDS as CHANNEL_FIELDS
from cible.activation.export import PURPOSE
from cible.domain.errors import CibleError
from cible.domain.json_values import dumps_json
from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES
from cible.locale import N_
from cible.reporting.charts import revenue_shares, size_trend
from cible.reporting.overview import build_overview
from cible.segments.customers import CustomerNotFoundError
from cible.segments.literals import CountOp, Op
from cible.segments.runner import ALL_TRAITS
from cible.segments.vocabulary import dtype_kind
from cible.server.deps import ANONYMOUS, server_state
from cible.server.routes import exports
from cible.server.web.builder import apply_action, error_path, parse_tree, where
from cible.server.web.rendering import LANG_COOKIE, choose_lang, render
from cible.server.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Sessions,
    WebSession,
)
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

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
#: Members shown per page of a segment.
MEMBERS_PAGE = 50
#: Customers a search lists at most.
SEARCH_LIMIT = 50


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


def reader(role: Role) -> Callable[..., Any]:
    """A dependency for pages that need ``role`` to be read (a customer's profile holds
    personal data: analysts and above, as ``GET /api/customers/{id}``)."""

    async def check(request: Request, who: Signed) -> Visitor:
        if not who.may(role):
            target = f"{request.method} {request.url.path}"
            detail = {"status": 403, "role": who.principal.role.value, "required": role.value}
            await server_state(request).audit(who.principal, "auth", target, "refused", detail)
            raise HTTPException(403, detail=f"This needs the {role.value} role.")
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
        if not who.may(role):
            detail = {"status": 403, "role": who.principal.role.value, "required": role.value}
            await state.audit(who.principal, "auth", target, "refused", detail)
            raise HTTPException(403, detail=f"This needs the {role.value} role.")
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


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto")
    return (forwarded or request.url.scheme) == "https"


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect to another one."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/overview"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- signing in --------------------------------------------------------------------------


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


# -- overview ----------------------------------------------------------------------------


def _overview(ws: Workspace) -> dict[str, Any]:
    return build_overview(ws.store, ws.segments, ws.kpis)


@router.get("/overview.json")
async def overview_json(request: Request, who: Signed) -> PlainResponse:
    """The overview's data."""
    return twin(await server_state(request).db.call(_overview), who)


@router.get("/overview")
async def overview(request: Request, who: Signed) -> HTMLResponse:
    """The base, its quality, and each dimension's segments with a size trend."""
    data = await server_state(request).db.call(_overview)
    charts = {
        dim["id"]: {
            # A trend needs a moment at least: none before a run.
            "trend": size_trend(dim["segments"], who.lang)
            if any(seg["trend"] for seg in dim["segments"])
            else None,
            "shares": revenue_shares(dim["segments"], who.lang),
        }
        for dim in data["dimensions"]
    }
    return page(request, who, "overview.html.j2", data=data, charts=charts)


@router.post("/runs")
async def start_run(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.ANALYST))]
) -> RedirectResponse:
    """Start a run as a job (analysts and above), then back to the overview."""
    state = server_state(request)
    job = state.jobs.start("run", lambda ws, progress: dict(ws.run(progress=progress).__dict__))
    await state.audit(who.principal, "run.start", f"job:{job.job_id}", "ok", {"from": "web"})
    return RedirectResponse(f"/overview?job={job.job_id}", status_code=303)


# -- segment builder ---------------------------------------------------------------------


def _choices(ws: Workspace) -> dict[str, Any]:
    """What the builder offers: traits and attributes with their descriptions, event
    names seen, tags, dimensions, channels and purposes."""
    customers = ws.registry.table("customers")
    return {
        "traits": [t for t in ALL_TRAITS if dtype_kind(t.dtype) is not None],
        "attributes": [
            f
            for f in customers.fields
            if f.usable_for_targeting and f.name != "customer_id" and f.type.value != "json"
        ],
        "events": ws.events.names(),
        "tags": [t.name for t in ws.tags.list()],
        "dimensions": sorted({i.dimension for i in ws.segments.list() if i.dimension}),
        "channels": CHANNELS,
        "purposes": PURPOSES,
        "statuses": CONSENT_STATUSES,
        "ops": get_args(Op),
        "count_ops": get_args(CountOp),
    }


def _definition(form: Mapping[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    traits = {t.name: t.dtype for t in ALL_TRAITS}
    found: dict[str, Any] = {
        "id": str(form.get("id") or "").strip(),
        "name": {
            "en": str(form.get("name_en") or "").strip(),
            "fr": str(form.get("name_fr") or "").strip(),
        },
        "where": where(tree, traits),
    }
    found["name"] = {k: v for k, v in found["name"].items() if v} or found["id"]
    if form.get("dimension"):
        found["dimension"] = str(form["dimension"]).strip()
    return found


def _build(ws: Workspace, form: Mapping[str, Any], action: str, publish: bool) -> dict[str, Any]:
    """Preview (and, when asked by an editor, save) what the form defines."""
    tree = apply_action(parse_tree(form), action)
    definition = _definition(form, tree)
    state: dict[str, Any] = {"tree": tree, "form": dict(form), "definition": definition}
    state["error"] = state["error_at"] = state["preview"] = state["saved"] = None
    try:
        if publish:
            saved, _new = ws.segments.add(definition)
            state["saved"] = saved.id
        else:
            # A preview needs no id yet; the saved definition will.
            state["preview"] = ws.segments.preview(
                {**definition, "id": definition["id"] or "preview"}
            )
    except CibleError as error:
        message = str(error)
        state["error"] = message
        state["error_at"] = error_path(message, tree)
    return state


@router.get("/segments/new")
async def new_segment(request: Request, who: Reader) -> HTMLResponse:
    """The segment builder, with one empty condition."""

    def start(ws: Workspace) -> dict[str, Any]:
        tree = apply_action(parse_tree({}), "add:n")
        return {
            "choices": _choices(ws),
            "tree": tree,
            "form": {},
            "error": None,
            "error_at": None,
            "preview": None,
            "saved": None,
        }

    data = await server_state(request).db.call(start)
    return page(request, who, "builder.html.j2", **data)


@router.post("/segments/new", response_model=None)
async def build_segment(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.ANALYST))]
) -> Response:
    """Recompute the builder after a change: the preview, or a message by the condition;
    ``action=publish`` saves the segment (editors)."""
    form = dict((await request.form()).items())
    action = str(form.pop("action", "") or "")
    publish = action == "publish"
    if publish and not who.may(Role.EDITOR):
        target = f"{request.method} {request.url.path}"
        detail = {"status": 403, "role": who.principal.role.value, "required": "editor"}
        await server_state(request).audit(who.principal, "auth", target, "refused", detail)
        raise HTTPException(403, detail="Publishing a segment needs the editor role.")

    def work(ws: Workspace) -> dict[str, Any]:
        built = _build(ws, form, action, publish)
        if built["saved"]:
            ws.audit_log.record(
                who.principal.actor,
                "segment.put",
                f"segment:{built['saved']}",
                "ok",
                {"from": "web"},
            )
        return {**built, "choices": _choices(ws)}

    data = await server_state(request).db.call(work)
    if data["saved"]:
        target = f"/segments/{quote(data['saved'], safe='')}"
        if request.headers.get("hx-request") == "true":
            return PlainResponse(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    partial = request.headers.get("hx-request") == "true"
    return page(request, who, "_builder.html.j2" if partial else "builder.html.j2", **data)


# -- segments ----------------------------------------------------------------------------


def _segments(ws: Workspace, text: str, dimension: str) -> dict[str, Any]:
    infos = ws.segments.list()
    dimensions = sorted({i.dimension for i in infos if i.dimension})
    needle = text.strip().lower()
    kept = [
        i.as_dict()
        for i in infos
        if (not dimension or i.dimension == dimension)
        and (
            not needle
            or needle in i.id.lower()
            or any(needle in name.lower() for name in i.name.values())
        )
    ]
    return {"segments": kept, "dimensions": dimensions, "q": text, "dimension": dimension}


SearchText = Annotated[str, Query(max_length=200)]


@router.get("/segments.json")
async def segments_json(
    request: Request, who: Signed, q: SearchText = "", dimension: SearchText = ""
) -> PlainResponse:
    """The segment list's data."""
    return twin(await server_state(request).db.call(lambda ws: _segments(ws, q, dimension)), who)


@router.get("/segments")
async def segments(
    request: Request, who: Signed, q: SearchText = "", dimension: SearchText = ""
) -> HTMLResponse:
    """Every segment, searchable and filtered by dimension (the table alone for htmx)."""
    data = await server_state(request).db.call(lambda ws: _segments(ws, q, dimension))
    partial = request.headers.get("hx-request") == "true"
    return page(request, who, "_segment_rows.html.j2" if partial else "segments.html.j2", data=data)


def _segment(ws: Workspace, segment_id: str, page_number: int) -> dict[str, Any] | None:
    found = {info.id: info for info in ws.segments.list()}
    info = found.get(segment_id)
    if info is None:
        return None
    stored = ws.segments.definition(segment_id)
    members: list[dict[str, Any]] = []
    total = 0
    if ws.store.has_run():
        table = ws.segments.members(segment_id)
        total = int(table.count().execute())
        columns = [
            c
            for c in ("customer_id", "monetary_value", "frequency", "recency_days")
            if c in table.columns
        ]
        members = (
            table.select(*columns)
            .order_by("customer_id")
            .limit(MEMBERS_PAGE, offset=(page_number - 1) * MEMBERS_PAGE)
            .to_pyarrow()
            .to_pylist()
        )
    trend = [
        {"as_of": row.as_of, "size": row.size}
        for row in (ws.kpis.per_segment(segment=segment_id) if ws.store.has_run() else [])
    ]
    persona = None
    if total:
        try:
            persona = ws.persona(segment_id).as_dict()
        except CibleError:  # too few members to compare, say: the page goes without
            persona = None
    return {
        **info.as_dict(),
        "persona": persona,
        "definition": stored.to_dict() if stored else None,
        "trend": trend,
        "members": members,
        "members_total": total,
        "page": page_number,
        "pages": max(1, -(-total // MEMBERS_PAGE)),
    }


PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/segments/{segment_id}.json")
async def segment_json(
    request: Request, who: Signed, segment_id: str, page: PageNumber = 1
) -> PlainResponse:
    """One segment's data."""
    data = await server_state(request).db.call(lambda ws: _segment(ws, segment_id, page))
    if data is None:
        raise HTTPException(404, detail=f"No segment {segment_id!r}.")
    return twin(data, who)


@router.get("/segments/{segment_id}")
async def segment(
    request: Request,
    who: Signed,
    segment_id: str,
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """One segment: what it is, its figures, its definition, its size over time, members."""
    data = await server_state(request).db.call(lambda ws: _segment(ws, segment_id, page_number))
    if data is None:
        response = page(request, who, "not_found.html.j2", what=segment_id)
        response.status_code = 404
        return response
    trend = size_trend([data], who.lang) if data["trend"] else None
    # Channels whose file carries contacts in clear need the right to see them.
    channels = [
        c
        for c in CHANNELS
        if sees_contacts(who.principal) or not CONTACT_FIELDS & set(CHANNEL_FIELDS.get(c, ()))
    ]
    return page(request, who, "segment.html.j2", data=data, trend_spec=trend, channels=channels)


@router.get("/segments/{segment_id}/export", response_model=None)
async def export_members(
    request: Request,
    who: Reader,
    segment_id: str,
    channel: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The members as CSV: for a channel, only those with consent (exactly the API's
    export, rights and audit included); without one, for analysis (no contact)."""
    if channel and channel not in CHANNELS:
        raise HTTPException(422, detail=f"Unknown channel {channel!r}.")
    return await exports.export(
        state=server_state(request),
        principal=who.principal,
        segment_id=segment_id,
        channel=exports.Channel(channel) if channel else None,
        purpose=exports.Purpose(PURPOSE),
        format=exports.Format.CSV,
        platform=None,
    )


# -- customers ---------------------------------------------------------------------------


@router.get("/customers.json")
async def customers_json(request: Request, who: Reader, q: SearchText = "") -> PlainResponse:
    """The search's results."""
    found = await server_state(request).db.call(lambda ws: _search(ws, q, who))
    return twin({"q": q, "customers": found}, who)


@router.get("/customers")
async def customers(request: Request, who: Reader, q: SearchText = "") -> HTMLResponse:
    """Search customers by id, e-mail or name."""
    found = await server_state(request).db.call(lambda ws: _search(ws, q, who))
    data = mask_contacts({"q": q, "customers": found}, who.principal)
    return page(request, who, "customers.html.j2", data=data)


def _search(ws: Workspace, text: str, who: Visitor) -> list[dict[str, Any]]:
    # Without the grant, e-mails match whole: a substring search would spell out,
    # one character at a time, the addresses the page masks.
    return ws.customers.search(
        text, limit=SEARCH_LIMIT, partial_contacts=sees_contacts(who.principal)
    )


def _customer(ws: Workspace, customer_id: str) -> dict[str, Any] | None:
    try:
        profile = ws.customers.profile(customer_id)
    except CustomerNotFoundError:
        return None
    names = {info.id: info for info in ws.segments.list()}
    for stay in profile["memberships"]:
        info = names.get(stay["segment_id"])
        stay["name"] = info.name if info else {}
        stay["color"] = info.color if info else "#868e96"
    return {**profile, "timeline": ws.customers.timeline(customer_id)}


@router.get("/customers/{customer_id}.json")
async def customer_json(request: Request, who: Reader, customer_id: str) -> PlainResponse:
    """One customer's data."""
    data = await server_state(request).db.call(lambda ws: _customer(ws, customer_id))
    if data is None:
        raise HTTPException(404, detail=f"No customer {customer_id!r}.")
    return twin(data, who)


@router.get("/customers/{customer_id}")
async def customer(request: Request, who: Reader, customer_id: str) -> HTMLResponse:
    """One customer: profile, traits, segments with history, consents, timeline."""
    data = await server_state(request).db.call(lambda ws: _customer(ws, customer_id))
    if data is None:
        response = page(request, who, "not_found.html.j2", what=customer_id)
        response.status_code = 404
        return response
    return page(request, who, "customer.html.j2", data=mask_contacts(data, who.principal))


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
