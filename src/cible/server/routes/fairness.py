"""``GET /api/privacy/fairness?attribute=...``: the fairness report (admins only).

The report reads a protected attribute held for audit only, which no other route
serves, so only admins may ask for it, and each report is written to the audit log
with the token's name (docs/fairness.md). ``?dimension=`` keeps one dimension;
``?format=html`` returns the page in ``?lang=``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from cible.domain.json_values import dumps_json
from cible.locale import LANGUAGES
from cible.reporting.fairness import render_fairness_page
from cible.server.deps import Admin, State

router = APIRouter(prefix="/privacy", tags=["privacy"])


class Format(StrEnum):
    """How the report is served."""

    JSON = "json"
    HTML = "html"


@router.get("/fairness", response_model=None)
async def fairness_report(
    state: State,
    principal: Admin,
    attribute: Annotated[str, Query(min_length=1, max_length=200)],
    dimension: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    format: Format = Format.JSON,
    lang: Annotated[str, Query(pattern=f"^({'|'.join(LANGUAGES)})$")] = "en",
) -> Response:
    """Group shares, disparate impact and proxies of a protected attribute per segment."""
    report = await state.db.call(
        lambda ws: ws.fairness.report(attribute, dimension=dimension, actor=principal.actor)
    )
    # Strict JSON (dates as ISO 8601, a ratio that cannot be computed as null).
    body = dumps_json(report.as_dict())
    if format is Format.HTML:
        return HTMLResponse(render_fairness_page(json.loads(body), lang))
    return Response(body, media_type="application/json")
