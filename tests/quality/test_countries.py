"""Country codes from ISO codes and English or French names."""

from __future__ import annotations

import pytest

from cible.quality.countries import country_code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("France", "FR"),
        ("FRA", "FR"),
        ("fr", "FR"),
        (" FR ", "FR"),
        ("Allemagne", "DE"),
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("Royaume-Uni", "GB"),
        ("Royaume Uni", "GB"),
        ("Angleterre", "GB"),
        ("UK", "GB"),
        ("États-Unis", "US"),
        ("Etats Unis", "US"),
        ("USA", "US"),
        ("Belgique", "BE"),
        ("Suisse", "CH"),
        ("Pays-Bas", "NL"),
        ("Hollande", "NL"),
        ("Espagne", "ES"),
        ("Côte d'Ivoire", "CI"),
        ("Corée du Sud", "KR"),
        ("Korea, Republic of", "KR"),
        ("La Réunion", "RE"),
        ("Narnia", None),
        ("", None),
        ("--", None),
    ],
)
def test_country_code(raw: str, expected: str | None):
    assert country_code(raw) == expected
