"""The data quality section of the report, as plain data read from the latest audit.

The report does not run an audit (that writes one): it shows the newest stored
audit, its score against the earlier ones and its top problems, in the reader's
language. The partial ``reporting/templates/_quality.html.j2`` renders it.

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

from cible.store.audits import audit_history, load_audit
from cible.store.backend import raw

#: Problems shown in the report.
TOP = 5
# A change smaller than this is shown as stable.
_STEADY = 0.05


@dataclass(frozen=True)
class ProblemRow:
    """One of the top problems, labelled in the report's language."""

    check_id: str
    area: str
    label: str
    affected: int
    denominator: int
    share: float
    points: float
    examples: list[str]


@dataclass(frozen=True)
class QualityBlock:
    """What the report shows about data quality.

    ``scores`` holds the scores of the stored audits, oldest first, the latest
    (this block's) last.
    """

    audit_id: int
    created_at: datetime
    customers: int
    score: float
    lang: str
    scores: list[float] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)

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


def quality_block(backend: Any, lang: str) -> QualityBlock | None:
    """The latest stored audit as a report section; None before any audit."""
    con = raw(backend)
    stored = load_audit(con)
    if stored is None:
        return None
    scores = [row.score for row in audit_history(con)]
    return quality_block_from(stored, scores, lang)


def quality_block_from(stored: dict[str, Any], scores: list[float], lang: str) -> QualityBlock:
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
    )
