"""Audits kept in the workspace: saved in one row each, read back for the trend."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from cible import Workspace
from cible.store.audits import audit_history, load_audit, save_audit


def test_save_then_read_back(workspace: Workspace):
    con = workspace.store.connection
    assert audit_history(con) == [] and load_audit(con) is None
    first = save_audit(
        con, created_at=datetime(2025, 1, 1), score=80.0, customers=10, report={"score": 80.0}
    )
    second = save_audit(
        con,
        created_at=datetime(2025, 2, 1),
        score=85.5,
        customers=12,
        report={"score": 85.5, "when": datetime(2025, 2, 1)},
    )
    assert (first, second) == (1, 2)
    history = audit_history(con)
    assert [(r.audit_id, r.score, r.customers) for r in history] == [(1, 80.0, 10), (2, 85.5, 12)]
    assert history[0].created_at == datetime(2025, 1, 1)
    assert load_audit(con) == {"score": 85.5, "when": "2025-02-01 00:00:00", "audit_id": 2}
    assert load_audit(con, 1) == {"score": 80.0, "audit_id": 1}
    assert load_audit(con, 3) is None
    assert [r.audit_id for r in audit_history(con, limit=1)] == [2]


def test_failed_save_leaves_nothing(workspace: Workspace):
    con = workspace.store.connection
    with pytest.raises(duckdb.Error):
        save_audit(
            con,
            created_at=datetime(2025, 1, 1),
            score="not a number",  # type: ignore[arg-type]
            customers=1,
            report={},
        )
    assert audit_history(con) == []


def test_audit_rows_hold_the_report(workspace: Workspace):
    report = workspace.quality.audit()
    stored = workspace.table("audits").to_pyarrow().to_pylist()
    assert len(stored) == 1
    assert stored[0]["audit_id"] == report.audit_id
    assert stored[0]["score"] == pytest.approx(report.score)
    assert load_audit(workspace.store.connection)["checks"][0]["id"] == report.checks[0].id
