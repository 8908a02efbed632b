"""contrast: lift, standardized difference and test value against a pandas reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cible.features import get_trait
from cible.models.clustering import TraitContrast, contrast
from cible.models.errors import ModelDataError

TRAITS = [
    get_trait(name)
    for name in ("frequency", "monetary_value", "discount_share", "top_channel", "first_order_at")
]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": rng.poisson(3, n),
            "monetary_value": rng.lognormal(4, 1, n),
            "discount_share": rng.uniform(0, 1, n),
            "top_channel": rng.choice(["web", "store", "app"], n),
            "first_order_at": pd.Timestamp("2024-01-01"),
        }
    )
    frame.loc[rng.choice(n, 40, replace=False), "monetary_value"] = np.nan
    frame.loc[rng.choice(n, 30, replace=False), "top_channel"] = None
    return frame


def _reference(values: pd.Series, group: np.ndarray) -> tuple[float, float, float, float]:
    """Lebart's test value and the standardized difference, computed the plain pandas way."""
    known = values.dropna()
    inside = values[group].dropna()
    big_n, n = len(known), len(inside)
    variance = known.var(ddof=0)
    z = (inside.mean() - known.mean()) / np.sqrt(variance / n * (big_n - n) / (big_n - 1))
    return inside.mean(), known.mean(), z, (inside.mean() - known.mean()) / np.sqrt(variance)


def test_numbers_match_a_pandas_reference(frame: pd.DataFrame) -> None:
    group = (frame["frequency"] >= 4).to_numpy()
    found = contrast(frame, group, TRAITS, top=100)
    by_key = {(c.trait, c.level): c for c in found}
    for name in ("frequency", "monetary_value", "discount_share"):
        mean_in, mean_base, z, difference = _reference(frame[name].astype(float), group)
        row = by_key[(name, None)]
        assert row.mean_in == pytest.approx(mean_in)
        assert row.mean_base == pytest.approx(mean_base)
        assert row.z == pytest.approx(z)
        assert row.difference == pytest.approx(difference)
        assert row.lift == pytest.approx(mean_in / mean_base)
        assert row.n_in == frame.loc[group, name].notna().sum()
    for level in ("web", "store", "app"):
        indicator = (
            (frame["top_channel"] == level).astype(float).where(frame["top_channel"].notna())
        )
        mean_in, mean_base, z, _ = _reference(indicator, group)
        row = by_key[("top_channel", level)]
        assert (row.mean_in, row.mean_base) == pytest.approx((mean_in, mean_base))
        assert row.z == pytest.approx(z)
    assert not any(c.trait == "first_order_at" for c in found)
    assert [abs(c.z) for c in found] == sorted((abs(c.z) for c in found), reverse=True)


def test_the_trait_that_defines_the_group_comes_first(frame: pd.DataFrame) -> None:
    group = (frame["discount_share"] > 0.8).to_numpy()
    first = contrast(frame, group, TRAITS, top=2)[0]
    assert (first.trait, first.level) == ("discount_share", None)
    assert first.z > 10
    assert len(contrast(frame, group, TRAITS, top=2)) == 2


def test_a_random_group_is_set_apart_by_nothing() -> None:
    # Simulation with known truth: a group drawn at random has |z| around 1, rarely above 3.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"frequency": rng.poisson(3, 20_000)})
    zs = [
        contrast(frame, rng.random(20_000) < 0.2, [get_trait("frequency")])[0].z for _ in range(200)
    ]
    assert np.std(zs) == pytest.approx(1.0, abs=0.15)


def test_the_whole_base_and_constant_traits() -> None:
    frame = pd.DataFrame({"frequency": [1, 2, 3], "returns": [0, 0, 0]})
    traits = [get_trait("frequency"), get_trait("returns")]
    (only,) = contrast(frame, np.ones(3, bool), traits)
    assert (only.trait, only.z, only.lift) == ("frequency", 0.0, 1.0)


def test_lift_is_left_out_when_the_base_mean_is_not_positive() -> None:
    frame = pd.DataFrame({"frequency": [0, 0, 0, 0, 2], "recency_days": [-1.0, -2, 1, 1, 0]})
    found = contrast(
        frame,
        np.array([0, 0, 0, 0, 1], bool),
        [get_trait("recency_days"), get_trait("frequency")],
    )
    assert {c.trait: c.lift for c in found} == {"frequency": 5.0, "recency_days": None}


def test_texts_in_both_languages() -> None:
    frame = pd.DataFrame({"discount_share": [0.1, 0.1, 0.5, 0.5]})
    (row,) = contrast(frame, np.array([0, 0, 1, 1], bool), [get_trait("discount_share")])
    assert isinstance(row, TraitContrast)
    assert row.text["en"] == (
        "Share of discounted purchases: 50% on average against 30% for the whole base (x1.67)"
    )
    assert row.text["fr"] == (
        "Part des achats avec remise : 50\xa0% en moyenne contre 30\xa0% pour l'ensemble de la "
        "base (x1,67)"
    )


@pytest.mark.parametrize(
    ("mask", "top", "message"),
    [
        (np.zeros(3, bool), 5, "selects no customer"),
        (np.ones(2, bool), 5, "give one boolean per row"),
        (np.ones(3), 5, "must hold booleans"),
        (np.ones(3, bool), 0, "top must be a positive whole number"),
    ],
)
def test_bad_arguments_are_named(mask: np.ndarray, top: int, message: str) -> None:
    frame = pd.DataFrame({"frequency": [1, 2, 3]})
    with pytest.raises(ModelDataError, match=message):
        contrast(frame, mask, [get_trait("frequency")], top=top)
