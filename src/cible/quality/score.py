"""The quality score: one number from 0 to 100, and what costs it the most.

Formula (docs/quality.md):

* each scored check *c* with rows to look at has a problem share
  ``s_c = affected_c / denominator_c``;
* an area scores ``100 * (1 - mean(s_c))`` over its checks, so that each check of an
  area weighs the same whatever the size of its table;
* the score is the weighted mean of the area scores with the :data:`WEIGHTS` below,
  over the areas that have at least one applicable check.

A check therefore costs ``100 * w_area / W * s_c / n_area`` points, where ``W`` is
the sum of the weights of the areas present and ``n_area`` the number of applicable
checks in the area; :func:`top_problems` ranks checks by that cost.

Examples
--------
>>> from cible.quality.checks import Check
>>> checks = [
...     Check("validity.email", "validity", {}, affected=10, denominator=100),
...     Check("validity.phone", "validity", {}, affected=0, denominator=50),
...     Check("duplicates.email", "duplicates", {}, affected=5, denominator=100),
... ]
>>> area_scores(checks)
{'validity': 95.0, 'duplicates': 95.0}
>>> round(quality_score(checks), 6)
95.0
>>> [c.id for c, cost in top_problems(checks)]
['validity.email', 'duplicates.email']
"""

from __future__ import annotations

from cible.quality.checks import AREAS, Check

#: Weight of each area in the score; consent coverage is shown but not scored.
WEIGHTS = {
    "completeness": 0.20,
    "validity": 0.25,
    "consistency": 0.15,
    "freshness": 0.10,
    "duplicates": 0.20,
    "outliers": 0.10,
    "consent": 0.0,
}


def _applicable(checks: list[Check]) -> dict[str, list[Check]]:
    by_area: dict[str, list[Check]] = {}
    for check in checks:
        if check.scored and check.denominator > 0 and WEIGHTS.get(check.area, 0.0) > 0:
            by_area.setdefault(check.area, []).append(check)
    return {area: by_area[area] for area in AREAS if area in by_area}


def area_scores(checks: list[Check]) -> dict[str, float]:
    """Score of each area with an applicable check: ``100 * (1 - mean share)``."""
    return {
        area: 100.0 * (1.0 - sum(c.share for c in found) / len(found))
        for area, found in _applicable(checks).items()
    }


def quality_score(checks: list[Check]) -> float:
    """Weighted mean of :func:`area_scores`; 100 when nothing applies."""
    scores = area_scores(checks)
    total = sum(WEIGHTS[area] for area in scores)
    if not total:
        return 100.0
    return sum(WEIGHTS[area] * score for area, score in scores.items()) / total


def top_problems(checks: list[Check], limit: int = 5) -> list[tuple[Check, float]]:
    """The checks that cost the score the most, with the points each costs."""
    groups = _applicable(checks)
    total = sum(WEIGHTS[area] for area in groups)
    costs = [
        (check, 100.0 * WEIGHTS[area] / total * check.share / len(found))
        for area, found in groups.items()
        for check in found
        if check.affected > 0
    ]
    costs.sort(key=lambda pair: (-pair[1], pair[0].id))
    return costs[:limit]
