"""Names for a group of customers, from the traits that set it apart.

A persona card, and a cluster when it is saved, get a name such as "Loyal bargain
hunters" / "Chasseurs de bonnes affaires fidèles": the strongest trait with a noun in
``builtin/persona_words.yaml`` gives the noun, the next one with a qualifier the
qualifier.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from cible.models.clustering import TraitContrast

#: Smallest test value |z| that sets a group apart (see :func:`contrast`).
MIN_Z = 2.0


@cache
def _words() -> dict[str, Any]:
    source = resources.files("cible.segments") / "builtin" / "persona_words.yaml"
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return data


def generated_name(found: list[TraitContrast], fallback: dict[str, str]) -> dict[str, str]:
    """ "<qualifier> <noun>" / "<Noun> <qualifier>" from the strongest differences.

    ``found`` are the traits that set the group apart (:func:`contrast`); the words
    come from ``builtin/persona_words.yaml``. Without a word for any of them, the
    name is ``fallback``.

    Examples
    --------
    >>> generated_name([], {"en": "Cluster 1", "fr": "Groupe 1"})
    {'en': 'Cluster 1', 'fr': 'Groupe 1'}
    """
    words = _words()
    apart = [(c.trait, "high" if c.difference > 0 else "low") for c in found if abs(c.z) >= MIN_Z]

    def entry(kind: str, key: tuple[str, str]) -> dict[str, str] | None:
        return next(
            (w for w in words[kind] if (w["trait"], w["direction"]) == key),
            None,
        )

    noun_key = next((key for key in apart if entry("nouns", key)), None)
    noun = entry("nouns", noun_key) if noun_key else None
    qualifier = next(
        (q for key in apart if key != noun_key and (q := entry("qualifiers", key))), None
    )
    if noun is None and qualifier is None:
        return dict(fallback)
    noun = noun or words["default_noun"]
    if qualifier is None:
        return {"en": _capital(noun["en"]), "fr": noun["fr"]}
    return {
        "en": _capital(f"{qualifier['en']} {noun['en']}"),
        "fr": f"{noun['fr']} {qualifier['fr']}",
    }


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]
