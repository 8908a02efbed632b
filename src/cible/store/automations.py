"""Automations as stored data, their runs per customer and the log of every step.

``automations`` keeps each definition (JSON, validated by
:mod:`cible.activation.automations` before it is saved) with its status
(``active`` or ``paused``). ``automation_runs`` holds one row per customer taken
through an automation: where it stands (``position``, the next step), until when it
waits (``resume_at``) and how it ended. ``automation_log`` is append-only: each step
taken or skipped, with its outcome and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from cible.store import deliveries, tags
from cible.store.sql import fetch_row, insert_rows
from cible.store.transaction import transaction

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS automations (
      automation_id VARCHAR, definition VARCHAR, status VARCHAR, version INTEGER,
      updated_at TIMESTAMP, updated_by VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS automation_runs (
      run_id VARCHAR, automation_id VARCHAR, version INTEGER, customer_id VARCHAR,
      trigger VARCHAR, status VARCHAR, position VARCHAR, resume_at TIMESTAMP,
      started_at TIMESTAMP, updated_at TIMESTAMP, ended_at TIMESTAMP
    )
    """,
    "CREATE SEQUENCE IF NOT EXISTS automation_log_ids START 1",
    """
    CREATE TABLE IF NOT EXISTS automation_log (
      entry_id BIGINT DEFAULT nextval('automation_log_ids'), run_id VARCHAR,
      automation_id VARCHAR, customer_id VARCHAR, logged_at TIMESTAMP, step VARCHAR,
      action VARCHAR, outcome VARCHAR, detail VARCHAR
    )
    """,
)


@dataclass(frozen=True)
class AutomationRow:
    """A stored automation: its definition (JSON text), status and version."""

    automation_id: str
    definition: str
    status: str
    version: int
    updated_at: datetime
    updated_by: str | None


@dataclass
class RunRow:
    """Where one customer stands in one automation."""

    run_id: str
    automation_id: str
    version: int
    customer_id: str
    trigger: str
    status: str
    position: str
    resume_at: datetime | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class LogRow:
    """One step taken, skipped or planned for a customer."""

    run_id: str | None
    automation_id: str
    customer_id: str
    logged_at: datetime
    step: str
    action: str
    outcome: str
    detail: str | None


@dataclass(frozen=True)
class RunHistory:
    """What re-entry needs to know of a customer's past runs of an automation."""

    runs: int
    last_started_at: datetime | None
    running: bool


_RUN_COLUMNS = ", ".join(RunRow.__dataclass_fields__)
_TS = pa.timestamp("us")
RUN_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in ("run_id", "automation_id")),
        ("version", pa.int32()),
        *((name, pa.string()) for name in ("customer_id", "trigger", "status", "position")),
        *((name, _TS) for name in ("resume_at", "started_at", "updated_at", "ended_at")),
    ]
)
LOG_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in ("run_id", "automation_id", "customer_id")),
        ("logged_at", _TS),
        *((name, pa.string()) for name in ("step", "action", "outcome", "detail")),
    ]
)
_LOG_COLUMNS = ", ".join(LogRow.__dataclass_fields__)


def list_automations(con: duckdb.DuckDBPyConnection) -> list[AutomationRow]:
    """Every automation, by id."""
    rows = con.execute(
        f"SELECT {', '.join(AutomationRow.__dataclass_fields__)} FROM automations "
        "ORDER BY automation_id"
    ).fetchall()
    return [AutomationRow(*row) for row in rows]


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """Changes whenever an automation is saved, paused or resumed (cheap to read)."""
    row = fetch_row(
        con,
        "SELECT count(*), max(updated_at), sum(version), string_agg(status, '') FROM automations",
    )
    return tuple(row)


