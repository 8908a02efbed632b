"""What one audit check reports, and the context every check reads.

A check counts the rows of a table that have one problem (``affected``) among the
rows where the problem could occur (``denominator``), with up to five examples a
person can look up. Checks are grouped in areas; :mod:`cible.quality.score` turns
them into the quality score.

Examples
--------
>>> check = Check("validity.email", "validity", {"en": "Invalid e-mail", "fr": "E-mail invalide"},
...               affected=3, denominator=200, examples=["C1: a@@b.fr"])
>>> check.share
0.015
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.store.store import Store

#: Areas of the audit, in the order reports show them.
AREAS = (
    "completeness",
    "validity",
    "consistency",
    "freshness",
    "duplicates",
    "outliers",
    "consent",
)
#: Examples kept per check.
EXAMPLES = 5


@dataclass(frozen=True)
class Check:
    """The result of one check.

    Parameters
    ----------
    id : str
        Stable identifier, ``<area>.<what>`` (``validity.email``).
    area : str
        One of :data:`AREAS`.
    label : dict
        What is counted, in English (``en``) and French (``fr``).
    affected : int
        Rows with the problem.
    denominator : int
        Rows where it could occur; 0 when the check does not apply (no such data).
    examples : list of str
        Up to five ids or values to look at, ``id: value`` where a value helps.
    scored : bool
        Whether the check counts in the quality score; consent coverage is a business
        figure, shown but not scored.
    """

    id: str
    area: str
    label: dict[str, str]
    affected: int
    denominator: int
    examples: list[str] = field(default_factory=list)
    scored: bool = True

    @property
    def share(self) -> float:
        """``affected / denominator``; 0 when the check does not apply."""
        return self.affected / self.denominator if self.denominator else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary, with ``share``, for JSON."""
        return {**asdict(self), "share": self.share}


@dataclass(frozen=True)
class AuditContext:
    """What every check reads: the tables, the settings and the moment of the audit.

    ``as_of`` is a naive UTC datetime; rows dated after it are "in the future".
    """

    store: Store
    registry: FieldRegistry
    config: WorkspaceConfig
    as_of: datetime

    def table(self, name: str) -> ir.Table:
        """An Ibis table of the workspace."""
        return self.store.table(name)


def label(en: str, fr: str) -> dict[str, str]:
    """A label in both languages."""
    return {"en": en, "fr": fr}


def count_rows(
    check_id: str,
    area: str,
    text: dict[str, str],
    scope: Any,
    problem: Any,
    *,
    key: str,
    shown: str | None = None,
    scored: bool = True,
) -> Check:
    """A check counting the rows of ``scope`` where ``problem`` holds.

    Parameters
    ----------
    scope : ibis.Table
        Rows where the problem could occur (the denominator).
    problem : ibis.BooleanValue
        Predicate over ``scope``.
    key : str
        Column naming a row in examples (``customer_id``, ``order_id``).
    shown : str, optional
        Column whose value follows the key in examples.
    scored : bool
        Whether the check counts in the quality score.
    """
    found = scope.filter(problem)
    counts = scope.aggregate(
        denominator=scope.count(), affected=problem.cast("int64").sum().fill_null(0)
    ).execute()
    return Check(
        check_id,
        area,
        text,
        affected=int(counts["affected"].iloc[0]),
        denominator=int(counts["denominator"].iloc[0]),
        examples=examples(found, key, shown),
        scored=scored,
    )


def examples(rows: Any, key: str, shown: str | None = None) -> list[str]:
    """Up to :data:`EXAMPLES` rows as ``key`` or ``key: shown``, smallest keys first.

    Values become text in the database: a stored date Python cannot hold (year 0 or
    10000, the very values an audit flags) must not crash the audit that shows it.
    """
    columns = [key] if shown is None else [key, shown]
    as_text = {c: rows[c].cast("string") for c in columns}
    picked = (
        rows.select(_order=rows[key], **as_text)
        .order_by("_order")
        .limit(EXAMPLES)
        .to_pyarrow()
        .to_pylist()
    )
    if shown is None:
        return [str(r[key]) for r in picked]
    return [f"{r[key]}: {r[shown]}" for r in picked]


def literal_time(moment: datetime) -> Any:
    """``moment`` as an Ibis timestamp literal."""
    return ibis.literal(moment, type="timestamp")
