"""The data quality audit: every check, the score, the top problems and the trend.

``Workspace.quality.audit()`` calls :func:`run_audit`, which runs the checks of
:mod:`cible.quality.customer_checks` and :mod:`cible.quality.activity_checks`,
scores them (:mod:`cible.quality.score`), stores the audit in the ``audits`` table
and returns an :class:`AuditReport` whose ``trend`` lists the previous audits.

Examples
--------
>>> from datetime import datetime
>>> from cible.quality.checks import Check
>>> checks = [Check("validity.email", "validity", {"en": "Invalid e-mail", "fr": "E-mail invalide"},
...                 affected=1, denominator=4, examples=["C2: a@@b.fr"])]
>>> moment = datetime(2025, 1, 31)
>>> report = AuditReport(1, moment, moment, 4, quality_score(checks), area_scores(checks), checks)
>>> report.score, [check.id for check, points in report.problems()]
(85.0, ['validity.email'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cible.domain.clock import normalise_as_of, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.progress import Progress, reporter
from cible.domain.registry import FieldRegistry
from cible.quality.activity_checks import activity_checks
from cible.quality.checks import AREAS, AuditContext, Check
from cible.quality.customer_checks import customer_checks
from cible.quality.score import FORMULA, area_scores, quality_score, severity, top_problems
from cible.store.store import Store

_STEPS = ("profiles", "activity", "score", "done")
_AREA_ORDER = {area: index for index, area in enumerate(AREAS)}


@dataclass(frozen=True)
class TrendPoint:
    """The score of an earlier audit."""

    audit_id: int
    created_at: datetime
    score: float


@dataclass(frozen=True)
class AuditReport:
    """One audit: its checks, score, top problems and the scores of earlier audits.

    Attributes
    ----------
    audit_id : int
        Id of the stored audit.
    created_at, as_of : datetime
        When the audit ran, and the moment it judged "the future" and freshness
        from (naive UTC).
    customers : int
        Customers audited.
    score : float
        Quality score, 0 to 100 (docs/quality.md).
    areas : dict
        Score of each area with an applicable check.
    checks : list of Check
        Every check, in area order.
    trend : list of TrendPoint
        Earlier audits, oldest first (this one excluded).
    """

    audit_id: int
    created_at: datetime
    as_of: datetime
    customers: int
    score: float
    areas: dict[str, float]
    checks: list[Check]
    trend: list[TrendPoint] = field(default_factory=list)

    @property
    def previous_score(self) -> float | None:
        """Score of the audit before this one, if any."""
        return self.trend[-1].score if self.trend else None

    @property
    def change(self) -> float | None:
        """Score minus the previous score (positive: better), if there was one."""
        previous = self.previous_score
        return None if previous is None else self.score - previous

    def problems(self, limit: int = 5) -> list[tuple[Check, float]]:
        """The fixes that gain the most points: the worst check of each, and the gain."""
        return top_problems(self.checks, limit)

    @property
    def consent_coverage(self) -> dict[str, float]:
        """Share of customers with a granted marketing consent, per channel."""
        return {
            c.id.removeprefix("consent."): 1.0 - c.share
            for c in self.checks
            if c.area == "consent" and c.denominator
        }

    def as_dict(self, top: int = 5) -> dict[str, Any]:
        """Plain data for ``--json`` and storage, with the ``top`` fixes as ``problems``."""
        return {
            "audit_id": self.audit_id,
            "created_at": self.created_at.isoformat(),
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "score": self.score,
            "previous_score": self.previous_score,
            "change": self.change,
            "score_formula": FORMULA,
            "areas": self.areas,
            "problems": [_problem_dict(check, points) for check, points in self.problems(top)],
            "consent_coverage": self.consent_coverage,
            "checks": [
                {**c.as_dict(), "weight": severity(c) if c.scored else 0.0} for c in self.checks
            ],
            "trend": [
                {"audit_id": t.audit_id, "created_at": t.created_at.isoformat(), "score": t.score}
                for t in self.trend
            ],
        }


def _problem_dict(check: Check, points: float) -> dict[str, Any]:
    # ``points`` is what fixing the check gains. Audits stored under formula 1 hold
    # there what the check cost, which the additive formula made the same number, so
    # old and new audits read alike.
    return {**check.as_dict(), "weight": severity(check), "points": points}


def run_audit(
    store: Store,
    registry: FieldRegistry,
    config: WorkspaceConfig,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Run every check as of ``as_of`` (default now), store the audit, return it."""
    report = reporter(progress)
    total = len(_STEPS) - 1
    created = utc_now()
    moment = created if as_of is None else normalise_as_of(as_of)
    context = AuditContext(store, registry, config, moment)
    report("profiles", 0, total)
    checks = customer_checks(context)
    report("activity", 1, total)
    checks += activity_checks(context)
    report("score", 2, total)
    checks.sort(key=lambda c: _AREA_ORDER[c.area])
    score = quality_score(checks)
    customers = int(store.table("customers").count().execute())
    trend = [TrendPoint(r.audit_id, r.created_at, r.score) for r in store.audit_history()]
    draft = AuditReport(0, created, moment, customers, score, area_scores(checks), checks, trend)
    stored = {k: v for k, v in draft.as_dict().items() if k not in ("audit_id", "trend")}
    audit_id = store.save_audit(created_at=created, score=score, customers=customers, report=stored)
    report("done", total, total)
    return AuditReport(audit_id, created, moment, customers, score, draft.areas, checks, trend)
