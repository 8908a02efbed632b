"""Drift checks: each comparison of a moment with its reference, kept with its alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from cible.store.ids import next_id
from cible.store.transaction import transaction

CHECKS = "drift_checks"

CREATE = (
    f"""
    CREATE TABLE IF NOT EXISTS {CHECKS} (
        check_id INTEGER PRIMARY KEY, checked_at TIMESTAMP NOT NULL, as_of TIMESTAMP NOT NULL,
        reference_as_of TIMESTAMP NOT NULL, alerts INTEGER NOT NULL, actor VARCHAR,
        report VARCHAR NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class CheckRow:
    """One stored drift check; ``report`` is its JSON."""

    check_id: int
    checked_at: datetime
    as_of: datetime
    reference_as_of: datetime
    alerts: int
    actor: str | None
    report: str


def save_check(
    con: duckdb.DuckDBPyConnection,
    *,
    checked_at: datetime,
    as_of: datetime,
    reference_as_of: datetime,
    alerts: int,
    actor: str | None,
    report: str,
) -> int:
    """Store a check; returns its id."""
    with transaction(con):
        check_id = next_id(con, CHECKS, "check_id")
        con.execute(
            f"INSERT INTO {CHECKS} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [check_id, checked_at, as_of, reference_as_of, alerts, actor, report],
        )
    return check_id


def list_checks(con: duckdb.DuckDBPyConnection, *, limit: int) -> list[CheckRow]:
    """The latest ``limit`` checks, newest first."""
    rows = con.execute(f"SELECT * FROM {CHECKS} ORDER BY check_id DESC LIMIT ?", [limit]).fetchall()
    return [CheckRow(*row) for row in rows]
