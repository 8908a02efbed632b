"""Normalising contact fields: e-mails, phones, countries, postal codes, names.

Each function takes one raw value and returns its normalised form, or ``None`` when
there is nothing usable (empty, or not valid): the rules come from the libraries the
design names, ``email-validator`` for addresses (syntax only, no network),
``phonenumbers`` for E.164 numbers and ``pycountry`` for ISO 3166 codes. Results are
cached, and :func:`normalise_column` applies a function to each distinct value of a
column once, so that a million rows with a few hundred thousand distinct addresses
cost a few hundred thousand calls.

For speed, e-mails and phones first try a shortcut: a plain address is judged by
its domain, which email-validator checks once; a number in the default region's
usual written forms is checked against the patterns phonenumbers ships for that
region (:mod:`cible.quality.phone_patterns`). Anything the shortcut cannot settle
goes through the library itself, so the answer is always the library's
(``tests/quality/test_normalisation.py`` compares both on random input).

Examples
--------
>>> normalise_email("  Jean.Dupont@Gmail.COM ")
'jean.dupont@gmail.com'
>>> normalise_phone("06 12 34 56 78"), normalise_phone("0033 6 12 34 56 78")
('+33612345678', '+33612345678')
>>> normalise_country("Allemagne"), normalise_country("fra")
('DE', 'FR')
>>> check_postcode("75011", "FR"), check_postcode("7501", "FR")
(True, False)
>>> normalise_name("jean-PIERRE  d'arc")
"Jean-Pierre d'Arc"
>>> normalise_city("SAINT-GERMAIN-EN-LAYE")
'Saint-Germain-en-Laye'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from cible.quality.countries import country_code
from cible.quality.phone_patterns import decide_e164, plausible_regions

_CACHE = 1 << 16

# A subset of the addresses RFC 5321 allows (letters and digits, single dots, dashes,
# underscores or plus signs between them): enough for the plain addresses that make
# up nearly every file. Others are checked by email-validator in full.
_PLAIN_LOCAL = re.compile(r"[a-z0-9]+(?:[._+-][a-z0-9]+)*")
_MAX_LOCAL, _MAX_ADDRESS = 64, 254


@lru_cache(maxsize=_CACHE)
def normalise_email(raw: str | None) -> str | None:
    """Trim and lower-case an e-mail address; ``None`` when empty or not valid.

    Validity is email-validator's syntax check (``check_deliverability=False``: no
    DNS query), on the lower-cased address.

    Parameters
    ----------
    raw : str or None
        The address as typed.

    Returns
    -------
    str or None
        The trimmed, lower-cased address, or ``None``.

    Examples
    --------
    >>> normalise_email(" Marie.Curie@Orange.FR"), normalise_email("marie@@orange.fr")
    ('marie.curie@orange.fr', None)
    """
    if raw is None:
        return None
    text = raw.strip().lower()
    if not text:
        return None
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(local) <= _MAX_LOCAL
        and len(text) <= _MAX_ADDRESS
        and domain.isascii()
        and _PLAIN_LOCAL.fullmatch(local)
    ):
        # Local part and domain are checked independently by email-validator, and
        # this local part is one it always accepts: the domain decides.
        return text if _valid_domain(domain) else None
    return text if _valid_address(text) else None


@lru_cache(maxsize=_CACHE)
def _valid_domain(domain: str) -> bool:
    return _valid_address(f"a@{domain}")


def _valid_address(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@lru_cache(maxsize=_CACHE)
def normalise_phone(raw: str | None, region: str = "FR") -> str | None:
    """A phone number in E.164 form (``+33612345678``); ``None`` when not valid.

    Parameters
    ----------
    raw : str or None
        The number as typed, in national (``06 12 34 56 78``) or international
        (``+33 6...``, ``0033 6...``) form.
    region : str
        ISO 3166 alpha-2 region assumed for numbers written without a country code;
        for ``FR``, numbers of the French overseas departments are recognised too.

    Examples
    --------
    >>> normalise_phone("+32 470 12 34 56"), normalise_phone("06 12 AB 56 78")
    ('+32470123456', None)
    >>> normalise_phone("(415) 555-2671", region="US")
    '+14155552671'
    >>> normalise_phone("06 90 12 34 56")  # a Guadeloupe mobile, dialled from France
    '+590690123456'
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    settled, e164 = decide_e164(text, region)
    if e164 is not None:
        return e164
    overseas = plausible_regions(text, _SHARED_PLANS.get(region, ()))
    for candidate in overseas if settled else (region, *overseas):
        try:
            number = phonenumbers.parse(text, candidate)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return None


