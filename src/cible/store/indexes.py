"""Indexes that let a live refresh read one customer's rows without scanning a table.

A live refresh (:mod:`cible.segments.live`) re-evaluates the few customers a
micro-batch touched. Without an index, restricting ``events`` or ``orders`` to them
scans the whole table: about 1.2 s and 0.55 s on 20,000,000 events and 10,000,000
orders. DuckDB answers ``customer_id IN (<a list>)`` through an ART index in a few
milliseconds while the matching rows stay under ``index_scan_max_count`` or
``index_scan_percentage`` of the table, so every table a refresh reads by customer
(and ``order_lines`` by order) carries one.

They cost disk and write time: on 1,000,000 customers, 10,000,000 orders and
20,000,000 events they add about 1.5 GB to the file, and bulk inserts into an indexed
table run about twice as slow (docs/performance.md). The batch run does not need them,
but a workspace is meant to be served, and keeping them current is cheaper than
building them on every start.

They cost memory too, and DuckDB cannot spill them: every part of an ART a look-up
has read stays in memory, counted in ``memory_limit``, until the database closes. A
server's random look-ups read all of it in the end: 25 to 50 bytes a row, 1.5 GB for
the tables of 10,000,000 orders, about 15 GB for 100,000,000, where a 6 GB limit ran
out and live refreshes failed. So the indexes are given a budget, half of DuckDB's
memory limit (:data:`INDEX_SHARE`), smallest table first; a table beyond it has none
and is read by its zone maps instead: imports write every per-customer table sorted
by customer (:func:`cluster_column`), so each row group covers a narrow range of ids
and a look-up of a few customers reads the few row groups that can hold them (20 of
163 for 20 customers among 20,000,000 events: 50 ms, against a 0.6 s scan unsorted).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR)")
>>> create_indexes(con)
['orders_customer_id_idx']
>>> create_indexes(con)
[]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import duckdb

from cible.domain.config import size_bytes
from cible.store.postgres import is_postgres
from cible.store.sql import quote

_log = logging.getLogger(__name__)

#: ``(table, column)`` pairs read by customer (or order) during a live refresh.
CUSTOMER_INDEXES: tuple[tuple[str, str], ...] = (
    ("customers", "customer_id"),
    ("orders", "customer_id"),
    ("order_lines", "order_id"),
    ("events", "customer_id"),
    ("consents", "customer_id"),
    ("segment_memberships", "customer_id"),
    ("customer_traits", "customer_id"),
)


#: The share of DuckDB's memory limit the customer indexes may fill together.
INDEX_SHARE = 0.5
#: Memory an ART takes per indexed row, at most, as measured on the tables of
#: 10,000,000 orders (25 B for events, 50 B for consents; short text ids).
ART_BYTES_PER_ROW = 50


def index_name(table: str, column: str) -> str:
    """The name of the index on ``table.column``."""
    return f"{table}_{column}_idx"


def cluster_column(table: str) -> str | None:
    """The column ``table``'s rows are read by during a live refresh (and sorted by
    on import), or None for a table not read by customer."""
    return next((c for t, c in CUSTOMER_INDEXES if t == table), None)


def within_budget(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of :data:`CUSTOMER_INDEXES` whose indexes fit in the budget.

    Smallest table first, each estimated at :data:`ART_BYTES_PER_ROW`, until
    :data:`INDEX_SHARE` of DuckDB's memory limit is spent.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> _ = con.execute("SET memory_limit = '1GB'")
    >>> _ = con.execute("CREATE TABLE customers AS SELECT 'c1' AS customer_id")
    >>> _ = con.execute("CREATE TABLE events AS SELECT 'c1' AS customer_id FROM range(20_000_000)")
    >>> sorted(within_budget(con))
    ['customers']
    """
    wanted = {table for table, _ in CUSTOMER_INDEXES}
    if is_postgres(con):
        # PostgreSQL's B-trees live on disk, read a page at a time: no memory budget.
        return wanted
    shown = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    limit = size_bytes(shown)
    if limit is None:
        # Not a size this code reads: keep every index rather than drop them all.
        _log.warning("DuckDB's memory limit %r is not a size: the indexes get no budget", shown)
        return wanted
    budget = INDEX_SHARE * limit
    sizes = sorted(
        (int(rows), name)
        for name, rows in con.execute(
            "SELECT table_name, estimated_size FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall()
        if name in wanted
    )
    fitting = set()
    for rows, name in sizes:
        budget -= rows * ART_BYTES_PER_ROW
        if budget < 0:
            break
        fitting.add(name)
    return fitting


def create_indexes(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str] | None = None
) -> list[str]:
    """Create the missing indexes of :data:`CUSTOMER_INDEXES` (or of ``tables`` only)
    that fit in the budget (:func:`within_budget`); drop those that no longer do.

    Tables that do not exist yet (``customer_traits`` before the first run) are
    skipped. Returns the names of the indexes created.
    """
    wanted = None if tables is None else set(tables)
    existing = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    present = {row[0] for row in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    fitting = within_budget(con)
    created = []
    for table, column in CUSTOMER_INDEXES:
        name = index_name(table, column)
        if (wanted is not None and table not in wanted) or table not in existing:
            continue
        if table not in fitting:
            if name in present:
                _log.info("Dropping %s: the table outgrew the indexes' memory budget", name)
                con.execute(f"DROP INDEX {quote(name)}")
            continue
        if name in present:
            continue
        # IF NOT EXISTS: another process sharing a PostgreSQL workspace may build it too.
        con.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})")
        created.append(name)
    return created


