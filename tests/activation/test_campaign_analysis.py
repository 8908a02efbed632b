"""The analysis of one campaign's sufficient statistics: segments, return, notes."""

from __future__ import annotations

from typing import Any

import pytest

from cible.activation.campaign_analysis import ALL, analyse_statistics
from cible.activation.campaign_definition import parse_campaign


def _definition(segments: list[str], **changes: Any) -> Any:
    return parse_campaign(
        {
            "id": "c",
            "segments": segments,
            "channel": "email",
            "variants": [{"id": "v", "share": 0.5, "message": "m"}],
            "holdout": 0.5,
            "start": "2025-01-01",
            "end": "2025-01-31",
        }
        | changes
    )


def _row(segment: str, arm: str, n: int, mean: float, discount: float = 0.0) -> dict[str, Any]:
    # Half the customers spend 0, half 2 x mean: variance mean^2 (n / (n - 1)).
    return {
        "segment_id": segment,
        "arm": arm,
        "n": n,
        "sum_y": mean * n,
        "sum_y2": (2 * mean) ** 2 * n / 2,
        "sum_x": 10.0 * n,
        "sum_x2": 200.0 * n,
        "sum_xy": 10.0 * mean * n,
        "conversions": n // 2,
        "orders": n // 2,
        "discount": discount * n,
        "complete": n,
    }


def test_a_segment_called_all_is_not_mistaken_for_the_totals() -> None:
    rows = [_row(s, a, 300, m) for s in ("all", "vip") for a, m in (("v", 12.0), ("holdout", 10.0))]
    analysis = analyse_statistics(_definition(["all", "vip"]), rows, margin=0.3)
    revenue = {c.segment: c for c in analysis.comparisons if c.metric == "revenue"}
    assert set(revenue) == {"all", "vip", ALL}
    assert (revenue["all"].n_variant, revenue[ALL].n_variant) == (300, 600)
    assert revenue["all"].adjusted_p_value is not None  # in the Holm family
    assert [r.segment for r in analysis.returns].count("all") == 1


def test_the_return_counts_the_discount_once() -> None:
    # The variant pays 2 more per customer and got 1.5 more of discount; margin 40% on
    # list prices, the campaign funds 60% of discounts.
    definition = _definition(["s"], cost={"fixed": 100, "per_send": 0.1, "discount_share": 0.6})
    rows = [_row("s", "v", 1_000, 12.0, discount=2.0), _row("s", "holdout", 1_000, 10.0, 0.5)]
    analysis = analyse_statistics(definition, rows, margin=0.4, sent={("s", "v"): 900})
    ret = next(r for r in analysis.returns if r.segment == "s")
    difference = next(
        c.difference for c in analysis.comparisons if c.segment == "s" and c.metric == "revenue"
    )
    # Profit = m x paid + (m - s) x discount, per customer, times the treated.
    expected = (0.4 * difference + (0.4 - 0.6) * 1.5) * 1_000
    assert ret.incremental_profit == pytest.approx(expected)
    assert ret.extra_discount == pytest.approx(1_500.0)
    assert ret.cost == pytest.approx(100 + 0.1 * 900)
    assert ret.roi == pytest.approx((expected - 190) / 190)
    assert ret.cost_per_treated == pytest.approx(0.09)


def test_notes_say_what_could_not_be_judged() -> None:
    single = _definition(["s"], variants=[{"id": "v", "share": 1.0, "message": "m"}], holdout=0)
    analysis = analyse_statistics(single, [_row("s", "v", 100, 5.0)], margin=0.3)
    assert analysis.comparisons == () and "Nothing to compare" in analysis.notes[0]
    partial = [_row("s", a, 300, 10.0) | {"complete": 100} for a in ("v", "holdout")]
    notes = analyse_statistics(_definition(["s"]), partial, margin=0.3).notes
    assert any("400 of 600 customers' windows had not closed" in n for n in notes)


def test_no_lift_is_given_against_a_control_that_spent_nothing() -> None:
    # CUPED's adjusted control mean is then a small artefact of the pre-period, and a
    # lift against it read as +100,000% on the demo.
    control = _row("s", "holdout", 300, 0.0) | {"sum_x": 2_000.0, "sum_x2": 30_000.0}
    rows = [_row("s", "v", 300, 5.0), control]
    revenue = next(
        c
        for c in analyse_statistics(_definition(["s"]), rows, margin=0.3).comparisons
        if c.segment == "s" and c.metric == "revenue"
    )
    assert revenue.difference > 0 and revenue.relative_lift != revenue.relative_lift  # NaN