# The French numbering plan also covers the overseas departments and collectivities,
# which have country codes of their own: in a French file, 06 90 12 34 56 is a
# Guadeloupe mobile (+590 690 12 34 56), 02 62... a landline of La Réunion. One
# region per country code suffices: parsed in RE, a Mayotte number (+262 269...)
# is still valid, is_valid_number looks at every region of its country code.
_SHARED_PLANS = {"FR": ("GP", "MQ", "GF", "RE", "PM")}


@lru_cache(maxsize=_CACHE)
def normalise_country(raw: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of a country code or name; ``None`` when unknown.

    Reads alpha-2 and alpha-3 codes in any case, and country names in English or
    French, with or without accents (``Allemagne``, ``Etats-Unis``, ``Royaume Uni``).

    Examples
    --------
    >>> [normalise_country(x) for x in ["France", "FRA", "fr", "États-Unis", "Narnia"]]
    ['FR', 'FR', 'FR', 'US', None]
    """
    return None if raw is None else country_code(raw)


# Postal code layouts of the countries Cible meets most; compared upper-case, with
# surrounding spaces removed.
_POSTCODES = {
    "FR": r"(?!00)\d{5}",
    "MC": r"980\d{2}",
    "DE": r"(?!00)\d{5}",
    "IT": r"\d{5}",
    "ES": r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}",
    "US": r"\d{5}(?:-\d{4})?",
    "BE": r"[1-9]\d{3}",
    "CH": r"[1-9]\d{3}",
    "AT": r"[1-9]\d{3}",
    "LU": r"(?:L-)?\d{4}",
    "DK": r"(?:DK-)?\d{4}",
    "NO": r"\d{4}",
    "NL": r"[1-9]\d{3} ?[A-Z]{2}",
    "PT": r"\d{4}-\d{3}",
    "SE": r"\d{3} ?\d{2}",
    "PL": r"\d{2}-\d{3}",
    "IE": r"[A-Z]\d[\dW] ?[0-9A-Z]{4}",
    "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    # Outward code (area, district) then inward code (sector, unit); GIR 0AA is the
    # one historical exception.
    "GB": r"(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)",
}
_POSTCODE_PATTERNS = {country: re.compile(p) for country, p in _POSTCODES.items()}

#: Countries whose postal codes :func:`check_postcode` knows; others are accepted.
POSTCODE_COUNTRIES = frozenset(_POSTCODES)


def check_postcode(code: str | None, country: str | None) -> bool:
    """Whether ``code`` has the layout of a postal code of ``country``.

    Known layouts are those of :data:`POSTCODE_COUNTRIES` (FR and DE five digits,
    BE, CH, AT, DK and NO four, NL ``1234 AB``, GB, US ZIP codes, ES, IT, PT...).
    A code of another or an unknown country is accepted: nothing says it is wrong.
    An empty code is accepted too: missing values are a matter of completeness.

    Parameters
    ----------
    code : str or None
        The postal code as written.
    country : str or None
        ISO 3166 alpha-2 code (or a name :func:`normalise_country` reads).

    Examples
    --------
    >>> check_postcode("1012 AB", "NL"), check_postcode("SW1A 1AA", "GB")
    (True, True)
    >>> check_postcode("75 011", "FR"), check_postcode("ABC", "Brazil")
    (False, True)
    """
    text = (code or "").strip().upper()
    if not text or country is None:
        return True
    pattern = _POSTCODE_PATTERNS.get(normalise_country(country) or "")
    return pattern is None or pattern.fullmatch(text) is not None


# Particles written in lower case inside a name: Jean de la Fontaine, Ludwig van Beethoven.
_NAME_PARTICLES = frozenset(
    {"de", "du", "des", "le", "la", "les", "van", "von", "der", "den", "ter", "di", "da", "dos"}
)
# French communes add linking words: Saint-Germain-en-Laye, Boulogne-sur-Mer.
_CITY_PARTICLES = _NAME_PARTICLES | {"en", "sur", "sous", "lès", "lez", "aux", "au", "et"}
# Elided articles glued by an apostrophe: d'Arc, l'Isle-Adam.
_ELIDED = frozenset({"d", "l"})
_APOSTROPHES = "'\u2019"


@lru_cache(maxsize=_CACHE)
def normalise_name(raw: str | None) -> str | None:
    """A person's name in consistent case, accents kept; ``None`` when empty.

    Each word takes a capital then lower case (``DUPONT`` -> ``Dupont``), across
    hyphens and apostrophes (``jean-PIERRE`` -> ``Jean-Pierre``, ``o'neil`` ->
    ``O'Neil``); particles inside a name stay lower case (``de``, ``du``, ``le``,
    ``la``, ``van``, ``von``..., and the elided ``d'`` and ``l'``). A word typed in
    mixed case that starts with a capital (``McDonald``) is kept as typed. Runs of
    spaces become one; Unicode is composed (NFC) so that one accent has one form.

    Examples
    --------
    >>> normalise_name("  ÉLOÏSE "), normalise_name("LUDWIG VAN BEETHOVEN")
    ('Éloïse', 'Ludwig van Beethoven')
    >>> normalise_name("McDonald"), normalise_name("   ")
    ('McDonald', None)
    """
    return _title_case(raw, _NAME_PARTICLES)


@lru_cache(maxsize=_CACHE)
def normalise_city(raw: str | None) -> str | None:
    """A city name in consistent case, accents kept; ``None`` when empty.

    The rules of :func:`normalise_name`, with the linking words of French communes
    (``en``, ``sur``, ``sous``, ``lès``...) also kept lower case inside a name.

    Examples
    --------
    >>> normalise_city("boulogne-sur-mer"), normalise_city("LE MANS")
    ('Boulogne-sur-Mer', 'Le Mans')
    """
    return _title_case(raw, _CITY_PARTICLES)


def _title_case(raw: str | None, particles: frozenset[str]) -> str | None:
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw)
    text = re.sub(r"\s*-\s*", "-", " ".join(text.split()))
    if not text:
        return None
    words = []
    position = 0
    for word in text.split(" "):
        parts = []
        for part in word.split("-"):
            parts.append(_title_word(part, particles, first=position == 0))
            position += 1
        words.append("-".join(parts))
    return " ".join(words)


def _title_word(word: str, particles: frozenset[str], *, first: bool) -> str:
    pieces = re.split(f"([{_APOSTROPHES}])", word)
    out = []
    for index, piece in enumerate(pieces):
        if not piece or piece in _APOSTROPHES:
            out.append(piece)
            continue
        elided = index + 1 < len(pieces) and piece.lower() in _ELIDED
        inside = not (first and index == 0)
        if inside and (piece.lower() in particles or elided):
            out.append(piece.lower())
        elif piece[0].isupper() and not piece.isupper() and not piece[1:].islower():
            out.append(piece)  # deliberate mixed case: McDonald, DiCaprio
        else:
            out.append(_capitalised(piece))
    return "".join(out)


def _capitalised(piece: str) -> str:
    """Capital on the first letter, wherever it is: ``(jean)`` -> ``(Jean)``."""
    lowered = piece.lower()
    for index, char in enumerate(lowered):
        if char.isalpha():
            return lowered[:index] + char.upper() + lowered[index + 1 :]
    return lowered


def normalise_column(values: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """Apply ``fn`` to each distinct non-null value of ``values`` once.

    Parameters
    ----------
    values : pandas.Series
        Raw values; missing ones stay missing.
    fn : callable
        One of the ``normalise_*`` functions (or any ``str -> str | None``).

    Returns
    -------
    pandas.Series
        Same index, ``object`` dtype, ``None`` where ``fn`` gave ``None``.

    Examples
    --------
    >>> normalise_column(pd.Series(["A@B.FR", None, "a@b.fr", "x"]), normalise_email).tolist()
    ['a@b.fr', None, 'a@b.fr', None]
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([fn(str(u)) for u in uniques] + [None], dtype=object)
    # Code -1 (missing) picks the trailing None.
    return pd.Series(mapped[codes], index=values.index, dtype=object)
