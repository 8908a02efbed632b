"""Trait choice: what a clustering reads, and the reason for everything it leaves out."""

from __future__ import annotations

import pytest

from cible.domain.schema import CUSTOMERS, Category, Field, FieldType, Sensitivity
from cible.features import TRAITS, Trait
from cible.models.clustering import choose_features
from cible.models.errors import ModelDataError

RELIGION = Field("religion", FieldType.STRING, Category.DEMOGRAPHIC, Sensitivity.SPECIAL)
AGE = Field("age", FieldType.NUMBER, Category.DEMOGRAPHIC, Sensitivity.PERSONAL)
FIELDS = (*CUSTOMERS.fields, RELIGION, AGE)
EXTRA = (
    Trait("religion", "string", "", Category.DEMOGRAPHIC, "Religion.", "Religion."),
    Trait("age", "float64", "", Category.DEMOGRAPHIC, "Age.", "Âge."),
    Trait("postal_code", "string", "", Category.GEOGRAPHIC, "Postal code.", "Code postal."),
    Trait("rfm_r", "int64", "", Category.VALUE, "Recency score.", "Score de récence."),
    Trait("external_id", "string", "", Category.IDENTIFIER, "Id.", "Id."),
)
ALL = (*TRAITS, *EXTRA)
COLUMNS = [t.name for t in ALL]


def _codes(choice) -> dict[str, str]:
    return {e.trait: e.code for e in choice.excluded}


def test_default_choice_reads_observed_traits_and_says_why_others_are_left_out() -> None:
    choice = choose_features(ALL, columns=COLUMNS, fields=FIELDS)
    used = {t.name for t in (*choice.numeric, *choice.categorical)}
    codes = _codes(choice)
    assert codes["first_order_at"] == "date"
    assert codes["religion"] == "special"
    assert codes["age"] == "personal"
    assert codes["postal_code"] == "personal"
    assert codes["rfm_r"] == "derived"
    assert codes["external_id"] == "identifier"
    assert used.isdisjoint(codes)
    assert used | set(codes) == set(COLUMNS)
    assert {"frequency", "discount_share", "top_channel"} <= used
    assert [t.name for t in choice.categorical] == ["top_channel", "top_category"]
    reason = next(e.reason for e in choice.excluded if e.trait == "religion")
    assert set(reason) == {"en", "fr"} and "legal basis" in reason["en"]


def test_include_exclude_and_absent_columns() -> None:
    choice = choose_features(
        ALL,
        columns=["frequency", "rfm_r", "age"],
        fields=FIELDS,
        include=["frequency", "rfm_r", "age", "recency_days"],
    )
    assert [t.name for t in choice.numeric] == ["frequency", "age", "rfm_r"]
    codes = _codes(choice)
    assert codes["recency_days"] == "absent"
    assert codes["monetary_value"] == "excluded"
    dropped = choose_features(TRAITS, columns=COLUMNS, exclude=["frequency"])
    assert _codes(dropped)["frequency"] == "excluded"


def test_special_fields_are_refused_even_when_named() -> None:
    with pytest.raises(ModelDataError, match="'religion' is a special-category field"):
        choose_features(ALL, columns=COLUMNS, fields=FIELDS, include=["religion"])
    allowed = Field(
        "religion",
        FieldType.STRING,
        Category.DEMOGRAPHIC,
        Sensitivity.SPECIAL,
        legal_basis="consent",
    )
    choice = choose_features(ALL, columns=COLUMNS, fields=(allowed,), include=["religion"])
    assert [t.name for t in choice.categorical] == ["religion"]
    with pytest.raises(ModelDataError, match="include names 'recncy', which is not a known trait"):
        choose_features(ALL, columns=COLUMNS, include=["recncy"])
    with pytest.raises(ModelDataError, match="no trait is left"):
        choose_features(ALL, columns=[])
