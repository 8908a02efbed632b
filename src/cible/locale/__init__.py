"""Translations of what Cible prints for people, from one gettext catalog per language.

English is the source language: messages are written in English in the code, marked
with ``_()`` (the CLI) or :func:`N_` (tables of messages), and
``locale/<lang>/LC_MESSAGES/cible.po`` holds their translations. The catalog is
compiled in memory the first time a language is used (a few milliseconds), so a
fresh clone, an editable install and a wheel all work without a build step, and no
compiled ``.mo`` file can go stale beside its ``.po``.

To add a message: write it in English with ``_()``, then run ``make messages``
(``pybabel extract`` and ``update``) and translate the new entries in ``cible.po``;
``tests/test_locale.py`` fails while a message has no French translation.

Examples
--------
>>> gettext("fr", "Segments")
'Segments'
>>> gettext("fr", "customers")
'clients'
>>> gettext("en", "customers")
'customers'
>>> default_lang({"LANG": "fr_FR.UTF-8"}), default_lang({"LC_ALL": "C", "LANG": "fr_FR"})
('fr', 'en')
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

#: Languages Cible prints in; the first is the language of the code.
LANGUAGES = ("en", "fr")
#: Name of the gettext domain (``cible.po``).
DOMAIN = "cible"


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for a deferred mark)
    """``message`` unchanged: marks it for extraction where it is translated later.

    Examples
    --------
    >>> N_("Customer segments")
    'Customer segments'
    """
    return message


def default_lang(environ: Mapping[str, str] | None = None) -> str:
    """``fr`` when the locale of the environment is French, else ``en``.

    The first set of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` decides, as for any
    POSIX program.
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang``; English, the code's language, translates nothing."""
    if lang == LANGUAGES[0]:
        return _gettext.NullTranslations()
    source = resources.files(__name__) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # leaves fuzzy entries out, like msgfmt
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(lang: str, message: str) -> str:
    """``message`` (English) in ``lang``; itself when the catalog has no translation."""
    return translations(lang).gettext(message)
