r"""The language the CLI prints in: ``--lang``, else the environment's locale.

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
>>> _("{total:,} issue(s)").format(total=1234)
'1\u202f234 anomalie(s)'
>>> use_lang("en"), _("customers")
('en', 'customers')
"""

from __future__ import annotations

import string
from typing import Annotated, Any

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


def localised(figure: str) -> str:
    r"""A figure formatted the English way, written the way of the command's language.

    Examples
    --------
    >>> use_lang("fr"), localised("1,234.5"), localised("12.3%"), use_lang("en")
    ('fr', '1\u202f234,5', '12,3\xa0%', 'en')
    """
    if _state["current"] != "fr":
        return figure
    # French: a narrow no-break space between thousands, a comma before decimals,
    # a no-break space before the percent sign (as Babel's fr_FR locale writes them).
    return figure.translate(_FRENCH_FIGURES).replace("%", "\xa0%")


_FRENCH_FIGURES = str.maketrans({",": "\u202f", ".": ","})


class _Figures(string.Formatter):
    """Fills a message's fields, numbers written the way of the command's language."""

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return localised(text) if number else text


class _Message(str):
    """A translated message whose ``format`` writes numbers in the command's language."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:
        return _Figures().vformat(self, args, kwargs)


def _(message: str) -> str:
    """``message`` (English) in the command's language; ``.format`` localises numbers."""
    return _Message(gettext(current_lang(), message))