def save_automation(
    con: duckdb.DuckDBPyConnection, automation_id: str, definition: str, *, at: datetime, actor: str
) -> int:
    """Create or replace an automation; returns its version.

    A changed definition stops the runs of the previous one (they are logged as
    ``stopped``): a run's position means nothing in another list of steps.
    """
    with transaction(con):
        found = con.execute(
            "SELECT definition, status, version FROM automations WHERE automation_id = ?",
            [automation_id],
        ).fetchall()
        if found and found[0][0] == definition:
            return int(found[0][2])
        version = int(found[0][2]) + 1 if found else 1
        status = found[0][1] if found else "active"
        con.execute("DELETE FROM automations WHERE automation_id = ?", [automation_id])
        con.execute(
            "INSERT INTO automations VALUES (?, ?, ?, ?, ?, ?)",
            [automation_id, definition, status, version, at, actor],
        )
        con.execute(
            f"""
            INSERT INTO automation_log ({_LOG_COLUMNS})
            SELECT run_id, automation_id, customer_id, ?, position, 'stop', 'stopped',
                   'the automation was changed'
            FROM automation_runs
            WHERE automation_id = ? AND status IN ('active', 'waiting')
            """,
            [at, automation_id],
        )
        con.execute(
            "UPDATE automation_runs SET status = 'stopped', ended_at = ?, updated_at = ? "
            "WHERE automation_id = ? AND status IN ('active', 'waiting')",
            [at, at, automation_id],
        )
    return version


def set_status(
    con: duckdb.DuckDBPyConnection, automation_id: str, status: str, *, at: datetime, actor: str
) -> bool:
    """Pause or resume an automation; whether it exists."""
    rows = con.execute(
        "UPDATE automations SET status = ?, updated_at = ?, updated_by = ? WHERE automation_id = ?",
        [status, at, actor, automation_id],
    ).fetchall()
    return bool(rows[0][0])


def delete_automation(con: duckdb.DuckDBPyConnection, automation_id: str) -> bool:
    """Remove an automation (its runs and log stay, as history); whether it existed."""
    with transaction(con):
        con.execute(
            "UPDATE automation_runs SET status = 'stopped', ended_at = updated_at "
            "WHERE automation_id = ? AND status IN ('active', 'waiting')",
            [automation_id],
        )
        rows = con.execute(
            "DELETE FROM automations WHERE automation_id = ?", [automation_id]
        ).fetchall()
    return bool(rows[0][0])


def histories(
    con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], RunHistory]:
    """Past runs of each ``(automation_id, customer_id)`` pair (absent: none)."""
    if not pairs:
        return {}
    rows = con.execute(
        """
        SELECT automation_id, customer_id, count(*), max(started_at),
               bool_or(status IN ('active', 'waiting'))
        FROM automation_runs
        WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))
          AND automation_id IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY ALL
        """,
        [sorted({c for _, c in pairs}), sorted({a for a, _ in pairs})],
    ).fetchall()
    return {(a, c): RunHistory(int(n), last, bool(running)) for a, c, n, last, running in rows}


def started(con: duckdb.DuckDBPyConnection, automation_id: str, trigger: str) -> set[str]:
    """Customers with a run of ``automation_id`` started by ``trigger`` (a date's label)."""
    rows = con.execute(
        "SELECT DISTINCT customer_id FROM automation_runs WHERE automation_id = ? AND trigger = ?",
        [automation_id, trigger],
    ).fetchall()
    return {row[0] for row in rows}


def run_counts(con: duckdb.DuckDBPyConnection, automation_id: str) -> dict[str, int]:
    """How many runs of the automation are in each status."""
    rows = con.execute(
        "SELECT status, count(*) FROM automation_runs WHERE automation_id = ? GROUP BY status",
        [automation_id],
    ).fetchall()
    return {status: int(n) for status, n in rows}


def waiting_runs(
    con: duckdb.DuckDBPyConnection, automation_ids: Sequence[str], customer_ids: Sequence[str]
) -> list[RunRow]:
    """Waiting runs of the automations for the customers (whatever their resume time)."""
    rows = con.execute(
        f"""
        SELECT {_RUN_COLUMNS} FROM automation_runs
        WHERE status = 'waiting' AND automation_id IN (SELECT unnest(?::VARCHAR[]))
          AND customer_id IN (SELECT unnest(?::VARCHAR[]))
        """,
        [list(automation_ids), list(customer_ids)],
    ).fetchall()
    return [RunRow(*row) for row in rows]


