"""Small helpers for writing SQL text safely inside the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa


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


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    schema: pa.Schema,
) -> int:
    """Append ``rows`` (mappings with the ``schema``'s columns) to ``table`` in one statement.

    One ``INSERT ... SELECT`` from an Arrow table: thousands of rows cost about what
    one does, where ``executemany`` pays a statement per row.
    """
    if not rows:
        return 0
    data = pa.Table.from_pylist([dict(r) for r in rows], schema=schema)
    name = f"_insert_{table}"
    con.register(name, data)
    try:
        columns = ", ".join(quote(c) for c in schema.names)
        con.execute(f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM {quote(name)}")
    finally:
        con.unregister(name)
    return int(data.num_rows)


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The column names of ``table`` (or temporary table), in order."""
    return [row[0] for row in con.execute(f"DESCRIBE {quote(table)}").fetchall()]


def insert_by_name(
    con: duckdb.DuckDBPyConnection,
    target: str,
    source: str,
    *,
    first: Mapping[str, str] | None = None,
    where: str = "",
    params: Sequence[Any] | None = None,
) -> None:
    """Append the rows of ``source`` to ``target``, column by name, with the columns
    of ``first`` (name -> SQL expression) before them; ``where`` filters the rows.

    DuckDB's ``INSERT ... BY NAME`` written out, so that PostgreSQL runs it too.
    """
    first = dict(first or {})
    names = [name for name in columns_of(con, source) if name not in first]
    columns = ", ".join(quote(name) for name in [*first, *names])
    values = ", ".join([*first.values(), *(quote(name) for name in names)])
    con.execute(
        f"INSERT INTO {quote(target)} ({columns}) SELECT {values} FROM {quote(source)} {where}",
        params or [],
    )


def widen(con: duckdb.DuckDBPyConnection, table: str, source: str) -> list[str]:
    """Add to ``table`` the columns ``source`` has and it lacks (NULL in its rows).

    Traits grow with releases: a table written by an older one (the latest run's
    traits, the snapshots' traits) gains the new columns when rows holding them come.
    Returns the names added.
    """
    have = {row[0] for row in con.execute(f"DESCRIBE {quote(table)}").fetchall()}
    added = []
    for name, dtype, *_ in con.execute(f"DESCRIBE {quote(source)}").fetchall():
        if name not in have:
            con.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)} {dtype}")
            added.append(name)
    return added
