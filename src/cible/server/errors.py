"""Errors as HTTP answers: ``{"detail": one sentence}``, never a traceback.

Cible's own errors (:class:`~cible.domain.errors.CibleError`) are the user's to fix:
400, or 404 when what was named does not exist, or 409 when the workspace is busy or
locked. Anything else is a bug: 500 with a sentence, the traceback in the log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cible.access.tokens import TokenNotFoundError
from cible.domain.errors import CibleError, UnknownCustomerError, WorkspaceError

logger = logging.getLogger(__name__)


class NotFoundError(CibleError):
    """What the request names does not exist (404)."""


def status_of(exc: CibleError) -> int:
    """The HTTP status a Cible error is answered with."""
    if isinstance(exc, NotFoundError | TokenNotFoundError | UnknownCustomerError):
        return 404
    if isinstance(exc, WorkspaceError):
        return 409
    return 400


def add_handlers(app: FastAPI) -> None:
    """Answer Cible's errors and unexpected ones with ``{"detail": sentence}``."""

    async def cible_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CibleError)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        detail = f"Internal error ({type(exc).__name__}); see the server's log."
        return JSONResponse({"detail": detail}, status_code=500)

    app.add_exception_handler(CibleError, cible_error)
    app.add_exception_handler(Exception, unexpected)
