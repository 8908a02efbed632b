"""Product categories flagged as special-category data count in no category trait."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cible.domain.config import TraitsSection
from cible.features import compute_traits
from cible.features.categories import without_special_categories
from tests.features.test_traits import (
    AS_OF,
    REF_CATEGORY_TRAITS,
    assert_same,
    frames,
    reference,
)


def test_a_flagged_category_counts_in_none_as_the_pandas_reference_says(tables: dict[str, Any]):
    # "toys" stands for a pharmacy: flagged, its lines are uncategorised spend.
    hidden = without_special_categories(tables["products"], {"toys"})
    got = compute_traits(
        tables["customers"],
        tables["orders"],
        tables["events"],
        as_of=AS_OF,
        order_lines=tables["order_lines"],
        products=hidden,
    ).to_pandas()
    data = frames()
    data["products"]["category"] = data["products"]["category"].where(
        data["products"]["category"].str.lower() != "toys"
    )
    assert_same(got, reference(data, AS_OF, lines=True))
    # The flag changed something: without it, some customer's top category is toys.
    plain = reference(frames(), AS_OF, lines=True)
    assert "toys" in set(plain.top_category.dropna())
    assert "toys" not in set(got.top_category.dropna())
    changed = plain.set_index("customer_id")[REF_CATEGORY_TRAITS].astype(str) != got.set_index(
        "customer_id"
    ).loc[plain.customer_id, REF_CATEGORY_TRAITS].astype(str)
    assert changed.any(axis=None)


def test_nothing_flagged_leaves_the_products_table_as_it_is(tables: dict[str, Any]):
    assert without_special_categories(tables["products"], frozenset()) is tables["products"]


def test_flagged_names_are_compared_without_case(tables: dict[str, Any]):
    hidden = without_special_categories(tables["products"], {"electronics"})
    frame: pd.DataFrame = hidden.to_pandas().set_index("product_id")
    assert pd.isna(frame.loc["p_phone", "category"])
    assert frame.loc["p_book", "category"] == "books"
    settings = TraitsSection()
    assert "electronics" in {c.lower() for c in settings.high_tech_categories}
