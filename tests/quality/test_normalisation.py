"""Normalisation of contact fields, against the libraries it relies on."""

from __future__ import annotations

import email_validator
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cible.quality.normalisation import (
    check_postcode,
    normalise_city,
    normalise_column,
    normalise_country,
    normalise_email,
    normalise_name,
    normalise_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jean.Dupont@Gmail.COM ", "jean.dupont@gmail.com"),
        ("MARIE@ORANGE.FR", "marie@orange.fr"),
        ("a.b+promo@sub.example.org", "a.b+promo@sub.example.org"),
        ("élodie@exemple.fr", "élodie@exemple.fr"),  # internationalised local part
        ("jean.dupont@gmail", None),  # no dot in the domain
        ("jean@@gmail.com", None),
        ("jean.gmail.com", None),
        ("jean@gmail..com", None),
        ("jean dupont@gmail.com", None),
        (".jean@gmail.com", None),
        ("jean.@gmail.com", None),
        ("jean@localhost", None),
        ("x" * 250 + "@gmail.com", None),  # over 254 characters
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalise_email(raw: str | None, expected: str | None):
    assert normalise_email(raw) == expected


def _email_reference(raw: str) -> str | None:
    text = raw.strip().lower()
    if not text:
        return None
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return text


EMAIL_PARTS = st.text(alphabet="ab1._-+@é A'\"", max_size=12)


@settings(max_examples=400, deadline=None)
@given(local=EMAIL_PARTS, domain=st.sampled_from(["gmail.com", "orange.fr", "x", "a..b", "é.fr"]))
def test_email_shortcut_agrees_with_email_validator(local: str, domain: str):
    raw = f"{local}@{domain}"
    assert normalise_email(raw) == _email_reference(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("06-12-34-56-78", "FR", "+33612345678"),
        ("0612345678", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("+33612345678", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("0033612345678", "FR", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "FR", "+33612345678"),
        ("(06) 12 34 56 78", "FR", "+33612345678"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("06 90 12 34 56", "FR", "+590690123456"),  # Guadeloupe mobile, French plan
        ("02 62 12 34 56", "FR", "+262262123456"),  # La Réunion landline
        ("+32 470 12 34 56", "FR", "+32470123456"),
        ("0470 12 34 56", "BE", "+32470123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("06 12 AB 56 78", "FR", None),  # letters typed in
        ("06 12 34 56", "FR", None),  # cut short
        ("06 12 34 56 789", "FR", None),  # one digit too many
        ("07 21 26 78 75", "FR", None),  # unassigned range
        ("+33 6 90 12 34 56", "FR", None),  # Guadeloupe numbers have +590
        ("", "FR", None),
        (None, "FR", None),
    ],
)
def test_normalise_phone(raw: str | None, region: str, expected: str | None):
    assert normalise_phone(raw, region) == expected


def test_normalise_country_reads_codes_and_names():
    assert [normalise_country(x) for x in ("Allemagne", "fra", "Narnia", "", None)] == [
        "DE",
        "FR",
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        ("75011", "FR", True),
        ("7501", "FR", False),
        ("750011", "FR", False),
        ("75 011", "FR", False),
        ("00100", "FR", False),
        ("20000", "France", True),
        ("10115", "DE", True),
        ("1000", "BE", True),
        ("0999", "BE", False),
        ("8001", "CH", True),
        ("1010", "AT", True),
        ("2100", "DK", True),
        ("0150", "NO", True),
        ("1012 AB", "NL", True),
        ("1012AB", "NL", True),
        ("1012", "NL", False),
        ("SW1A 1AA", "GB", True),
        ("m1 1ae", "GB", True),
        ("12345", "GB", False),
        ("90210", "US", True),
        ("90210-1234", "US", True),
        ("9021", "US", False),
        ("28013", "ES", True),
        ("60000", "ES", False),
        ("00184", "IT", True),
        ("1000-001", "PT", True),
        ("1000", "PT", False),
        ("ABC-123", "BR", True),  # unknown layout: accepted
        ("ABC", "Narnia", True),
        ("75011", None, True),
        ("", "FR", True),  # empty: a matter of completeness
        (None, "FR", True),
    ],
)
def test_check_postcode(code: str | None, country: str | None, expected: bool):
    assert check_postcode(code, country) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jean-PIERRE  d'arc", "Jean-Pierre d'Arc"),
        ("DUPONT", "Dupont"),
        ("  éloïse ", "Éloïse"),
        ("ÉLOÏSE", "Éloïse"),
        ("jean de la fontaine", "Jean de la Fontaine"),
        ("LUDWIG VAN BEETHOVEN", "Ludwig van Beethoven"),
        ("Anne-Sophie  Du  Pont", "Anne-Sophie du Pont"),
        ("o'neil", "O'Neil"),
        ("d'artagnan", "D'Artagnan"),
        ("Œdipe ’Noël’", "Œdipe ’Noël’"),
        ("McDonald", "McDonald"),
        ("jean - pierre", "Jean-Pierre"),
        ("Le Goff", "Le Goff"),
        ("e\u0301lodie", "Élodie"),  # decomposed accent composed (NFC)
        ("   ", None),
        (None, None),
    ],
)
def test_normalise_name(raw: str | None, expected: str | None):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SAINT-ÉTIENNE", "Saint-Étienne"),
        ("aix-en-provence", "Aix-en-Provence"),
        ("la roche-sur-yon", "La Roche-sur-Yon"),
        ("BOULOGNE-SUR-MER", "Boulogne-sur-Mer"),
        ("l'isle-adam", "L'Isle-Adam"),
        ("LE MANS", "Le Mans"),
        ("Besançon", "Besançon"),
    ],
)
def test_normalise_city(raw: str, expected: str):
    assert normalise_city(raw) == expected


def test_normalise_column_calls_once_per_distinct_value_and_keeps_missing():
    calls: list[str] = []

    def upper(value: str) -> str | None:
        calls.append(value)
        return None if value == "drop" else value.upper()

    values = pd.Series(["a", None, "b", "a", "drop", "b"], index=[10, 11, 12, 13, 14, 15])
    result = normalise_column(values, upper)
    assert sorted(calls) == ["a", "b", "drop"]
    assert result.tolist() == ["A", None, "B", "A", None, "B"]
    assert result.index.tolist() == values.index.tolist()


def test_normalise_column_of_a_string_dtype_series():
    values = pd.Series(["06 12 34 56 78", pd.NA, "0612345678"], dtype="string")
    assert normalise_column(values, normalise_phone).tolist() == [
        "+33612345678",
        None,
        "+33612345678",
    ]


def test_results_are_cached():
    normalise_email("cache.check@orange.fr")
    before = normalise_email.cache_info().hits
    normalise_email("cache.check@orange.fr")
    assert normalise_email.cache_info().hits == before + 1
