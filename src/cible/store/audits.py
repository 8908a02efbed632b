"""Quality audits kept in the workspace: one row per audit, for the trend.

The ``audits`` table (schema version 4) holds the id, the time, the score, the
number of customers and the whole report as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from cible.store.ids import next_id
from cible.store.transaction import transaction


@dataclass(frozen=True)
class AuditRow:
    """One stored audit, without its report."""

    audit_id: int
    created_at: datetime
    score: float
    customers: int


def save_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    created_at: datetime,
    score: float,
    customers: int,
    report: dict[str, Any],
) -> int:
    """Store an audit and its report (JSON-serialisable); returns its id."""
    with transaction(con):
        audit_id = next_id(con, "audits", "audit_id")
        con.execute(
            "INSERT INTO audits VALUES (?, ?, ?, ?, ?)",
            [audit_id, created_at, score, customers, json.dumps(report, default=str)],
        )
    return audit_id


def audit_history(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[AuditRow]:
    """The latest ``limit`` audits, oldest first."""
    rows = con.execute(
        "SELECT audit_id, created_at, score, customers FROM audits ORDER BY audit_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [AuditRow(int(a), created, float(s), int(c)) for a, created, s, c in reversed(rows)]


def load_audit(
    con: duckdb.DuckDBPyConnection, audit_id: int | None = None
) -> dict[str, Any] | None:
    """The stored report of audit ``audit_id`` (default: the latest), with its id, or None."""
    query = "SELECT audit_id, report FROM audits"
    if audit_id is None:
        rows = con.execute(f"{query} ORDER BY audit_id DESC LIMIT 1").fetchall()
    else:
        rows = con.execute(f"{query} WHERE audit_id = ?", [audit_id]).fetchall()
    if not rows:
        return None
    report: dict[str, Any] = json.loads(rows[0][1])
    report["audit_id"] = int(rows[0][0])
    return report
