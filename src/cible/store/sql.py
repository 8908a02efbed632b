"""Small helpers for writing SQL text safely inside the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb


def quote(identifier: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal (for names read from files; never executed as SQL)."""
    return "'" + text.replace("'", "''") + "'"


def fetch_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> tuple[Any, ...]:
    """The single row a query returns, consuming the whole result.

    DuckDB refuses new work on a connection whose last result was not read to the
    end, so a query is always fetched completely.
    """
    rows = con.execute(sql, params or []).fetchall()
    if len(rows) != 1:
        raise RuntimeError(f"expected one row, got {len(rows)}")  # a bug in the store
    return tuple(rows[0])
