"""Segment drafts in the web UI: the builder's state kept to finish later.

"Save as draft" in the builder (analysts and above) keeps its flat form fields
(:func:`cible.server.web.builder.draft_fields`) with ``ws.drafts``; ``/segments``
lists the drafts with "Continue" (``/segments/new?draft=ID``, the builder as it was
left) and "Delete"; publishing a draft deletes it. A draft is not a segment: no run
computes it. Each save and delete is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse

from cible.access.roles import Role
from cible.segments.drafts import Draft
from cible.server.deps import server_state
from cible.server.web.access import Visitor, requiring
from cible.server.web.builder import draft_fields
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: The builder's hidden field naming the draft being continued.
DRAFT_FIELD = "draft"
_LARGEST_ID = 2**62


def draft_id(form: Mapping[str, Any]) -> int | None:
    """The draft a builder form continues, or None (absent or not an id).

    Examples
    --------
    >>> draft_id({"draft": "3"}), draft_id({"draft": "x"}), draft_id({})
    (3, None, None)
    """
    text = str(form.get(DRAFT_FIELD) or "")
    return int(text) if text.isdigit() and 0 < int(text) <= _LARGEST_ID else None


def save_draft(ws: Workspace, form: Mapping[str, Any], who: Visitor) -> Draft:
    """Keep the builder's ``form`` as a draft (the one it continues, if any); audited."""
    fields = draft_fields(form)
    chosen = draft_id(form)

    def save() -> Draft:
        return ws.drafts.save(
            fields,
            author=who.principal.actor,
            segment_id=fields.get("id", "").strip(),
            name={"en": fields.get("name_en", "").strip(), "fr": fields.get("name_fr", "").strip()},
            dimension=fields.get("dimension", "").strip(),
            draft_id=chosen,
        )

    return ws.audit_log.change(
        who.principal.actor,
        "segment_draft.save",
        f"draft:{chosen or 'new'}",
        save,
        lambda draft: {"draft_id": draft.draft_id, "segment_id": draft.segment_id},
    )


def reopened(ws: Workspace, chosen: int) -> dict[str, str]:
    """The builder form draft ``chosen`` holds, naming the draft it continues."""
    return {**ws.drafts.get(chosen).form, DRAFT_FIELD: str(chosen)}


def forget_published(ws: Workspace, form: Mapping[str, Any], who: Visitor) -> None:
    """Delete the draft a just-published form continued: it is a segment now."""
    chosen = draft_id(form)
    if chosen is not None and ws.drafts.remove(chosen):
        ws.audit_log.record(
            who.principal.actor,
            "segment_draft.delete",
            f"draft:{chosen}",
            "ok",
            {"published": True},
        )


def drafts_for(ws: Workspace, who: Visitor) -> list[dict[str, Any]] | None:
    """The drafts, for those who may use the builder (analysts and above); else None."""
    return [draft.as_dict() for draft in ws.drafts.list()] if who.may(Role.ANALYST) else None


@router.post("/segments/drafts/{chosen}/delete")
async def delete_draft(
    request: Request,
    who: Annotated[Visitor, Depends(requiring(Role.ANALYST))],
    chosen: Annotated[int, Path(ge=1, le=_LARGEST_ID)],
) -> RedirectResponse:
    """Delete a draft (analysts and above), then back to the segment list."""

    def work(ws: Workspace) -> bool:
        removed = ws.drafts.remove(chosen)
        outcome = "ok" if removed else "failed"
        ws.audit_log.record(who.principal.actor, "segment_draft.delete", f"draft:{chosen}", outcome)
        return removed

    if not await server_state(request).db.call(work):
        raise HTTPException(404, detail=f"No draft {chosen}: it was published or deleted.")
    return RedirectResponse("/segments", status_code=303)
