"""The language the CLI prints in: ``--lang``, else the environment's locale.

Every command that prints for people takes ``--lang en|fr``; ``cible --lang fr ...``
sets it for the whole command line, and without either the locale decides
(:func:`cible.locale.default_lang`). Messages are written in English inside ``_()``
and translated through the catalog of :mod:`cible.locale`.

Examples
--------
>>> use_lang("fr")
'fr'
>>> _("customers")
'clients'
>>> use_lang("en"), _("customers")
('en', 'customers')
"""

from __future__ import annotations

from typing import Annotated

import typer

from cible.domain.errors import CibleError
from cible.locale import LANGUAGES, default_lang, gettext

LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of what is printed: en or fr (default: from LC_ALL, LC_MESSAGES or LANG).",
        show_default=False,
    ),
]

# One command runs per process, or per CliRunner call: the entry group resets these.
_state: dict[str, str | None] = {"chosen": None, "current": None}


def checked_lang(lang: str) -> str:
    """``lang`` when Cible speaks it; otherwise a :class:`CibleError` naming the choices."""
    if lang not in LANGUAGES:
        raise CibleError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang


def reset(lang: str | None = None) -> None:
    """Forget the language of the previous command; ``lang`` is the line's ``--lang``."""
    _state["chosen"] = checked_lang(lang) if lang is not None else None
    _state["current"] = None


def use_lang(lang: str | None) -> str:
    """The language of this command: ``lang``, else ``cible --lang``, else the locale."""
    chosen = lang if lang is not None else _state["chosen"]
    current = checked_lang(chosen) if chosen is not None else default_lang()
    _state["current"] = current
    return current


def current_lang() -> str:
    """The language chosen by :func:`use_lang`, or the default one when none was."""
    return _state["current"] or _state["chosen"] or default_lang()


def _(message: str) -> str:
    """``message`` (English) in the command's language."""
    return gettext(current_lang(), message)
