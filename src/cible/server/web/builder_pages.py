"""The segment builder's page: pick conditions, preview the size, publish.

The form is parsed and turned into the segment language by
:mod:`cible.server.web.builder`; the preview is ``ws.segments.preview``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as PlainResponse

from cible.access.roles import Role
from cible.domain.errors import CibleError, DraftChangedError
from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES
from cible.segments.drafts import DraftNotFoundError
from cible.segments.literals import CountOp, Op
from cible.segments.runner import ALL_TRAITS
from cible.segments.vocabulary import dtype_kind
from cible.server.deps import server_state
from cible.server.web.access import (
    Reader,
    Visitor,
    page,
    refuse_role,
    requiring,
)
from cible.server.web.builder import apply_action, error_path, parse_tree, where
from cible.server.web.draft_pages import (
    DRAFT_FIELD,
    SAVED_AT_FIELD,
    continued,
    forget_published,
    reopened,
    save_draft,
)
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)


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
        "dimensions": sorted({i.dimension for i in ws.segments.catalogue() if i.dimension}),
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
    state["draft_saved"] = None
    state["draft_changed"] = False
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


def _keep_draft(
    ws: Workspace, form: Mapping[str, Any], who: Visitor, built: dict[str, Any]
) -> None:
    """Save the form as a draft; a refusal is said in the builder as its other errors."""
    try:
        draft = save_draft(ws, form, who)
    except DraftChangedError:
        # Not replaced: the page no longer continues that draft, so saving again keeps
        # this version as a new draft and loses nobody's work.
        built["draft_changed"] = True
        for field in (DRAFT_FIELD, SAVED_AT_FIELD):
            built["form"].pop(field, None)
    except CibleError as error:  # too large a form, say
        built["error"], built["error_at"] = str(error), None
    else:
        built["draft_saved"] = draft.draft_id
        built["form"].update(continued(draft))


@router.get("/segments/new")
async def new_segment(
    request: Request,
    who: Reader,
    draft: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """The segment builder, with one empty condition, or as draft ``draft`` was left."""

    def start(ws: Workspace) -> dict[str, Any]:
        if draft is not None:
            return {**_build(ws, reopened(ws, draft), "", False), "choices": _choices(ws)}
        tree = apply_action(parse_tree({}), "add:n")
        return {
            "choices": _choices(ws),
            "tree": tree,
            "form": {},
            "error": None,
            "error_at": None,
            "preview": None,
            "saved": None,
            "draft_saved": None,
            "draft_changed": False,
        }

    try:
        data = await server_state(request).db.call(start)
    except DraftNotFoundError:
        response = page(request, who, "not_found.html.j2", what=f"draft {draft}")
        response.status_code = 404
        return response
    return page(request, who, "builder.html.j2", **data)


@router.post("/segments/new", response_model=None)
async def build_segment(
    request: Request, who: Annotated[Visitor, Depends(requiring(Role.ANALYST))]
) -> Response:
    """Recompute the builder after a change: the preview, or a message by the condition;
    ``action=publish`` saves the segment (editors), ``action=draft`` keeps the form as a
    draft (analysts)."""
    form = dict((await request.form()).items())
    action = str(form.pop("action", "") or "")
    publish = action == "publish"
    if publish:
        await refuse_role(request, who, Role.EDITOR, "Publishing a segment")

    def work(ws: Workspace) -> dict[str, Any]:
        built = _build(ws, form, action, publish)
        if action == "draft":
            _keep_draft(ws, form, who, built)
        if built["saved"]:
            forget_published(ws, form, who)
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
