"""Options shared by every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cible.domain.errors import CibleError

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

#: Languages of names, descriptions and reports.
LANGUAGES = ("en", "fr")


def checked_lang(lang: str) -> str:
    """``lang`` when Cible speaks it; otherwise a :class:`CibleError` naming the choices."""
    if lang not in LANGUAGES:
        raise CibleError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang
