"""Pages in the reader's language: the Jinja2 environment and the choice of language.

Templates live in ``templates/`` and extend ``base.html.j2``. Texts are written in
English inside ``{{ _("...") }}`` and translated through Cible's gettext catalog
(:mod:`cible.locale`; ``make messages`` extracts them), numbers and dates are written
the way of the language by Babel. Autoescaping is on for every template: a customer
named ``<script>`` is shown as text.

The language is, in order: ``?lang=`` on the URL (kept in a cookie), the cookie, the
browser's ``Accept-Language``, English.

Examples
--------
>>> choose_lang(None, None, "fr-CH, fr;q=0.9, en;q=0.8")
'fr'
>>> choose_lang("en", "fr", "fr"), choose_lang(None, "fr", None), choose_lang("xx", None, None)
('en', 'fr', 'en')
>>> environment("fr").filters["number"](1234.5)
'1\u202f234,5'
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cible.locale import LANGUAGES, translations

#: What a page shows for a missing value (an en dash).
MISSING = "\u2013"
#: The cookie remembering the language chosen in the header.
LANG_COOKIE = "cible_lang"
_LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def choose_lang(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page's language from the URL, the cookie, then ``Accept-Language``."""
    for chosen in (query, cookie):
        if chosen in LANGUAGES:
            return str(chosen)
    ranked = []
    for position, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, position, tag.strip().lower()[:2]))
    for _weight, _position, lang in sorted(ranked):
        if lang in LANGUAGES:
            return lang
    return LANGUAGES[0]


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment of the pages in ``lang`` (built once per language)."""
    env = Environment(
        loader=PackageLoader("cible.server.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    locale = _LOCALES[lang]
    env.filters["number"] = lambda value, digits=1: _number(value, locale, digits)
    env.filters["percent"] = lambda value: (
        MISSING if value is None else format_percent(value, "#,##0.0%", locale=locale)
    )
    env.filters["day"] = lambda value: (
        MISSING if value is None else format_date(_as_date(value), "medium", locale=locale)
    )
    # Moments are naive UTC throughout Cible: written as they are, the page says UTC.
    env.filters["moment"] = lambda value: (
        MISSING if value is None else format_datetime(value, "medium", locale=locale)
    )
    env.globals["lang"] = lang
    env.globals["languages"] = LANGUAGES
    return env


def render(lang: str, template: str, **context: Any) -> str:
    """The page ``template`` rendered in ``lang`` with ``context``."""
    return environment(lang).get_template(template).render(**context)


def _number(value: Any, locale: str, digits: int) -> str:
    if value is None:
        return MISSING
    pattern = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    return format_decimal(value, pattern, locale=locale)


def _as_date(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value
