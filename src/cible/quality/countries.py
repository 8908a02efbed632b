"""Country codes from the ways files write countries: ISO codes, English and French names.

pycountry holds the ISO 3166 list with English names and, in its translations,
French ones; a short list adds the names files use that neither has (``Angleterre``,
``Hollande``, ``USA``). Names are compared without case, accents or punctuation.

Examples
--------
>>> country_code("Royaume Uni"), country_code("deu"), country_code("Narnia")
('GB', 'DE', None)
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache

import pycountry

# Names pycountry's English and French lists lack, as French and English files write them.
_COUNTRY_ALIASES = {
    "angleterre": "GB",
    "ecosse": "GB",
    "pays de galles": "GB",
    "irlande du nord": "GB",
    "grande bretagne": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "uk": "GB",
    "usa": "US",
    "u s a": "US",
    "u s": "US",
    "etats unis": "US",
    "america": "US",
    "hollande": "NL",
    "holland": "NL",
    "la reunion": "RE",
    "reunion": "RE",
    "ile de la reunion": "RE",
    "guyane": "GF",
    "coree du sud": "KR",
    "russie": "RU",
    "russia": "RU",
    "republique tcheque": "CZ",
    "tchequie": "CZ",
    "czech republic": "CZ",
    "vietnam": "VN",
    "iran": "IR",
    "syrie": "SY",
    "bolivie": "BO",
    "venezuela": "VE",
    "tanzanie": "TZ",
    "moldavie": "MD",
    "macedoine": "MK",
    "laos": "LA",
    "taiwan": "TW",
    "turkey": "TR",
}


def _fold(text: str) -> str:
    """Lower case, no accents, punctuation as single spaces: the lookup key of a name."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@lru_cache(maxsize=1)
def _country_keys() -> dict[str, str]:
    """Folded code or name (English and French) -> alpha-2 code."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    keys: dict[str, str] = dict(_COUNTRY_ALIASES)
    for country in pycountry.countries:
        code = str(country.alpha_2)
        names = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        for name in [n for n in names if n]:
            keys.setdefault(_fold(name), code)
            keys.setdefault(_fold(french.gettext(name)), code)
            # "Korea, Republic of" is also written "Republic of Korea".
            head, comma, tail = name.partition(", ")
            if comma:
                keys.setdefault(_fold(f"{tail} {head}"), code)
    # Codes win over names: "IN" is India, never the word.
    for country in pycountry.countries:
        keys[_fold(str(country.alpha_2))] = str(country.alpha_2)
        keys[_fold(str(country.alpha_3))] = str(country.alpha_2)
    return keys


def country_code(raw: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a code or name of a country; None when unknown."""
    key = _fold(raw)
    return _country_keys().get(key) if key else None
