"""The automation pages: the list, one automation with its runs and log, the editor.

Reading is for everyone signed in, as ``GET /api/automations``. Pausing, resuming and
saving go through the API's own handlers (:mod:`cible.server.routes.automations`:
the same audit entries) and are for editors and admins; the dry run is for analysts
and above, its messages and targets masked as the API masks them. The editor's form
(:mod:`cible.server.web.automation_form`) is checked by ``ws.automations.validate``,
as ``POST /api/automations/validate`` checks a definition, and its message is shown
beside the field whose path it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.responses import Response as PlainResponse

from cible.access.roles import Role
from cible.activation.automation_definition import EVENT_OPS, AutomationError
from cible.domain.errors import CibleError
from cible.locale import N_
from cible.server.deps import server_state
from cible.server.routes import automations as api
from cible.server.web.access import (
    Reader,
    Signed,
    Visitor,
    page,
    refuse_role,
    requiring,
    twin,
)
from cible.server.web.automation_form import TRIGGER_KINDS, definition, field_of, form_of
from cible.server.web.forms import refused, see_other, sentence
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

Editor = Annotated[Visitor, Depends(requiring(Role.EDITOR))]
Analyst = Annotated[Visitor, Depends(requiring(Role.ANALYST))]
#: Runs and log lines an automation's page shows (the latest).
SHOWN_RUNS = 50
SHOWN_LOG = 200
#: Statuses of automations and runs the pages translate, marked for extraction.
WORDS = (
    *(N_("active"), N_("paused"), N_("waiting"), N_("done")),
    *(N_("goal"), N_("failed"), N_("stopped")),
)


def _list(ws: Workspace) -> dict[str, Any]:
    return {"automations": [ws.automations.get(a["id"]) for a in ws.automations.list()]}


@router.get("/automations.json")
async def automations_json(request: Request, who: Signed) -> PlainResponse:
    """Every automation: status, trigger, runs by status."""
    return twin(await server_state(request).db.call(_list), who)


@router.get("/automations")
async def automations(request: Request, who: Signed) -> HTMLResponse:
    """Every automation with its status, trigger and runs."""
    data = await server_state(request).db.call(_list)
    return page(request, who, "automations.html.j2", data=data)


# -- the editor -------------------------------------------------------------------------


def _choices(ws: Workspace) -> dict[str, Any]:
    """The names a definition may use: segments, tags, templates, webhooks."""
    return {
        "segments": [entry.id for entry in ws.segments.catalogue()],
        "tags": [t.name for t in ws.tags.list()],
        "templates": [t.definition.id for t in ws.templates.list()],
        "webhooks": sorted(ws.config.webhooks),
        "kinds": TRIGGER_KINDS,
        "event_types": ("track", "page", "screen", "identify", "group"),
        "event_ops": EVENT_OPS,
    }


def _editor(ws: Workspace, form: Mapping[str, Any], save: bool, actor: str) -> dict[str, Any]:
    """Check (and, asked by an editor, save) what the form defines."""
    built, problems = definition(form)
    state: dict[str, Any] = {"form": dict(form), "errors": problems, "error": None}
    state["valid"] = state["saved"] = None
    if not problems:
        try:
            if save:
                saved = ws.audit_log.change(
                    actor,
                    "automation.save",
                    f"automation:{built['id']}",
                    lambda: ws.automations.add(built, actor=actor),
                    lambda saved: {"version": saved["version"], "from": "web"},
                )
                state["saved"] = saved["id"]
            else:
                state["valid"] = ws.automations.validate(built).to_dict()
        except CibleError as error:
            message = str(error)
            at = field_of(message, str(form.get("trigger_kind") or ""))
            if at is None:
                state["error"] = message
            else:
                state["errors"] = {at: message}
    return {**state, "choices": _choices(ws)}


def _editor_page(request: Request, who: Visitor, data: dict[str, Any]) -> HTMLResponse:
    partial = request.headers.get("hx-request") == "true"
    response = page(
        request, who, "_automation_form.html.j2" if partial else "automation_editor.html.j2", **data
    )
    # htmx swaps only a success: a form with its messages is answered 200 to it.
    return refused(response) if (data["errors"] or data["error"]) and not partial else response


def _start(ws: Workspace, form: dict[str, str]) -> dict[str, Any]:
    """The editor before any check: the form's fields and the names it may use."""
    return {"form": form, "errors": {}, "error": None, "valid": None, "saved": None,
            "choices": _choices(ws)}  # fmt: skip


def _blank(ws: Workspace) -> dict[str, Any]:
    return _start(ws, {"trigger_kind": "segment", "reentry": "always"})


def _filled(ws: Workspace, automation_id: str) -> dict[str, Any] | None:
    try:
        stored = ws.automations.get(automation_id)
    except AutomationError:
        return None
    return _start(ws, form_of(stored["definition"]))


@router.get("/automations/new.json")
async def new_automation_json(request: Request, who: Reader) -> PlainResponse:
    """The empty editor's data: its fields and the names a definition may use."""
    return twin(await server_state(request).db.call(_blank), who)


@router.get("/automations/new")
async def new_automation(request: Request, who: Reader) -> HTMLResponse:
    """The editor, empty (analysts check a definition, editors save it)."""
    return _editor_page(request, who, await server_state(request).db.call(_blank))


