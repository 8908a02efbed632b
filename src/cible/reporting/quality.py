"""The data quality section of the report, as plain data read from the latest audit.

The report does not run an audit (that writes one): it shows the newest stored
audit, its score against the earlier ones and the fixes that gain the most points,
in the reader's language. The partial ``templates/_quality.html.j2``
renders it. Audits stored before the score's formula 2 read the same way.

Examples
--------
>>> block = quality_block_from({"audit_id": 2, "created_at": "2025-01-31T10:00:00",
...     "customers": 10, "score": 91.5, "problems": [], "checks": []}, [88.0, 91.5], "fr")
>>> block.change, block.trend_symbol
(3.5, '↑')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cible.store.store import Store

#: Fixes shown in the report.
TOP = 5
# A change smaller than this is shown as stable.
_STEADY = 0.05


@dataclass(frozen=True)
class ProblemRow:
    """One of the fixes that gain the most, labelled in the report's language.

    ``points`` is what fixing it gains; ``weight`` the check's severity (None in
    audits stored before formula 2).
    """

    check_id: str
    area: str
    label: str
    affected: int
    denominator: int
    share: float
    points: float
    examples: list[str]
    weight: float | None = None


@dataclass(frozen=True)
class QualityBlock:
    """What the report shows about data quality.

    ``scores`` holds the scores of the stored audits, oldest first, the latest
    (this block's) last. ``formula_changed`` says that the previous audit was scored
    with another formula (:data:`cible.quality.score.FORMULA`), so that the change
    shown is mostly the formula's.
    """

    audit_id: int
    created_at: datetime
    customers: int
    score: float
    lang: str
    scores: list[float] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)
    formula_changed: bool = False

    @property
    def previous_score(self) -> float | None:
        """Score of the audit before, if any."""
        return self.scores[-2] if len(self.scores) > 1 else None

    @property
    def change(self) -> float | None:
        """Score minus the previous score."""
        previous = self.previous_score
        return None if previous is None else round(self.score - previous, 6)

    @property
    def trend_symbol(self) -> str:
        """``↑``, ``↓`` or ``→`` against the previous audit; empty for the first."""
        change = self.change
        if change is None:
            return ""
        return "↑" if change > _STEADY else "↓" if change < -_STEADY else "→"


def quality_block(store: Store, lang: str) -> QualityBlock | None:
    """The latest stored audit as a report section; None before any audit."""
    stored = store.load_audit()
    if stored is None:
        return None
    history = store.audit_history()
    previous = store.load_audit(history[-2].audit_id) if len(history) > 1 else None
    changed = previous is not None and _formula(previous) != _formula(stored)
    return quality_block_from(stored, [row.score for row in history], lang, changed)


def _formula(stored: dict[str, Any]) -> int:
    # Audits stored before the formula was recorded used formula 1.
    return int(stored.get("score_formula", 1))


def quality_block_from(
    stored: dict[str, Any], scores: list[float], lang: str, formula_changed: bool = False
) -> QualityBlock:
    """Build the section from a stored report (``AuditReport.as_dict()``) and scores."""
    problems = [
        ProblemRow(
            check_id=p["id"],
            area=p["area"],
            label=p["label"][lang],
            affected=int(p["affected"]),
            denominator=int(p["denominator"]),
            share=float(p["share"]),
            points=float(p["points"]),
            examples=list(p["examples"]),
            weight=None if p.get("weight") is None else float(p["weight"]),
        )
        for p in stored["problems"][:TOP]
    ]
    return QualityBlock(
        audit_id=int(stored["audit_id"]),
        created_at=datetime.fromisoformat(stored["created_at"]),
        customers=int(stored["customers"]),
        score=float(stored["score"]),
        lang=lang,
        scores=scores,
        problems=problems,
        formula_changed=formula_changed,
    )
