"""The web UI of ``cible serve``: pages for marketers, in French and English.

:func:`install` adds the pages, the static files (``/static``: the stylesheet and the
vendored scripts of :mod:`cible.server.web.vendor`) and the web sessions to the app.
Each area of the UI is one module with its router, listed in :data:`AREAS`. See
docs/web.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from cible.server.web import (
    admin_pages,
    automation_pages,
    builder_pages,
    customer_pages,
    data_jobs,
    data_pages,
    draft_pages,
    duplicate_pages,
    overview,
    persona_pages,
    segment_pages,
    sign_in,
    tag_pages,
    upload_pages,
)
from cible.server.web.access import NotSignedInError, sign_in_redirect
from cible.server.web.sessions import Sessions

STATIC = Path(__file__).parent / "static"

#: The UI's areas, in the order their routes match (``/segments/new`` before
#: ``/segments/{id}``).
AREAS = (
    sign_in,
    overview,
    builder_pages,
    draft_pages,
    segment_pages,
    customer_pages,
    data_pages,
    data_jobs,
    upload_pages,
    duplicate_pages,
    persona_pages,
    tag_pages,
    automation_pages,
    admin_pages,
)


def install(app: FastAPI) -> None:
    """Serve the web pages from ``app`` (after the API's routes)."""
    app.state.web_sessions = Sessions()

    async def to_sign_in(request: Request, error: Exception) -> Response:
        assert isinstance(error, NotSignedInError)
        return sign_in_redirect(request, error)

    app.add_exception_handler(NotSignedInError, to_sign_in)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for area in AREAS:
        app.include_router(area.router)
