"""Automations: ``/api/automations`` — definitions, pause and resume, runs, log, dry run.

Everyone may read; editors and admins add, change, pause, resume and delete
automations. Every change is in the audit log. A dry run's messages and targets are
masked for the roles that may not read contacts (:mod:`cible.access.masking`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from cible.access.masking import customer_masks, redact, target_masks
from cible.activation.automation_definition import AutomationError
from cible.domain.errors import CibleError
from cible.server.deps import Analyst, Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/automations", tags=["automations"])

AutomationId = Annotated[str, Path(min_length=1, max_length=64)]
Definition = Annotated[
    dict[str, Any],
    Body(
        description="An automation (docs/activation.md).",
        examples=[
            {
                "id": "pricing-visitors",
                "trigger": {
                    "event": {
                        "type": "page",
                        "where": [{"property": "url", "op": "contains", "value": "/tarifs"}],
                    }
                },
                "steps": [{"add_tag": "hot-lead"}],
            }
        ],
    ),
]


def _get(ws: Workspace, automation_id: str) -> dict[str, Any]:
    try:
        return ws.automations.get(automation_id)
    except AutomationError as exc:
        raise NotFoundError(str(exc)) from None


@router.get("")
async def list_automations(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every automation: id, name, status, version and trigger."""
    return await state.db.call(lambda ws: ws.automations.list())


@router.post("/validate")
async def validate(state: State, principal: Viewer, definition: Definition) -> dict[str, Any]:
    """Check a definition against the workspace without saving it."""
    checked = await state.db.call(lambda ws: ws.automations.validate(definition))
    return {"valid": True, "definition": checked.to_dict()}


@router.get("/{automation_id}")
async def get_automation(
    state: State, principal: Viewer, automation_id: AutomationId
) -> dict[str, Any]:
    """One automation: definition, status, version and runs by status."""
    return await state.db.call(lambda ws: _get(ws, automation_id))


@router.put("/{automation_id}", responses={201: {"description": "Created"}})
async def put_automation(
    state: State,
    principal: Editor,
    automation_id: AutomationId,
    definition: Definition,
    response: Response,
) -> dict[str, Any]:
    """Add or replace an automation; runs of a changed one stop (editors and admins)."""
    body = {**definition, "id": definition.get("id", automation_id)}
    if body["id"] != automation_id:
        raise CibleError(
            f"The definition's id {body['id']!r} differs from the URL's {automation_id!r}."
        )
    existed = await state.db.call(
        lambda ws: any(a["id"] == automation_id for a in ws.automations.list())
    )
    saved = await state.change(
        principal,
        "automation.save",
        f"automation:{automation_id}",
        lambda ws: ws.automations.add(body, actor=principal.actor),
        lambda saved: {"version": saved["version"]},
    )
    response.status_code = 200 if existed else 201
    return saved


@router.delete("/{automation_id}")
async def delete_automation(
    state: State, principal: Editor, automation_id: AutomationId
) -> dict[str, Any]:
    """Delete an automation; its runs stop, their log stays."""
    await state.db.call(lambda ws: _get(ws, automation_id))
    await state.change(
        principal,
        "automation.delete",
        f"automation:{automation_id}",
        lambda ws: ws.automations.remove(automation_id),
    )
    return {"id": automation_id, "deleted": True}


@router.post("/{automation_id}/pause")
async def pause(state: State, principal: Editor, automation_id: AutomationId) -> dict[str, Any]:
    """Start and move no run until resumed; waiting runs keep their place."""
    await state.db.call(lambda ws: _get(ws, automation_id))
    await state.change(
        principal,
        "automation.pause",
        f"automation:{automation_id}",
        lambda ws: ws.automations.pause(automation_id, actor=principal.actor),
    )
    return await state.db.call(lambda ws: _get(ws, automation_id))


@router.post("/{automation_id}/resume")
async def resume(state: State, principal: Editor, automation_id: AutomationId) -> dict[str, Any]:
    """Start and move runs again."""
    await state.db.call(lambda ws: _get(ws, automation_id))
    await state.change(
        principal,
        "automation.resume",
        f"automation:{automation_id}",
        lambda ws: ws.automations.resume(automation_id, actor=principal.actor),
    )
    state.changed()
    return await state.db.call(lambda ws: _get(ws, automation_id))


@router.get("/{automation_id}/runs")
async def runs(
    state: State,
    principal: Viewer,
    automation_id: AutomationId,
    customer_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The latest runs, of one customer when given."""

    def read(ws: Workspace) -> list[dict[str, Any]]:
        _get(ws, automation_id)
        found = ws.automations.runs(automation_id, customer_id=customer_id, limit=limit)
        return [run.__dict__ for run in found]

    return await state.db.call(read)


@router.get("/{automation_id}/log")
async def log(
    state: State,
    principal: Viewer,
    automation_id: AutomationId,
    customer_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Every step taken or skipped, oldest first."""

    def read(ws: Workspace) -> list[dict[str, Any]]:
        _get(ws, automation_id)
        rows = ws.automations.log(automation_id, customer_id=customer_id, limit=limit)
        return [row.__dict__ for row in rows]

    return await state.db.call(read)


@router.post("/{automation_id}/dry-run")
async def dry_run(
    state: State,
    principal: Analyst,
    automation_id: AutomationId,
    customer_id: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """Every step the automation would take for one customer now, writing nothing.

    The rendered messages, their ``to`` and the targets quote the customer's e-mail
    and phone: they are masked for a principal without the ``unmask`` grant.
    """

    def run(ws: Workspace) -> dict[str, Any]:
        _get(ws, automation_id)
        steps = ws.automations.dry_run(automation_id, customer_id)
        masks = customer_masks(ws.table("customers"), [customer_id], principal)
        targets = ((s["action"], s["target"]) for s in steps if s["step"] == "delivery")
        masks.update(target_masks(targets, principal))
        return {
            "automation": automation_id,
            "customer_id": customer_id,
            "steps": redact(steps, masks),
        }

    return await state.db.call(run)