@router.post("/automations/new", response_model=None)
async def edit_automation(request: Request, who: Analyst) -> Response:
    """Check the form (``action=check``, or a change of the trigger's kind) or save it
    (``action=save``, editors): messages beside the fields they name."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    save = form.pop("action", "") == "save"
    form.pop("csrf_token", None)
    if save:
        await refuse_role(request, who, Role.EDITOR, "Saving an automation")
    data = await server_state(request).db.call(
        lambda ws: _editor(ws, form, save, who.principal.actor)
    )
    if data["saved"]:
        return see_other(f"/automations/{quote(data['saved'], safe='')}")
    return _editor_page(request, who, data)


@router.get("/automations/{automation_id}/edit.json")
async def edit_form_json(request: Request, who: Reader, automation_id: str) -> PlainResponse:
    """The editor's data for a stored automation."""
    data = await server_state(request).db.call(lambda ws: _filled(ws, automation_id))
    if data is None:
        raise HTTPException(404, detail=f"No automation {automation_id!r}.")
    return twin(data, who)


@router.get("/automations/{automation_id}/edit")
async def edit_form(request: Request, who: Reader, automation_id: str) -> HTMLResponse:
    """The editor, filled with a stored automation."""
    data = await server_state(request).db.call(lambda ws: _filled(ws, automation_id))
    if data is None:
        return _not_found(request, who, automation_id)
    return _editor_page(request, who, data)


# -- one automation ---------------------------------------------------------------------


def _automation(ws: Workspace, automation_id: str) -> dict[str, Any] | None:
    try:
        found = ws.automations.get(automation_id)
    except AutomationError:
        return None
    runs = ws.automations.runs(automation_id, limit=SHOWN_RUNS)
    log = ws.automations.log(automation_id, limit=SHOWN_LOG)
    return {
        **found,
        "source": form_of(found["definition"]),
        "latest_runs": [run.__dict__ for run in runs],
        "log": [row.__dict__ for row in log],
    }


@router.get("/automations/{automation_id}.json")
async def automation_json(request: Request, who: Signed, automation_id: str) -> PlainResponse:
    """One automation's data: definition, status, runs, log."""
    data = await server_state(request).db.call(lambda ws: _automation(ws, automation_id))
    if data is None:
        raise HTTPException(404, detail=f"No automation {automation_id!r}.")
    return twin(data, who)


@router.get("/automations/{automation_id}")
async def automation(request: Request, who: Signed, automation_id: str) -> HTMLResponse:
    """One automation: its definition in words, status, runs and log; pause, resume,
    edit (editors) and dry run (analysts and above)."""
    return await _automation_page(request, who, automation_id, None, None)


async def _automation_page(
    request: Request,
    who: Visitor,
    automation_id: str,
    dry_run: dict[str, Any] | None,
    error: str | None,
) -> HTMLResponse:
    data = await server_state(request).db.call(lambda ws: _automation(ws, automation_id))
    if data is None:
        return _not_found(request, who, automation_id)
    response = page(request, who, "automation.html.j2", data=data, dry_run=dry_run, error=error)
    return refused(response) if error else response


def _not_found(request: Request, who: Visitor, what: str) -> HTMLResponse:
    response = page(request, who, "not_found.html.j2", what=what)
    response.status_code = 404
    return response


@router.post("/automations/{automation_id}/pause", response_model=None)
async def pause(request: Request, who: Editor, automation_id: str) -> Response:
    """Pause (editors), as ``POST /api/automations/{id}/pause``."""
    await api.pause(server_state(request), who.principal, automation_id)
    return see_other(f"/automations/{quote(automation_id, safe='')}")


@router.post("/automations/{automation_id}/resume", response_model=None)
async def resume(request: Request, who: Editor, automation_id: str) -> Response:
    """Resume (editors), as ``POST /api/automations/{id}/resume``."""
    await api.resume(server_state(request), who.principal, automation_id)
    return see_other(f"/automations/{quote(automation_id, safe='')}")


async def _dry_run(request: Request, who: Visitor, automation_id: str) -> dict[str, Any]:
    customer_id = str((await request.form()).get("customer_id") or "").strip()
    if not customer_id:
        raise CibleError("Give a customer id to try the automation on.")
    return await api.dry_run(server_state(request), who.principal, automation_id, customer_id)


@router.post("/automations/{automation_id}/dry-run.json")
async def dry_run_json(request: Request, who: Analyst, automation_id: str) -> PlainResponse:
    """The dry run's data (contacts masked as in ``POST /api/automations/{id}/dry-run``)."""
    return twin(await _dry_run(request, who, automation_id), who)


@router.post("/automations/{automation_id}/dry-run")
async def dry_run(request: Request, who: Analyst, automation_id: str) -> HTMLResponse:
    """Every step the automation would take for one customer now, writing nothing
    (analysts and above; contacts masked for those without the grant)."""
    try:
        found = await _dry_run(request, who, automation_id)
    except CibleError as error:
        return await _automation_page(request, who, automation_id, None, sentence(error))
    return await _automation_page(request, who, automation_id, found, None)
