"""Row ids numbered from the largest one, safe with several writers.

The Store numbers runs, imports, audit entries, models, merges and the like from the
largest id plus one, inside the transaction that writes the row. DuckDB has one
writer; on PostgreSQL several processes may number at once, so the table's id lock
(a transaction-scoped advisory lock) is taken first: a second writer waits until the
first has committed, then reads its id.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE runs (run_id BIGINT)")
>>> next_id(con, "runs", "run_id")
1
"""

from __future__ import annotations

import duckdb

from cible.store.postgres import is_postgres
from cible.store.sql import fetch_row, quote


def next_id(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """The largest ``column`` of ``table`` plus one (1 for an empty table); call it
    inside the transaction that writes the row."""
    if is_postgres(con):
        con.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ids.' || ?))", [table]
        ).fetchall()
    return int(
        fetch_row(con, f"SELECT coalesce(max({quote(column)}), 0) + 1 FROM {quote(table)}")[0]
    )
