"""Trait values as marketers read them, in English and French."""

from __future__ import annotations

import math

import pytest

from cible.features import get_trait
from cible.models.clustering.wording import format_value


@pytest.mark.parametrize(
    ("trait", "value", "english", "french"),
    [
        ("discount_share", 0.1, "10%", "10\xa0%"),
        ("discount_share", 0.0954, "9.5%", "9,5\xa0%"),
        ("monetary_value", 1234.5, "1,234.5", "1\u202f234,5"),
        ("recency_days", 1.0, "1 day", "1 jour"),
        ("recency_days", 1.5, "1.5 days", "1,5 jour"),
        ("recency_days", 90.0, "90 days", "90 jours"),
        ("frequency", 4.0, "4", "4"),
        ("frequency", math.nan, "-", "-"),
    ],
)
def test_values_by_unit(trait: str, value: float, english: str, french: str) -> None:
    assert format_value(get_trait(trait), value, "en") == english
    assert format_value(get_trait(trait), value, "fr") == french


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="language 'de'"):
        format_value(get_trait("frequency"), 1.0, "de")
