"""Segment drafts in the web UI: the builder's state kept to finish later.

"Save as draft" in the builder (analysts and above) keeps its flat form fields
(:func:`cible.server.web.builder.draft_fields`) with ``ws.drafts``; ``/segments``
lists the drafts with "Continue" (``/segments/new?draft=ID``, the builder as it was
left) and "Delete"; publishing a draft deletes it. A draft is not a segment: no run
computes it. Each save and delete is written to the audit log.

Two people may have one draft open: the builder and the list's "Delete" carry the
moment the draft was saved when the page was opened (:data:`SAVED_AT_FIELD`), and a
draft saved again since is neither replaced nor deleted
(:class:`~cible.domain.errors.DraftChangedError`); publishing keeps it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse

from cible.access.roles import Role
from cible.domain.errors import DraftChangedError
from cible.segments.drafts import Draft
from cible.server.deps import server_state
from cible.server.web.access import Visitor, requiring
from cible.server.web.builder import draft_fields
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: The builder's hidden field naming the draft being continued.
DRAFT_FIELD = "draft"
#: The field carrying when that draft was saved, as the page read it (ISO 8601).
SAVED_AT_FIELD = "draft_saved_at"
_LARGEST_ID = 2**62
#: What a page says when a draft was saved again since it was opened.
CHANGED = "This draft was changed since you opened it: reload the page to see it."


def draft_id(form: Mapping[str, Any]) -> int | None:
    """The draft a builder form continues, or None (absent or not an id).

    Examples
    --------
    >>> draft_id({"draft": "3"}), draft_id({"draft": "x"}), draft_id({})
    (3, None, None)
    """
    text = str(form.get(DRAFT_FIELD) or "")
    return int(text) if text.isdigit() and 0 < int(text) <= _LARGEST_ID else None


def saved_at(form: Mapping[str, Any]) -> datetime | None:
    """When the draft a form continues was saved as the page read it, or None.

    Examples
    --------
    >>> saved_at({"draft_saved_at": "2026-01-02T03:04:05.000006"}), saved_at({})
    (datetime.datetime(2026, 1, 2, 3, 4, 5, 6), None)
    """
    try:
        return datetime.fromisoformat(str(form.get(SAVED_AT_FIELD) or ""))
    except ValueError:
        return None


def _opened_at(form: Mapping[str, Any], chosen: int) -> datetime:
    """:func:`saved_at`, required: a form without it cannot tell what it replaces."""
    found = saved_at(form)
    if found is None:  # a page from before versions were carried, or a forged form
        raise DraftChangedError(f"Draft {chosen}: reopen it, the page does not say its version.")
    return found


def continued(draft: Draft) -> dict[str, str]:
    """The builder's hidden fields that continue ``draft`` as saved now."""
    return {DRAFT_FIELD: str(draft.draft_id), SAVED_AT_FIELD: draft.saved_at.isoformat()}


def save_draft(ws: Workspace, form: Mapping[str, Any], who: Visitor) -> Draft:
    """Keep the builder's ``form`` as a draft (the one it continues, if any); audited.

    Raises
    ------
    DraftChangedError
        When the draft continued was saved since the page read it.
    """
    fields = draft_fields(form)
    chosen = draft_id(form)
    opened = None if chosen is None else _opened_at(form, chosen)

    def save() -> Draft:
        return ws.drafts.save(
            fields,
            author=who.principal.actor,
            segment_id=fields.get("id", "").strip(),
            name={"en": fields.get("name_en", "").strip(), "fr": fields.get("name_fr", "").strip()},
            dimension=fields.get("dimension", "").strip(),
            draft_id=chosen,
            saved_at=opened,
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
    draft = ws.drafts.get(chosen)
    return {**draft.form, **continued(draft)}


def forget_published(ws: Workspace, form: Mapping[str, Any], who: Visitor) -> None:
    """Delete the draft a just-published form continued: it is a segment now; unless
    it was saved again since the page read it (someone's newer work stays)."""
    chosen = draft_id(form)
    if chosen is None:
        return
    try:
        removed = ws.drafts.remove(chosen, saved_at=_opened_at(form, chosen))
    except DraftChangedError:
        removed = False
    if removed:
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
    """Delete a draft (analysts and above), then back to the segment list; refused (409)
    when it was saved again since the list was shown."""
    form = await request.form()

    def work(ws: Workspace) -> bool:
        actor, target = who.principal.actor, f"draft:{chosen}"
        try:
            removed = ws.drafts.remove(chosen, saved_at=_opened_at(form, chosen))
        except DraftChangedError as refusal:
            detail = {"error": str(refusal)}
            ws.audit_log.record(actor, "segment_draft.delete", target, "failed", detail)
            raise
        outcome = "ok" if removed else "failed"
        ws.audit_log.record(actor, "segment_draft.delete", target, outcome)
        return removed

    try:
        removed = await server_state(request).db.call(work)
    except DraftChangedError:
        raise HTTPException(409, detail=CHANGED) from None
    if not removed:
        raise HTTPException(404, detail=f"No draft {chosen}: it was published or deleted.")
    return RedirectResponse("/segments", status_code=303)