#: Rows written at once beyond which an index is dropped and built again: keeping an
#: ART current costs about 20 µs a deleted row and doubles insert time, while
#: building it on 10,000,000 rows takes about 4 s.
REBUILD_BEYOND = 200_000


@contextmanager
def dropped_for_bulk_write(con: duckdb.DuckDBPyConnection, table: str, rows: int) -> Iterator[None]:
    """Without ``table``'s customer index while the block writes ``rows`` rows, if
    large; built again after the block, which opens and commits its own transaction.

    The index is dropped before the block's transaction, committed on its own: at
    commit, DuckDB appends a transaction's new rows one key at a time, on one core, to
    every index the table had when the transaction began, even one the transaction
    dropped (3,000,000 rows: a 3.0 s commit against 0.16 s; 200,000,000 events: over
    10 minutes, unfinished). Built after the commit, the index reads the stored rows
    in parallel; it is built again whether the block committed or failed. A crash in
    between leaves the data whole and the index missing: the next writable open
    builds it (:func:`create_indexes` in the migrations).
    """
    dropped = drop_customer_indexes(con, table, rows)
    try:
        yield
    finally:
        if dropped:
            build_missing(con, [table])


def drop_customer_indexes(con: duckdb.DuckDBPyConnection, table: str, rows: int) -> list[str]:
    """Drop ``table``'s customer indexes when ``rows`` exceeds :data:`REBUILD_BEYOND`;
    return their names."""
    names = [index_name(t, c) for t, c in CUSTOMER_INDEXES if t == table]
    present = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    dropped = [n for n in names if n in present] if rows > REBUILD_BEYOND else []
    for name in dropped:
        con.execute(f"DROP INDEX {quote(name)}")
    return dropped


def build_missing(con: duckdb.DuckDBPyConnection, tables: Iterable[str] | None = None) -> None:
    """:func:`create_indexes`, after a commit or on open, without failing what is done.

    The data are already committed: an index that cannot be built (DuckDB builds an
    ART in memory, and a tight ``[engine] memory_limit`` may not hold it) only makes
    live refreshes scan the table, so it is logged, not raised, and the next writable
    open tries again.
    """
    try:
        create_indexes(con, tables)
    except duckdb.Error as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _log.warning(
            "A customer index could not be built (%s); live refreshes scan the table "
            "until the next open builds it. If memory ran out, raise [engine] "
            "memory_limit in cible.toml.",
            detail,
        )


@contextmanager
def suspended(con: duckdb.DuckDBPyConnection, table: str, rows: int) -> Iterator[None]:
    """Drop ``table``'s customer index for a write of ``rows`` rows, if large; rebuild it.

    Used inside the writer's transaction, around a change DuckDB makes to no indexed
    table (adding columns): a failure rolls the drop back with the rest.
    """
    dropped = drop_customer_indexes(con, table, rows)
    yield
    if dropped:
        create_indexes(con, [table])
