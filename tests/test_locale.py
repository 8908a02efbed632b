"""The French catalog: every message the code prints for people has a translation."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from cible.locale import default_lang, gettext, translations
from cible.segments.runner import ALL_TRAITS

ROOT = Path(__file__).resolve().parents[1]
# Where code and templates mark messages with _() or N_(); the Makefile's `messages`
# target reads the same, with the same babel.cfg.
SOURCES = (
    "src/cible/cli",
    "src/cible/locale",
    "src/cible/activation/experiments.py",
    "src/cible/server/web",
)
PO = ROOT / "src/cible/locale/fr/LC_MESSAGES/cible.po"


def extracted() -> dict[str, str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = {}
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():  # one module: its own messages only
            with path.open("rb") as module:
                for line, message, _comments, _context in extract("python", module, keywords):
                    found.setdefault(_singular(message), f"{source}:{line}")
            continue
        for filename, line, message, _comments, _context in extract_from_dir(
            path, method_map=method_map, options_map=options_map, keywords=keywords
        ):
            found.setdefault(_singular(message), f"{source}/{filename}:{line}")
    return found


def _singular(message: str | tuple[str, ...]) -> str:
    """The catalog's key of a message (the singular of a plural one)."""
    return message if isinstance(message, str) else message[0]


def catalog():
    with PO.open("rb") as po:
        return read_po(po, locale="fr")


def test_every_message_in_the_code_has_a_french_translation():
    messages = extracted()
    assert len(messages) > 200
    french = {m.id: m for m in catalog() if m.id}
    missing = [f"{where}: {m!r}" for m, where in messages.items() if m not in french]
    untranslated = [
        f"{where}: {m!r}"
        for m, where in messages.items()
        if m in french and (not french[m].string or french[m].fuzzy)
    ]
    assert not missing, "run `make messages`, then translate:\n" + "\n".join(missing)
    assert not untranslated, "translate in cible.po:\n" + "\n".join(untranslated)


def test_translations_keep_the_placeholders():
    fields = re.compile(r"\{[^{}]*\}")
    wrong = [
        m.id
        for m in catalog()
        if m.id and sorted(fields.findall(m.id)) != sorted(fields.findall(str(m.string)))
    ]
    assert not wrong


def test_the_catalog_ships_with_the_package_and_loads():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "locale/*/LC_MESSAGES/*.po" in settings["tool"]["setuptools"]["package-data"]["cible"]
    packaged = resources.files("cible.locale") / "fr" / "LC_MESSAGES" / "cible.po"
    assert packaged.is_file()
    assert gettext("fr", "Customer segments") == "Segments clients"
    assert translations("en").gettext("Customer segments") == "Customer segments"


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_BE"}, "fr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_CA.UTF-8", "LANG": "en_GB"}, "fr"),
        ({"LC_ALL": "C", "LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_ALL": "", "LANG": "fr_FR.UTF-8"}, "fr"),
    ],
)
def test_default_language_from_the_locale(environ: dict[str, str], lang: str):
    assert default_lang(environ) == lang


def test_every_trait_has_a_label_a_reader_understands():
    for trait in ALL_TRAITS:
        for label in (trait.label, trait.label_fr):
            assert label and label != trait.name, trait.name
            assert "[" not in label and "_" not in label, (trait.name, label)
    # Labels tell traits apart in both languages.
    assert len({t.label for t in ALL_TRAITS}) == len(ALL_TRAITS)
    assert len({t.label_fr for t in ALL_TRAITS}) == len(ALL_TRAITS)
