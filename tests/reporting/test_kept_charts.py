"""Chart specs kept by their inputs: the same spec as a fresh build, never shared."""

from __future__ import annotations

from datetime import datetime

from cible.reporting import charts

SEGMENTS = [
    {
        "id": "vip",
        "name": {"en": "VIP", "fr": "VIP"},
        "color": "#d9480f",
        "customer_share": 0.1,
        "revenue_share": 0.4,
        "trend": [{"as_of": datetime(2024, 1, 31), "size": 10}],
    }
]


def test_a_kept_spec_is_a_fresh_one_and_a_copy() -> None:
    fresh = charts.size_trend.__wrapped__(SEGMENTS, "en")  # type: ignore[attr-defined]
    first = charts.size_trend(SEGMENTS, "en")
    assert first == fresh
    first["data"]["values"].clear()  # a caller changing its spec changes no other
    assert charts.size_trend(SEGMENTS, "en") == fresh


def test_other_inputs_give_other_specs() -> None:
    bigger = [{**SEGMENTS[0], "trend": [{"as_of": datetime(2024, 1, 31), "size": 11}]}]
    assert charts.size_trend(bigger, "en")["data"]["values"][0]["size"] == 11
    assert charts.size_trend(SEGMENTS, "en")["data"]["values"][0]["size"] == 10
    french = charts.revenue_shares(SEGMENTS, "fr")
    assert french != charts.revenue_shares(SEGMENTS, "en")
    assert french["data"]["values"][1]["share"] == 0.4
