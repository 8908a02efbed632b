"""The audit log: an append-only record of every change, export and refusal.

The ``audit_log`` table (schema version 7) holds one row per event: when, who (the
token's name, or ``cli`` for the local user), what (``action``, ``target``), how it
ended (``outcome``: ``ok``, ``refused``, ``failed``) and a JSON ``detail``. This module
inserts and reads rows; it has no statement that updates or deletes one, and neither
has the :class:`~cible.store.store.Store`, so the log only grows.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> con = duckdb.connect()
>>> _ = con.execute(CREATE_TABLE)
>>> entry = NewEntry(datetime(2025, 1, 2), "cli", "token.create", "token:1", "ok", {"n": 1})
>>> append(con, entry)
1
>>> [(e.entry_id, e.actor, e.detail) for e in entries(con, limit=10)]
[(1, 'cli', {'n': 1})]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from cible.store.ids import next_id
from cible.store.transaction import transaction

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS audit_log (
  entry_id BIGINT, recorded_at TIMESTAMP, actor VARCHAR, action VARCHAR,
  target VARCHAR, outcome VARCHAR, detail JSON
)
"""


@dataclass(frozen=True)
class NewEntry:
    """An entry to append (its id is given when it is written)."""

    recorded_at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """A stored entry."""

    entry_id: int
    recorded_at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]


def insert(con: duckdb.DuckDBPyConnection, entry: NewEntry) -> int:
    """Append ``entry`` inside the caller's transaction; return its id."""
    entry_id = next_id(con, "audit_log", "entry_id")
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            entry_id,
            entry.recorded_at,
            entry.actor,
            entry.action,
            entry.target,
            entry.outcome,
            json.dumps(entry.detail, default=str, ensure_ascii=False),
        ],
    )
    return entry_id


def append(con: duckdb.DuckDBPyConnection, entry: NewEntry) -> int:
    """Append ``entry`` in its own transaction; return its id."""
    with transaction(con):
        return insert(con, entry)


def entries(
    con: duckdb.DuckDBPyConnection,
    *,
    limit: int,
    offset: int = 0,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
) -> list[Entry]:
    """Entries newest first, only those of ``action``, ``actor`` and ``outcome`` when
    given, ``limit`` from ``offset``."""
    chosen = {"action": action, "actor": actor, "outcome": outcome}
    kept = {column: value for column, value in chosen.items() if value is not None}
    # The column names are this function's own; only the values come from outside.
    where = ("WHERE " + " AND ".join(f"{column} = ?" for column in kept)) if kept else ""
    rows = con.execute(
        "SELECT entry_id, recorded_at, actor, action, target, outcome, CAST(detail AS VARCHAR) "
        f"FROM audit_log {where} ORDER BY entry_id DESC LIMIT ? OFFSET ?",
        [*kept.values(), limit, offset],
    ).fetchall()
    return [
        Entry(int(i), at, actor, act, target, outcome, json.loads(detail) if detail else {})
        for i, at, actor, act, target, outcome, detail in rows
    ]
