"""The quality score: the formula by hand, planted problems of known size, the demo.

Reference tests (docs/quality.md, "The score"): (a) exact values of the formula on
hand-made checks; (b) a workspace whose problems are planted with known sizes, written
as CSV and imported, scores what the formula gives for those sizes; (c) the demo,
whose profiles are 23% stale, scores below 85 (the first formula gave it 97).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from cible import Workspace
from cible.demo import build_demo
from cible.quality.checks import Check
from cible.quality.score import (
    ATTRIBUTE_SEVERITY,
    DEFAULT_SEVERITY,
    FIXED_TOGETHER,
    SEVERITY,
    area_scores,
    fixes,
    quality_score,
    severity,
    top_problems,
)


def check(check_id: str, affected: int, denominator: int, scored: bool = True) -> Check:
    area = check_id.split(".")[0]
    return Check(
        check_id, area, {"en": check_id, "fr": check_id}, affected, denominator, [], scored
    )


CHECKS = [
    check("completeness.email", 10, 100),  # 10% at 0.3: factor 0.97
    check("completeness.phone", 35, 100),  # 35% at 0.2: 0.93
    check("validity.email", 9, 90),  # 10% at 0.6: 0.94
    check("validity.amount", 0, 1000),  # no problem: 1
    check("freshness.stale_profiles", 25, 100),  # 25% at 0.8: 0.8
    check("duplicates.email", 4, 100),  # 4% at 1.0: 0.96, the worst duplicate key...
    check("duplicates.phone", 2, 60),  # ...3.3% at 0.8: 0.973, folded in the same fix
    check("duplicates.name_postal_code", 2, 100),  # 2% at 0.5: 0.99, folded in the fix
    check("outliers.order_amount", 0, 0),  # does not apply
    check("consent.email", 80, 100, scored=False),  # shown, never scored
]
FACTORS = {
    "completeness.email": 0.97,
    "completeness.phone": 0.93,
    "validity.email": 0.94,
    "freshness.stale_profiles": 0.8,
    "duplicates.email": 0.96,
}
SCORE = 100 * math.prod(FACTORS.values())  # 65.12...


def test_severities_are_between_0_and_1():
    assert all(0.0 <= weight <= 1.0 for weight in SEVERITY.values())
    assert 0.0 <= ATTRIBUTE_SEVERITY <= 1.0 and 0.0 <= DEFAULT_SEVERITY <= 1.0
    assert set(FIXED_TOGETHER) <= set(SEVERITY)


def test_score_is_100_times_the_product_of_one_minus_severity_times_share():
    assert quality_score(CHECKS) == pytest.approx(SCORE, abs=1e-9)
    assert round(SCORE, 2) == 65.12


def test_stale_profiles_alone_cost_what_they_hurt():
    # The case: 23% stale profiles cost 18.4 points, not 1 or 2.
    assert quality_score([check("freshness.stale_profiles", 23, 100)]) == pytest.approx(81.6)


def test_area_scores_multiply_to_the_score():
    areas = area_scores(CHECKS)
    assert areas == pytest.approx(
        {
            "completeness": 100 * 0.97 * 0.93,
            "validity": 94.0,
            "freshness": 80.0,
            "duplicates": 96.0,
        }
    )
    assert 100 * math.prod(s / 100 for s in areas.values()) == pytest.approx(SCORE)


def test_gain_of_a_fix_is_the_score_without_it_minus_the_score():
    gains = {fix.check.id: fix.gain for fix in fixes(CHECKS)}
    assert gains == pytest.approx(
        {name: SCORE / factor - SCORE for name, factor in FACTORS.items()}
    )
    # Stale profiles: 65.12 / 0.8 - 65.12 = 16.28 points.
    assert gains["freshness.stale_profiles"] == pytest.approx(16.28, abs=0.01)
    ranked = [c.id for c, _ in top_problems(CHECKS, limit=100)]
    assert ranked == [
        "freshness.stale_profiles",  # factor 0.8
        "completeness.phone",  # 0.93
        "validity.email",  # 0.94
        "duplicates.email",  # 0.96
        "completeness.email",  # 0.97
    ]
    assert [c.id for c, _ in top_problems(CHECKS, limit=2)] == ranked[:2]


def test_problems_compound():
    # Fixing everything gains more than the sum of the fixes one by one.
    gains = sum(gain for _, gain in top_problems(CHECKS, limit=100))
    assert gains < 100 - SCORE


def test_duplicate_keys_are_one_fix_priced_at_their_worst_key():
    (fix,) = [f for f in fixes(CHECKS) if f.check.area == "duplicates"]
    assert fix.check.id == "duplicates.email"
    assert [c.id for c in fix.checks] == [
        "duplicates.email",
        "duplicates.phone",
        "duplicates.name_postal_code",
    ]
    assert (fix.weight, fix.penalty) == pytest.approx((1.0, 0.04))
    # A larger share on the phone key makes it the worst, and the fix costs that.
    worse = [c for c in CHECKS if c.id != "duplicates.phone"] + [check("duplicates.phone", 6, 60)]
    assert quality_score(worse) == pytest.approx(SCORE / 0.96 * (1 - 0.8 * 0.1))


def test_severity_of_custom_attributes_unknown_checks_and_overrides():
    assert severity(check("completeness.loyalty_tier", 1, 2)) == ATTRIBUTE_SEVERITY
    assert severity(check("validity.something_new", 1, 2)) == DEFAULT_SEVERITY
    stale = [check("freshness.stale_profiles", 23, 100)]
    assert quality_score(stale, {"freshness.stale_profiles": 0.5}) == pytest.approx(88.5)
    assert quality_score(stale, {"freshness.stale_profiles": 0.0}) == 100.0
    # An override names the checks it changes; the others keep their severity.
    assert quality_score(CHECKS, {"freshness.stale_profiles": 0.0}) == pytest.approx(SCORE / 0.8)
    with pytest.raises(ValueError, match="between 0 and 1"):
        quality_score(stale, {"freshness.stale_profiles": 1.5})


def test_a_worthless_table_scores_0_and_fixing_it_gains_the_rest():
    checks = [check("duplicates.email", 10, 10), check("validity.email", 5, 10)]
    assert quality_score(checks) == 0.0
    gains = {c.id: gain for c, gain in top_problems(checks)}
    assert gains == pytest.approx({"duplicates.email": 70.0, "validity.email": 0.0})


def test_nothing_applicable_scores_100():
    assert quality_score([check("validity.email", 0, 0)]) == 100.0
    assert quality_score([]) == 100.0
    assert top_problems([]) == []
    assert area_scores([check("consent.email", 5, 10, scored=False)]) == {}


def test_share_of_a_check_that_does_not_apply_is_zero():
    assert check("validity.email", 0, 0).share == 0.0
    assert check("validity.email", 1, 4).share == 0.25


# (b) Planted problems of known size, imported from CSV.
AS_OF = datetime(2025, 1, 15)
PLANTED_CUSTOMERS = 400
INVALID_EMAILS = 40  # 10%
STALE = 80  # 20%
SHARED_EMAILS = 20  # 5%: 20 profiles take another profile's e-mail
FIRST = ["Anne", "Paul", "Léa", "Marc", "Zoé", "Hugo", "Inès", "Théo", "Nina", "Jules"]
LAST = [f"Nom{letter}" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + ["Martin", "Roux"]


def _planted_customers(path: Path) -> None:
    rng = np.random.default_rng(7)
    order = rng.permutation(PLANTED_CUSTOMERS)
    invalid = set(order[:INVALID_EMAILS].tolist())
    # Copies take the e-mail of an original; neither has an invalid one.
    copies = order[INVALID_EMAILS : INVALID_EMAILS + SHARED_EMAILS].tolist()
    originals = order[INVALID_EMAILS + SHARED_EMAILS : INVALID_EMAILS + 2 * SHARED_EMAILS]
    shared = dict(zip(copies, originals.tolist(), strict=True))
    stale = set(rng.choice(PLANTED_CUSTOMERS, STALE, replace=False).tolist())
    lines = [
        "customer_id;email;phone;first_name;last_name;birth_date;gender;postal_code;city;"
        "region;country;created_at;updated_at"
    ]
    for i in range(PLANTED_CUSTOMERS):
        owner = shared.get(i, i)
        email = f"client{i}@@exemple.fr" if i in invalid else f"client{owner}@exemple.fr"
        updated = "01/06/2021" if i in stale else "01/06/2024"
        lines.append(
            f"C{i:04d};{email};06{10000000 + i:08d};{FIRST[i % 10]};{LAST[i // 10 % 28]}{i};"
            f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1950 + i % 50};{'female' if i % 2 else 'male'};"
            f"{10000 + 7 * i};Troyes;Grand Est;FR;01/01/2020;{updated}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_planted_problems_give_the_score_their_sizes_predict(tmp_path: Path):
    path = tmp_path / "customers.csv"
    _planted_customers(path)
    with Workspace.create(tmp_path / "ws") as ws:
        result = ws.imports.load("customers", path)
        assert (result.loaded, result.rejected) == (PLANTED_CUSTOMERS, 0)
        report = ws.quality.audit(as_of=AS_OF)
    found = {c.id: (c.affected, c.denominator) for c in report.checks if c.scored and c.affected}
    assert found == {
        "validity.email": (INVALID_EMAILS, PLANTED_CUSTOMERS),
        "freshness.stale_profiles": (STALE, PLANTED_CUSTOMERS),
        "duplicates.email": (SHARED_EMAILS, PLANTED_CUSTOMERS),
    }
    predicted = 100 * (1 - 0.6 * 0.10) * (1 - 0.8 * 0.20) * (1 - 1.0 * 0.05)
    assert 74.5 < predicted < 75.5
    assert report.score == pytest.approx(predicted, abs=1e-9)
    (first, gain), *_ = report.problems()
    assert first.id == "freshness.stale_profiles"
    assert gain == pytest.approx(100 * 0.94 * 0.95 - predicted)  # 14.3 points


# (c) The demo.
DEMO_END = date(2025, 6, 1)


def test_demo_with_a_quarter_of_stale_profiles_scores_below_85(tmp_path: Path):
    build_demo(tmp_path / "demo", customers=2000, seed=3, end_date=DEMO_END)
    with Workspace.open(tmp_path / "demo") as ws:
        report = ws.quality.audit(as_of=datetime(2025, 6, 1))
    stale = next(c for c in report.checks if c.id == "freshness.stale_profiles")
    assert stale.share > 0.2
    assert report.score < 85
    (first, gain), *_ = report.problems()
    assert first.id == "freshness.stale_profiles"
    assert gain > 10
