"""Fixes for contact fields: what changes, what is kept as given, what is flagged."""

from __future__ import annotations

import ibis

from cible.quality.contacts import ContactRules, contact_fixes


def _by_column(fixes) -> dict[str, list[dict[str, object]]]:
    return {fix.column: sorted(fix.frame.to_pylist(), key=str) for fix in fixes}


def test_fixes_change_values_and_keep_invalid_ones_as_given():
    people = ibis.memtable(
        {
            "email": [" Ana@B.FR", "ana@b.fr", "bad@@b.fr", None],
            "phone": ["06 12 34 56 78", "+33612345678", " 06 12 ", None],
            "country": ["France", "FR", "Narnia ", None],
            "first_name": ["ANA", "Ana", None, None],
            "city": ["PARIS", "Paris", None, None],
        }
    )
    fixes = _by_column(contact_fixes(people, ContactRules()))
    assert fixes["email"] == sorted(
        [
            {"_k0": " Ana@B.FR", "value": "ana@b.fr", "reason": None},
            {
                "_k0": "bad@@b.fr",
                "value": "bad@@b.fr",
                "reason": "email is not a valid address (loaded as given)",
            },
        ],
        key=str,
    )
    phones = {row["_k0"]: (row["value"], row["reason"]) for row in fixes["phone"]}
    assert phones["06 12 34 56 78"] == ("+33612345678", None)
    assert phones[" 06 12 "][0] == "06 12"
    assert "not a valid number (read as FR" in str(phones[" 06 12 "][1])
    assert "+33612345678" not in phones  # already normal: nothing to do
    countries = {row["_k0"]: (row["value"], row["reason"]) for row in fixes["country"]}
    assert countries == {
        "France": ("FR", None),
        "Narnia ": ("Narnia", "country is not an ISO 3166 country code or name (loaded as given)"),
    }
    assert fixes["first_name"] == [{"_k0": "ANA", "value": "Ana", "reason": None}]
    assert fixes["city"] == [{"_k0": "PARIS", "value": "Paris", "reason": None}]


def test_phone_region_comes_from_the_rules():
    people = ibis.memtable({"phone": ["02 512 34 56"]})  # Brussels; too short in France
    belgian = _by_column(contact_fixes(people, ContactRules(phone_region="BE")))
    assert belgian["phone"] == [{"_k0": "02 512 34 56", "value": "+3225123456", "reason": None}]
    french = _by_column(contact_fixes(people, ContactRules(phone_region="FR")))
    assert french["phone"][0]["reason"] is not None


def test_postal_codes_are_flagged_in_their_country_or_the_default_one():
    people = ibis.memtable(
        {
            "postal_code": ["7501", "7501", "1000", "75011", "ABC"],
            "country": ["FR", None, "BE", "FR", "Narnia"],
        }
    )
    fixes = _by_column(contact_fixes(people, ContactRules(default_country="FR")))
    assert [(r["_k0"], r["_k1"]) for r in fixes["postal_code"]] == [("7501", "FR"), ("7501", None)]
    assert all(r["value"] is None for r in fixes["postal_code"])  # flagged, never changed
    assert fixes["postal_code"][0]["reason"] == (
        "postal_code is not a valid postal code of FR (loaded as given)"
    )
    belgian = _by_column(contact_fixes(people, ContactRules(default_country="BE")))
    assert [(r["_k0"], r["_k1"]) for r in belgian["postal_code"]] == [("7501", "FR")]


def test_without_country_column_the_default_country_applies():
    people = ibis.memtable({"postal_code": ["1000", "75011"]})
    fixes = _by_column(contact_fixes(people, ContactRules(default_country="FR")))
    assert [r["_k0"] for r in fixes["postal_code"]] == ["1000"]
    assert contact_fixes(people, ContactRules(default_country=None)) == []


def test_clean_table_needs_no_fix():
    people = ibis.memtable(
        {"email": ["a@b.fr"], "phone": ["+33612345678"], "country": ["FR"], "city": ["Lyon"]}
    )
    assert contact_fixes(people, ContactRules()) == []
