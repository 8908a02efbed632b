"""The web UI of ``cible serve``: pages for marketers, in French and English.

:func:`install` adds the pages (:mod:`cible.server.web.pages`), the static files
(``/static``: the stylesheet and the vendored scripts of
:mod:`cible.server.web.vendor`) and the web sessions to the app. See docs/web.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from cible.server.web.pages import NotSignedInError, router, sign_in_redirect
from cible.server.web.sessions import Sessions

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the web pages from ``app`` (after the API's routes)."""
    app.state.web_sessions = Sessions()

    async def to_sign_in(request: Request, error: Exception) -> Response:
        assert isinstance(error, NotSignedInError)
        return sign_in_redirect(request, error)

    app.add_exception_handler(NotSignedInError, to_sign_in)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
