"""How a trait value reads in English and in French, from the trait's unit.

Explanations (:mod:`cible.models.clustering.rules`, :mod:`cible.models.clustering.profile`)
show thresholds and averages to marketers: a share reads as a percentage, an amount
with thousands separators, a duration in days. Babel applies each language's
conventions (``12.5%`` and ``1,234.5`` in English, ``12,5 %`` and ``1 234,5`` in French).
Amounts carry no currency sign: traits sum amounts as stored, in the workspace's
currency, which this layer does not know.

Examples
--------
>>> from cible.features import get_trait
>>> format_value(get_trait("discount_share"), 0.125, "fr")
'12,5\\xa0%'
>>> format_value(get_trait("recency_days"), 30.0, "en")
'30 days'
"""

from __future__ import annotations

import math

from babel.numbers import format_decimal, format_percent

from cible.features import Trait

#: Languages every text a marketer reads is written in.
LANGUAGES = ("en", "fr")

_DAYS = {"en": ("day", "days"), "fr": ("jour", "jours")}


def format_value(trait: Trait, value: float, language: str) -> str:
    """``value`` of ``trait`` as a marketer reads it in ``language`` (``en`` or ``fr``).

    Parameters
    ----------
    trait : Trait
        Decides the form through its unit: ``share`` as a percentage, ``days`` with
        the word, anything else as a number with at most two decimals.
    value : float
        The value; NaN reads as a dash.
    language : {"en", "fr"}

    Examples
    --------
    >>> from cible.features import get_trait
    >>> format_value(get_trait("monetary_value"), 1234.567, "en")
    '1,234.57'
    >>> format_value(get_trait("frequency"), 1.0, "fr")
    '1'
    """
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {LANGUAGES}")
    if math.isnan(value):
        return "-"
    if trait.unit == "share":
        # The locale's own pattern ("12 %" in French), to a tenth of a point.
        return str(format_percent(round(value, 3), locale=language, decimal_quantization=False))
    number = str(format_decimal(value, "#,##0.##", locale=language))
    if trait.unit == "days":
        singular, plural = _DAYS[language]
        # French takes the singular below two ("1,5 jour"), English only for one.
        one = abs(value) < 2 if language == "fr" else abs(value) == 1
        return f"{number} {singular if one else plural}"
    return number
