"""Message templates as stored data, and what one customer's message is rendered from.

Definitions are validated by :mod:`cible.activation.templates` before they are
saved here; the Store only keeps them. :func:`customer_context` reads one customer's
profile, latest traits and open memberships by id: each query is answered through the
index on ``customer_id`` (:mod:`cible.store.indexes`), so rendering a message costs
about a millisecond of database work, whatever the size of the tables.

Examples
--------
>>> from datetime import datetime
>>> import duckdb
>>> con = duckdb.connect()
>>> for statement in CREATE:
...     _ = con.execute(statement)
>>> save(con, "guide", '{"id": "guide"}', at=datetime(2026, 1, 1), actor="cli")
>>> get(con, "guide")
TemplateRow(template_id='guide', definition='{"id": "guide"}', updated_at=datetime.datetime(2026, 1, 1, 0, 0), updated_by='cli')
>>> [row.template_id for row in list_templates(con)], delete(con, "guide"), get(con, "guide")
(['guide'], True, None)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import duckdb

from cible.store.runs import TRAITS
from cible.store.sql import quote

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS templates (
      template_id VARCHAR, definition VARCHAR, updated_at TIMESTAMP, updated_by VARCHAR
    )
    """,
)


class TemplateRow(NamedTuple):
    """One stored template: its validated definition as JSON, and who saved it when."""

    template_id: str
    definition: str
    updated_at: datetime
    updated_by: str


class CustomerContext(NamedTuple):
    """What a message is rendered from: profile, latest traits, open memberships."""

    profile: dict[str, Any]
    traits: dict[str, Any]
    segments: list[str]


def save(
    con: duckdb.DuckDBPyConnection, template_id: str, definition: str, *, at: datetime, actor: str
) -> None:
    """Create or replace the template ``template_id``."""
    con.execute("DELETE FROM templates WHERE template_id = ?", [template_id])
    con.execute("INSERT INTO templates VALUES (?, ?, ?, ?)", [template_id, definition, at, actor])


def delete(con: duckdb.DuckDBPyConnection, template_id: str) -> bool:
    """Remove a template; whether it existed."""
    rows = con.execute("DELETE FROM templates WHERE template_id = ?", [template_id]).fetchall()
    return bool(rows[0][0])


def get(con: duckdb.DuckDBPyConnection, template_id: str) -> TemplateRow | None:
    """The stored template ``template_id``, or None."""
    rows = con.execute(
        "SELECT template_id, definition, updated_at, updated_by FROM templates "
        "WHERE template_id = ?",
        [template_id],
    ).fetchall()
    return TemplateRow(*rows[0]) if rows else None


def list_templates(con: duckdb.DuckDBPyConnection) -> list[TemplateRow]:
    """Every stored template, by id."""
    rows = con.execute(
        "SELECT template_id, definition, updated_at, updated_by FROM templates ORDER BY template_id"
    ).fetchall()
    return [TemplateRow(*row) for row in rows]


def customer_context(
    con: duckdb.DuckDBPyConnection, customer_id: str, fields: Sequence[str]
) -> CustomerContext | None:
    """``fields`` of one customer's profile, their latest traits and open memberships.

    None when no customer has that id. Traits are empty before the first run or for a
    customer imported since. Only the profile ``fields`` named are read: a field left
    out (a special-category one) never leaves the database.
    """
    columns = ", ".join(quote(name) for name in ("customer_id", *fields))
    cursor = con.execute(f"SELECT {columns} FROM customers WHERE customer_id = ?", [customer_id])
    rows = cursor.fetchall()
    if not rows:
        return None
    names = [d[0] for d in cursor.description or ()]
    profile = dict(zip(names, rows[0], strict=True))
    traits: dict[str, Any] = {}
    if _exists(con, TRAITS):
        cursor = con.execute(f"SELECT * FROM {quote(TRAITS)} WHERE customer_id = ?", [customer_id])
        found = cursor.fetchall()
        if found:
            traits = dict(zip([d[0] for d in cursor.description or ()], found[0], strict=True))
    segments = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT segment_id FROM segment_memberships "
            "WHERE customer_id = ? AND exited_at IS NULL ORDER BY segment_id",
            [customer_id],
        ).fetchall()
    ]
    return CustomerContext(profile, traits, segments)


def segment_sample(con: duckdb.DuckDBPyConnection, segment_id: str, limit: int) -> list[str]:
    """The first ``limit`` current members of ``segment_id``, by customer id."""
    rows = con.execute(
        "SELECT DISTINCT customer_id FROM segment_memberships "
        "WHERE segment_id = ? AND exited_at IS NULL ORDER BY customer_id LIMIT ?",
        [segment_id, limit],
    ).fetchall()
    return [row[0] for row in rows]


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [table]
    ).fetchall()
    return bool(rows)
