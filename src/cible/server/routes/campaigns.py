"""Campaigns: ``/api/campaigns`` — definitions, launch (assignment), pause, end, conflicts,
sending and what became of the sends.

Everyone may read; editors and admins add, launch, pause, end and send campaigns. Every
change is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response

from cible.domain.errors import CibleError
from cible.server.deps import Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

CampaignId = Annotated[str, Path(min_length=1, max_length=64)]
Definition = Annotated[
    dict[str, Any],
    Body(
        description="A campaign (docs/campaigns.md).",
        examples=[
            {
                "id": "spring-sale",
                "segments": ["rfm-champions"],
                "channel": "email",
                "variants": [
                    {
                        "id": "minus-20",
                        "share": 0.9,
                        "template": "spring",
                        "offer": {"kind": "discount", "value": 20},
                    }
                ],
                "holdout": 0.1,
                "priority": 5,
                "start": "2025-03-01",
                "end": "2025-03-31",
            }
        ],
    ),
]


def _get(ws: Workspace, campaign_id: str) -> dict[str, Any]:
    if campaign_id not in {c["id"] for c in ws.campaigns.list()}:
        raise NotFoundError(f"No campaign {campaign_id!r}.")
    return ws.campaigns.get(campaign_id)


@router.get("")
async def list_campaigns(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every campaign: id, name, status, version, channel, priority, dates and segments."""
    return await state.db.call(lambda ws: ws.campaigns.list())


@router.post("/validate")
async def validate(state: State, principal: Viewer, definition: Definition) -> dict[str, Any]:
    """Check a definition against the workspace without saving it."""
    checked = await state.db.call(lambda ws: ws.campaigns.validate(definition))
    return {"valid": True, "definition": checked.to_dict()}


@router.get("/conflicts")
async def conflicts(
    state: State,
    principal: Viewer,
    campaign_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[dict[str, Any]]:
    """Contradictory offers between campaigns that are live or about to launch."""

    def read(ws: Workspace) -> list[dict[str, Any]]:
        if campaign_id is not None:
            _get(ws, campaign_id)
        return [c.as_dict() for c in ws.campaigns.conflicts(campaign_id)]

    return await state.db.call(read)


@router.get("/{campaign_id}")
async def get_campaign(state: State, principal: Viewer, campaign_id: CampaignId) -> dict[str, Any]:
    """One campaign: definition, status, version and customers per arm."""
    return await state.db.call(lambda ws: _get(ws, campaign_id))


@router.put("/{campaign_id}", responses={201: {"description": "Created"}})
async def put_campaign(
    state: State,
    principal: Editor,
    campaign_id: CampaignId,
    definition: Definition,
    response: Response,
) -> dict[str, Any]:
    """Add or replace a campaign (a new one is a draft; editors and admins)."""
    body = {**definition, "id": definition.get("id", campaign_id)}
    if body["id"] != campaign_id:
        raise CibleError(
            f"The definition's id {body['id']!r} differs from the URL's {campaign_id!r}."
        )
    existed = await state.db.call(
        lambda ws: any(c["id"] == campaign_id for c in ws.campaigns.list())
    )
    saved = await state.change(
        principal,
        "campaign.save",
        f"campaign:{campaign_id}",
        lambda ws: ws.campaigns.add(body, actor=principal.actor),
        lambda saved: {"version": saved["version"]},
    )
    response.status_code = 200 if existed else 201
    return saved


@router.post("/{campaign_id}/launch")
async def launch(
    state: State,
    principal: Editor,
    campaign_id: CampaignId,
    resolve_by_priority: bool = False,
) -> dict[str, Any]:
    """Assign the targeted customers to arms and go live; contradictory offers refuse
    the launch unless ``resolve_by_priority``."""
    await state.db.call(lambda ws: _get(ws, campaign_id))
    return await state.change(
        principal,
        "campaign.launch",
        f"campaign:{campaign_id}",
        lambda ws: ws.campaigns.launch(
            campaign_id, resolve_by_priority=resolve_by_priority, actor=principal.actor
        ),
        lambda done: {"eligible": done["eligible"], "moved": done["moved"]},
    )


@router.post("/{campaign_id}/pause")
async def pause(state: State, principal: Editor, campaign_id: CampaignId) -> dict[str, Any]:
    """Pause a live campaign; its assignment stays."""
    await state.db.call(lambda ws: _get(ws, campaign_id))
    return await state.change(
        principal,
        "campaign.pause",
        f"campaign:{campaign_id}",
        lambda ws: ws.campaigns.pause(campaign_id, actor=principal.actor),
    )


@router.post("/{campaign_id}/end")
async def end(state: State, principal: Editor, campaign_id: CampaignId) -> dict[str, Any]:
    """End a campaign for good; its assignment stays for the analysis."""
    await state.db.call(lambda ws: _get(ws, campaign_id))
    return await state.change(
        principal,
        "campaign.end",
        f"campaign:{campaign_id}",
        lambda ws: ws.campaigns.end(campaign_id, actor=principal.actor),
    )


@router.get("/{campaign_id}/assignments")
async def assignments(
    state: State,
    principal: Viewer,
    campaign_id: CampaignId,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> dict[str, Any]:
    """Customers per arm, exclusions by reason, and one customer's arm when given."""

    def read(ws: Workspace) -> dict[str, Any]:
        _get(ws, campaign_id)
        return ws.campaigns.assignments(campaign_id, customer_id=customer_id)

    return await state.db.call(read)


@router.post("/{campaign_id}/send")
async def send(
    request: Request,
    state: State,
    principal: Editor,
    campaign_id: CampaignId,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Queue one delivery per eligible customer of each variant (never the holdout);
    customers already sent to are not sent again. ``dry_run`` counts, writes nothing."""
    await state.db.call(lambda ws: _get(ws, campaign_id))
    if dry_run:
        return await state.db.call(
            lambda ws: ws.campaigns.send(campaign_id, actor=principal.actor, dry_run=True)
        )
    done = await state.change(
        principal,
        "campaign.send",
        f"campaign:{campaign_id}",
        lambda ws: ws.campaigns.send(campaign_id, actor=principal.actor),
        lambda done: {"queued": done["queued"], "already_sent": done["already_sent"]},
    )
    request.app.state.delivery.wake()
    return done


@router.get("/{campaign_id}/sends")
async def sends(state: State, principal: Viewer, campaign_id: CampaignId) -> dict[str, Any]:
    """The campaign's deliveries per variant by status (pending, delivered, failed,
    skipped with reasons), and the holdout kept."""

    def read(ws: Workspace) -> dict[str, Any]:
        _get(ws, campaign_id)
        return ws.campaigns.sends(campaign_id)

    return await state.db.call(read)
