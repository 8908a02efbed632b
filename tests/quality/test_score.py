"""The quality score formula, checked by hand on small lists of checks."""

from __future__ import annotations

import pytest

from cible.quality.checks import Check
from cible.quality.score import WEIGHTS, area_scores, quality_score, top_problems


def check(check_id: str, affected: int, denominator: int, scored: bool = True) -> Check:
    area = check_id.split(".")[0]
    return Check(
        check_id, area, {"en": check_id, "fr": check_id}, affected, denominator, [], scored
    )


CHECKS = [
    check("completeness.email", 10, 100),  # 10%
    check("completeness.phone", 30, 100),  # 30%
    check("validity.email", 9, 90),  # 10%
    check("validity.amount", 0, 1000),  # 0%
    check("duplicates.email", 2, 100),  # 2%
    check("outliers.order_amount", 0, 0),  # does not apply
    check("consent.email", 80, 100, scored=False),
]


def test_weights_sum_to_one():
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_area_scores_are_one_minus_mean_share():
    assert area_scores(CHECKS) == pytest.approx(
        {"completeness": 80.0, "validity": 95.0, "duplicates": 98.0}
    )


def test_score_is_weighted_mean_over_present_areas():
    by_hand = (0.20 * 80.0 + 0.25 * 95.0 + 0.20 * 98.0) / (0.20 + 0.25 + 0.20)
    assert quality_score(CHECKS) == pytest.approx(by_hand)


def test_points_lost_add_up_to_what_the_score_misses():
    costs = top_problems(CHECKS, limit=100)
    assert sum(cost for _, cost in costs) == pytest.approx(100.0 - quality_score(CHECKS))
    assert [c.id for c, _ in costs] == [
        "completeness.phone",  # 100 * 0.20 / 0.65 * 0.30 / 2 = 4.6 points
        "validity.email",  # 100 * 0.25 / 0.65 * 0.10 / 2 = 1.9
        "completeness.email",  # 100 * 0.20 / 0.65 * 0.10 / 2 = 1.5
        "duplicates.email",  # 100 * 0.20 / 0.65 * 0.02 / 1 = 0.6
    ]
    # completeness.phone: weight 0.2 of 0.65, share 0.3, one of two checks.
    assert costs[0][1] == pytest.approx(100 * 0.20 / 0.65 * 0.30 / 2)
    assert [c.id for c, _ in top_problems(CHECKS, limit=2)] == [
        "completeness.phone",
        "validity.email",
    ]


def test_nothing_applicable_scores_100():
    assert quality_score([check("validity.email", 0, 0)]) == 100.0
    assert quality_score([]) == 100.0
    assert top_problems([]) == []


def test_share_of_a_check_that_does_not_apply_is_zero():
    assert check("validity.email", 0, 0).share == 0.0
    assert check("validity.email", 1, 4).share == 0.25
