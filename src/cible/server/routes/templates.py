"""Message templates: list, read, save, delete, preview (``/api/templates``).

Everyone may read a template; previews render customers' personal data, so they need
an analyst (who reads the previewed customers' e-mails and phones masked without the
``unmask`` grant, :mod:`cible.access.masking`); only editors and admins save or
delete one (it is what customers will receive). Every change, failed ones included,
is in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from cible.access.masking import customer_masks, redact
from cible.activation.templates import MAX_PREVIEW, TemplateNotFoundError
from cible.domain.errors import CibleError
from cible.server.deps import Analyst, Editor, State, Viewer
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/templates", tags=["templates"])

#: A template definition (docs/activation.md), as JSON.
Definition = Annotated[
    dict[str, Any],
    Body(
        description="A message template definition (docs/activation.md).",
        examples=[
            {
                "id": "pricing-guide",
                "name": {"en": "Pricing guide", "fr": "Guide des tarifs"},
                "subject": {"en": "Your guide, {{ customer.first_name | default('there') }}"},
                "html": {"en": "<p>Hello {{ customer.first_name }}</p>{{ block('offer') }}"},
                "blocks": {
                    "offer": [
                        {"segment": "hot-leads", "html": {"en": "<p>Book a demo</p>"}},
                        {"html": {"en": "<p>Read our blog</p>"}},
                    ]
                },
            }
        ],
    ),
]
TemplateId = Annotated[str, Path(min_length=1, max_length=200)]


class PreviewRequest(BaseModel):
    """Who a preview is rendered for: a customer, a segment's first members, or nobody."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    segment_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    lang: Annotated[Literal["en", "fr"] | None, Field(description="One language; none: both.")] = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PREVIEW)] = 5


def _found(work: Any) -> Any:
    """Run ``work``, answering 404 for an unknown template (and, through the
    handlers of :mod:`cible.server.errors`, for an unknown customer)."""
    try:
        return work()
    except TemplateNotFoundError as exc:
        raise NotFoundError(str(exc)) from None


@router.get("")
async def list_templates(state: State, principal: Viewer) -> list[dict[str, Any]]:
    """Every stored template with its names, languages, blocks and definition."""
    return await state.db.call(lambda ws: [t.as_dict() for t in ws.templates.list()])


@router.get("/{template_id}")
async def get_template(state: State, principal: Viewer, template_id: TemplateId) -> dict[str, Any]:
    """One template: names, languages, blocks, who saved it when, its definition."""
    return await state.db.call(lambda ws: _found(lambda: ws.templates.get(template_id).as_dict()))


@router.put("/{template_id}", responses={201: {"description": "Created"}})
async def put_template(
    state: State,
    principal: Editor,
    template_id: TemplateId,
    definition: Definition,
    response: Response,
) -> dict[str, Any]:
    """Add or replace a template (editors and admins)."""
    body = {**definition, "id": definition.get("id", template_id)}
    if body["id"] != template_id:
        await state.audit(principal, "template.save", f"template:{template_id}", "failed")
        raise CibleError(
            f"The definition's id {body['id']!r} differs from the URL's {template_id!r}."
        )
    saved, created = await state.change(
        principal,
        "template.save",
        f"template:{template_id}",
        lambda ws: ws.templates.add(body, actor=principal.actor),
        lambda result: {"created": result[1]},
    )
    response.status_code = 201 if created else 200
    return {"id": saved.id, "created": created, "definition": saved.to_dict()}


@router.delete("/{template_id}")
async def delete_template(
    state: State, principal: Editor, template_id: TemplateId
) -> dict[str, Any]:
    """Delete a template (editors and admins)."""

    def remove(ws: Workspace) -> bool:
        if not ws.templates.remove(template_id):
            raise NotFoundError(f"No template {template_id!r}.")
        return True

    await state.change(principal, "template.delete", f"template:{template_id}", remove)
    return {"id": template_id, "deleted": True}


@router.post("/{template_id}/preview")
async def preview(
    state: State,
    principal: Analyst,
    template_id: TemplateId,
    request: Annotated[PreviewRequest | None, Body()] = None,
) -> dict[str, Any]:
    """The template rendered for a customer, a segment's first members or nobody, in both
    languages (or ``lang``): subject, HTML and text, as they would be sent."""
    asked = request or PreviewRequest()

    def render(ws: Workspace) -> dict[str, Any]:
        found = _found(
            lambda: ws.templates.preview(
                template_id,
                customer_id=asked.customer_id,
                segment_id=asked.segment_id,
                lang=asked.lang,
                limit=asked.limit,
            )
        )
        # A message may quote the customer's address: masked below the grant.
        ids = [p["customer_id"] for p in found["previews"]]
        return redact(found, customer_masks(ws.table("customers"), ids, principal))

    return await state.db.call(render)