def due_runs(con: duckdb.DuckDBPyConnection, *, now: datetime, limit: int) -> list[RunRow]:
    """Waiting runs of active automations whose time has come, oldest first."""
    rows = con.execute(
        f"""
        SELECT {", ".join("r." + c for c in RunRow.__dataclass_fields__)}
        FROM automation_runs r JOIN automations a USING (automation_id)
        WHERE r.status = 'waiting' AND r.resume_at <= ? AND a.status = 'active'
          AND r.version = a.version
        ORDER BY r.resume_at LIMIT ?
        """,
        [now, limit],
    ).fetchall()
    return [RunRow(*row) for row in rows]


def runs(
    con: duckdb.DuckDBPyConnection,
    *,
    automation_id: str | None,
    customer_id: str | None,
    limit: int,
) -> list[RunRow]:
    """The latest runs, of one automation and/or one customer."""
    rows = con.execute(
        f"""
        SELECT {_RUN_COLUMNS} FROM automation_runs
        WHERE (? IS NULL OR automation_id = ?) AND (? IS NULL OR customer_id = ?)
        ORDER BY started_at DESC, run_id LIMIT ?
        """,
        [automation_id, automation_id, customer_id, customer_id, limit],
    ).fetchall()
    return [RunRow(*row) for row in rows]


def log(
    con: duckdb.DuckDBPyConnection,
    *,
    automation_id: str | None,
    customer_id: str | None,
    run_id: str | None,
    limit: int,
) -> list[LogRow]:
    """The latest log rows, filtered."""
    rows = con.execute(
        f"""
        SELECT {_LOG_COLUMNS} FROM automation_log
        WHERE (? IS NULL OR automation_id = ?) AND (? IS NULL OR customer_id = ?)
          AND (? IS NULL OR run_id = ?)
        ORDER BY entry_id DESC LIMIT ?
        """,
        [automation_id, automation_id, customer_id, customer_id, run_id, run_id, limit],
    ).fetchall()
    return [LogRow(*row) for row in reversed(rows)]


def customer_facts(
    con: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    """Profiles (``customers`` rows) and open segment memberships of ``customer_ids``."""
    ids = list(customer_ids)
    cursor = con.execute(
        "SELECT * FROM customers WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    )
    names = [d[0] for d in cursor.description or ()]
    profiles = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    memberships: dict[str, set[str]] = {i: set() for i in ids}
    for customer_id, segment_id in con.execute(
        "SELECT customer_id, segment_id FROM segment_memberships "
        "WHERE customer_id IN (SELECT unnest(?::VARCHAR[])) AND exited_at IS NULL",
        [ids],
    ).fetchall():
        memberships[customer_id].add(segment_id)
    return profiles, memberships


def commit_batch(
    con: duckdb.DuckDBPyConnection,
    *,
    outbox_ids: Sequence[int],
    runs: Sequence[RunRow],
    log_rows: Sequence[LogRow],
    tag_changes: Sequence[tags.TagChange],
    new_deliveries: Sequence[deliveries.NewDelivery],
    at: datetime,
) -> None:
    """Everything one pass of the automation worker decided, in one transaction.

    The outbox rows read are marked handled, runs replaced by their new state, the
    log appended, tag changes recorded (ledger and outbox), deliveries queued.
    """
    with transaction(con):
        if outbox_ids:
            con.execute(
                "UPDATE outbox SET delivered_at = ? "
                "WHERE outbox_id IN (SELECT unnest(?::BIGINT[]))",
                [at, list(outbox_ids)],
            )
        if runs:
            con.execute(
                "DELETE FROM automation_runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))",
                [[r.run_id for r in runs]],
            )
            insert_rows(con, "automation_runs", [r.__dict__ for r in runs], RUN_SCHEMA)
        if log_rows:
            insert_rows(con, "automation_log", [r.__dict__ for r in log_rows], LOG_SCHEMA)
        if tag_changes:
            tags.record_changes(con, tag_changes, at=at, actor="automation", source="automation")
        if new_deliveries:
            deliveries.enqueue(con, new_deliveries, at=at)
