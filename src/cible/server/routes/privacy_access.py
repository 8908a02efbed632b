"""``/api/privacy/...``: a person's data and consents, the record of processing, retention.

- ``GET /api/privacy/customers/{id}`` (admin): everything held about the customer
  (GDPR art. 15 and 20) as JSON, or with ``?format=html`` as a page in ``?lang=``;
  each export is in the audit log.
- ``GET /api/privacy/consents/{id}`` (analyst): the consent ledger with sources and dates;
  the e-mails and phones quoted in a record's free-text ``source`` and ``proof`` are
  masked for a principal without the ``unmask`` grant (:mod:`cible.access.masking`).
- ``GET /api/privacy/record`` (admin): the record of processing (art. 30).
- ``GET /api/privacy/retention`` (admin): customers past the ``[privacy]`` periods, paged;
  ``POST /api/privacy/retention/pseudonymise`` (admin) clears their contact fields;
  ``POST /api/privacy/retention/delete`` (admin) erases them from every table, as a
  job (202; follow ``GET /api/jobs/{id}``, whose result has the counts).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from cible.access.masking import customer_masks, mask_contacts, mask_free_text, redact
from cible.activation.retention import MAX_LIMIT, RETENTION_REASON
from cible.domain.json_values import dumps_json
from cible.domain.progress import Progress
from cible.locale import LANGUAGES
from cible.reporting.privacy_access import render_access_page
from cible.server.deps import Admin, Analyst, State
from cible.server.routes.jobs import accepted, start_job
from cible.workspace import Workspace

router = APIRouter(prefix="/privacy", tags=["privacy"])

CustomerId = Annotated[str, Path(min_length=1, max_length=200)]

#: The consent records' fields of free text, where contacts are masked.
FREE_TEXT = frozenset({"source", "proof"})


class Format(StrEnum):
    """How the customer's data is served."""

    JSON = "json"
    HTML = "html"


Lang = Annotated[str, Query(pattern=f"^({'|'.join(LANGUAGES)})$")]


def _json(payload: Any) -> Response:
    # Strict JSON: dates as ISO 8601, a non-finite trait as null.
    return Response(dumps_json(payload), media_type="application/json")


@router.get("/customers/{customer_id}", response_model=None)
async def export_customer(
    state: State,
    principal: Admin,
    customer_id: CustomerId,
    format: Format = Format.JSON,
    lang: Lang = "en",
) -> Response:
    """Everything held about one customer, as JSON or an HTML page."""
    found = await state.db.call(
        lambda ws: ws.privacy_access.export(customer_id, actor=principal.actor)
    )
    # Admins only today, so in clear; masked like every answer should the role change.
    found = mask_contacts(found, principal)
    if format is Format.HTML:
        return HTMLResponse(render_access_page(found, lang))
    return _json(found)


@router.get("/consents/{customer_id}", response_model=None)
async def customer_consents(state: State, principal: Analyst, customer_id: CustomerId) -> Response:
    """A customer's consent ledger with sources and dates, and the current state."""

    def read(ws: Workspace) -> dict[str, Any]:
        found = ws.privacy_access.consents(customer_id)
        # Proofs and sources are typed by people: they may quote the customer's
        # contacts, now or former ones, or anyone else's.
        masks = customer_masks(ws.table("customers"), [customer_id], principal)
        region = ws.config.quality.phone_region
        return mask_free_text(redact(found, masks), FREE_TEXT, principal, region)

    return _json(await state.db.call(read))


@router.get("/record", response_model=None)
async def processing_record(state: State, principal: Admin) -> Response:
    """The record of processing activities, generated from the workspace."""
    return _json(await state.db.call(lambda ws: ws.privacy_access.record()))


@router.get("/retention", response_model=None)
async def retention(
    state: State,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Customers past the retention periods: counts and one page of ids."""
    return _json(
        await state.db.call(lambda ws: ws.privacy_access.retention(limit=limit, offset=offset))
    )


@router.post("/retention/pseudonymise", response_model=None)
async def pseudonymise(state: State, principal: Admin) -> Response:
    """Clear the contact and name fields of every customer past retention (audited)."""
    return _json(
        await state.db.call(
            lambda ws: ws.privacy_access.pseudonymise_past_retention(actor=principal.actor)
        )
    )


@router.post("/retention/delete", status_code=202)
async def delete_past_retention(
    state: State, principal: Admin, response: Response
) -> dict[str, Any]:
    """Erase every customer past retention, each with its tombstone and audit entry,
    as a job: follow its progress at the URL returned; its result has the counts."""

    def erase(ws: Workspace, progress: Progress) -> dict[str, Any]:
        progress("finding customers past retention", 0, 1)
        due = ws.privacy_access.past_retention_ids()
        return dict(
            ws.privacy.erase_many(
                due, actor=principal.actor, reason=RETENTION_REASON, progress=progress
            )
        )

    job = start_job(state, principal, response, "retention", erase)
    return await accepted(state, principal, job, {"erase": "past retention"})
