"""The quality score: one number from 0 to 100, and the fixes that gain the most points.

Formula (docs/quality.md, "The score"):

* each scored check *c* with rows to look at hurts a share ``s_c = affected_c /
  denominator_c`` of its rows, and has a severity ``w_c`` in [0, 1] (:data:`SEVERITY`):
  how much of its worth a record loses to that problem;
* checks fixed by one action that count largely the same records (the duplicate keys,
  :data:`FIXED_TOGETHER`) form one *fix* whose penalty is the largest ``w_c s_c`` of
  its checks; every other check is a fix of its own;
* the score is ``100 * prod(1 - penalty_f)`` over the fixes: 100 with no problem, 0
  when every record is worthless, and problems compound;
* fixing *f* gains ``100 * prod(1 - penalty_g for g != f) - score`` points;
  :func:`top_problems` ranks the fixes by that gain.

An area scores the same product over its own fixes, so the score is the product of
the area scores (each divided by 100) times 100.

Examples
--------
>>> from cible.quality.checks import Check
>>> checks = [
...     Check("validity.email", "validity", {}, affected=10, denominator=100),
...     Check("freshness.stale_profiles", "freshness", {}, affected=25, denominator=100),
... ]
>>> round(quality_score(checks), 2)  # 100 * (1 - 0.6 * 0.10) * (1 - 0.8 * 0.25)
75.2
>>> [(c.id, round(gain, 2)) for c, gain in top_problems(checks)]
[('freshness.stale_profiles', 18.8), ('validity.email', 4.8)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from cible.quality.checks import AREAS, Check

#: Version of the formula, stored with each audit (audits without one used version 1:
#: a weighted mean of area scores, which scored the demo 97.1 where this one gives 73.1).
FORMULA = 2

#: Severity of each check: the share of a record's worth lost to the problem, from 0
#: (harmless) to 1 (the record is worth nothing, or worse). docs/quality.md gives the
#: reason for each. Consent coverage (``consent.*``) is a business figure, not scored.
SEVERITY: dict[str, float] = {
    # A missing field: the record cannot be used for what needs it.
    "completeness.email": 0.3,
    "completeness.phone": 0.2,
    "completeness.first_name": 0.1,
    "completeness.last_name": 0.2,
    "completeness.birth_date": 0.1,
    "completeness.gender": 0.05,
    "completeness.postal_code": 0.2,
    "completeness.city": 0.05,
    "completeness.region": 0.02,
    "completeness.country": 0.05,
    # A wrong value is worse than none: it is used, and fails or misleads.
    "validity.email": 0.6,
    "validity.phone": 0.4,
    "validity.country": 0.2,
    "validity.postal_code": 0.3,
    "validity.age": 0.2,
    "validity.future_customers": 0.3,
    "validity.future_orders": 0.5,
    "validity.future_events": 0.3,
    "validity.future_consents": 0.5,
    "validity.amount": 0.5,
    "consistency.orders_unknown_customer": 0.8,
    "consistency.events_unknown_customer": 0.3,
    "consistency.consents_unknown_customer": 0.8,
    "consistency.currency": 0.8,
    "freshness.stale_profiles": 0.8,
    "freshness.inactive": 0.1,
    "duplicates.email": 1.0,
    "duplicates.phone": 0.8,
    "duplicates.name_birth_date": 0.8,
    "duplicates.name_postal_code": 0.5,
    "outliers.order_amount": 0.3,
    "outliers.customer_spend": 0.3,
}
#: Severity of a missing custom attribute (``completeness.<attribute>``).
ATTRIBUTE_SEVERITY = 0.05
#: Severity of a scored check absent from :data:`SEVERITY`.
DEFAULT_SEVERITY = 0.5

#: Checks one action fixes (merging duplicates, ``cible dedupe``), which count largely
#: the same records: multiplying them would count a duplicate up to four times.
FIXED_TOGETHER: dict[str, str] = {
    "duplicates.email": "duplicates",
    "duplicates.phone": "duplicates",
    "duplicates.name_birth_date": "duplicates",
    "duplicates.name_postal_code": "duplicates",
}


@dataclass(frozen=True)
class Fix:
    """One thing to fix: a check, or checks fixed together, and what fixing it gains.

    Attributes
    ----------
    check : Check
        The check that costs the most among those fixed together (itself when alone).
    checks : tuple of Check
        Every check the fix clears.
    weight : float
        Severity of ``check``.
    penalty : float
        ``weight * check.share``: the score is multiplied by ``1 - penalty``.
    gain : float
        Points the score gains once the fix is made, the others left as they are.
    """

    check: Check
    checks: tuple[Check, ...]
    weight: float
    penalty: float
    gain: float


def severity(check: Check, weights: Mapping[str, float] | None = None) -> float:
    """The severity of ``check``: from ``weights``, else :data:`SEVERITY`, else a default.

    Parameters
    ----------
    weights : mapping, optional
        Severities, from 0 to 1, replacing those of :data:`SEVERITY` for the check
        ids they name; every function of this module takes them.
    """
    for table in (weights or {}, SEVERITY):
        if check.id in table:
            weight = table[check.id]
            if not 0.0 <= weight <= 1.0:
                raise ValueError(
                    f"The severity of {check.id} must be between 0 and 1, not {weight}."
                )
            return weight
    return ATTRIBUTE_SEVERITY if check.area == "completeness" else DEFAULT_SEVERITY


def _groups(checks: list[Check], weights: Mapping[str, float] | None) -> list[list[Check]]:
    """Scored checks with rows to look at and a severity, grouped by fix, in area order."""
    by_key: dict[str, list[Check]] = {}
    for check in checks:
        if check.scored and check.denominator > 0 and severity(check, weights) > 0:
            by_key.setdefault(FIXED_TOGETHER.get(check.id, check.id), []).append(check)
    order = {area: index for index, area in enumerate(AREAS)}
    return sorted(by_key.values(), key=lambda group: order.get(group[0].area, len(order)))


def _worst(group: list[Check], weights: Mapping[str, float] | None) -> tuple[Check, float]:
    # Ties go to the first check of the group, the most certain key.
    penalties = [
        (i, check, severity(check, weights) * check.share) for i, check in enumerate(group)
    ]
    _, worst, penalty = max(penalties, key=lambda found: (found[2], -found[0]))
    return worst, penalty


def fixes(checks: list[Check], weights: Mapping[str, float] | None = None) -> list[Fix]:
    """Every fix with a penalty, the largest gain first (ties by check id)."""
    groups = [(group, *_worst(group, weights)) for group in _groups(checks, weights)]
    factors = [1.0 - penalty for _, _, penalty in groups]
    score = 100.0 * math.prod(factors)
    found = []
    for index, (group, worst, penalty) in enumerate(groups):
        if penalty <= 0:
            continue
        # The product of the other factors, not score / factor: a factor may be 0.
        without = 100.0 * math.prod(f for i, f in enumerate(factors) if i != index)
        found.append(Fix(worst, tuple(group), severity(worst, weights), penalty, without - score))
    found.sort(key=lambda fix: (-fix.gain, fix.check.id))
    return found


def area_scores(
    checks: list[Check], weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Score of each area with an applicable check: ``100 * prod(1 - penalty)`` over it."""
    scores: dict[str, float] = {}
    for group in _groups(checks, weights):
        _, penalty = _worst(group, weights)
        area = group[0].area
        scores[area] = scores.get(area, 100.0) * (1.0 - penalty)
    return scores


def quality_score(checks: list[Check], weights: Mapping[str, float] | None = None) -> float:
    """``100 * prod(1 - penalty)`` over the fixes; 100 when nothing applies."""
    return 100.0 * math.prod(1.0 - _worst(group, weights)[1] for group in _groups(checks, weights))


def top_problems(
    checks: list[Check], limit: int = 5, weights: Mapping[str, float] | None = None
) -> list[tuple[Check, float]]:
    """The fixes that gain the most points: the worst check of each, and the gain."""
    return [(fix.check, fix.gain) for fix in fixes(checks, weights)[:limit]]
