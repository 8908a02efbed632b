"""Message templates as stored data: one row per template, its definition as JSON.

Definitions are validated by :mod:`cible.activation.templates` before they are
saved here; the Store only keeps them.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS templates (
      template_id VARCHAR, definition VARCHAR, updated_at TIMESTAMP, updated_by VARCHAR
    )
    """,
)


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
