"""Options shared by every command."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cible.cli.i18n import LangOption, checked_lang
from cible.domain.errors import CibleError
from cible.locale import LANGUAGES

__all__ = [
    "LANGUAGES",
    "JsonOption",
    "LangOption",
    "WorkspaceOption",
    "checked_lang",
    "parse_moment",
]

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="CIBLE_WORKSPACE",
        help="Workspace folder (default: $CIBLE_WORKSPACE, else the current folder).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


#: Years a moment given on the command line may fall in. Wide enough for any real
#: history, narrow enough that windows counted back or forward from it (a year of
#: orders, a churn horizon) stay inside the calendar Python and DuckDB can hold.
MOMENT_YEARS = (1900, 2999)


def parse_moment(option: str, value: str | None, example: str = "2025-01-31") -> datetime | None:
    """``value`` read as an ISO 8601 date or time (an offset is allowed), or None.

    Raises
    ------
    CibleError
        When ``value`` is not ISO 8601 or falls outside :data:`MOMENT_YEARS`.
    """
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CibleError(
            f"{option} {value!r}: give a date like {example} or {example}T12:00."
        ) from None
    low, high = MOMENT_YEARS
    if not low <= moment.year <= high:
        raise CibleError(f"{option} {value!r}: give a date between the years {low} and {high}.")
    return moment
