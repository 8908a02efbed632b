"""What the editors' forms share: a refused form's status, the redirect after a change,
and an error as one sentence for the page."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError


def sentence(error: Exception) -> str:
    """A Cible error's sentence, or a validation error's first problem with its place."""
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error)


def refused(response: HTMLResponse) -> HTMLResponse:
    """The page shown again with its message, answered 400 (nothing was changed)."""
    response.status_code = 400
    return response


def see_other(target: str) -> RedirectResponse:
    """After a change, the page that shows it (a reload does not post again)."""
    return RedirectResponse(target, status_code=303)
