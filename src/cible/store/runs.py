"""Writing a run: traits, memberships with their history, and the run log.

A run is one transaction: the traits table is replaced, memberships that ended are
closed (``exited_at``), new ones opened (``entered_at``), and the run recorded. A
crash leaves the previous run's state whole. A clustering saved between runs writes
its members through the same diff (:func:`reassign_dimension`), so entering and
leaving a segment is decided in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import duckdb
import ibis
import ibis.expr.operations as ops

from cible.store import import_tables, indexes, outbox, persona_cards, snapshots
from cible.store.ids import next_id
from cible.store.postgres import PostgresConnection, hold_history, is_postgres, read_only
from cible.store.sql import fetch_row, insert_by_name, literal, quote, widen
from cible.store.transaction import transaction

TRAITS = "customer_traits"
MEMBERS = "_members"
#: Each segment's figures (size, revenue, shares) at the latest run, so that pages
#: read them instead of joining every membership with the traits (about 2 s on
#: 1,000,000 customers). Created by the first run that writes it.
FIGURES = "segment_figures"


@dataclass(frozen=True)
class RunRecord:
    """Counts of a stored run."""

    run_id: int
    as_of: datetime
    customers: int
    segments: int
    memberships: int
    entered: int
    exited: int
    notes: str = ""


def stage_frame(
    con: duckdb.DuckDBPyConnection, name: str, frame: Any, *, into: str | None = None
) -> None:
    """Hold a pandas or Arrow table computed in Python as temporary table ``name``
    (with ``into``, a table of that schema, see :mod:`.import_tables`)."""
    target = import_tables.table_clause(con, name, into)
    con.register("_python_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE {target} AS FROM _python_frame")
    finally:
        con.unregister("_python_frame")


#: The row number a paged table is read by (:func:`stage_pages`).
PAGE_ROW = "_page_row"


def stage_pages(con: duckdb.DuckDBPyConnection, expr: Any, name: str) -> int:
    """Hold the rows of ``expr`` as temporary table ``name``, numbered from 0 in
    :data:`PAGE_ROW`, and return how many there are.

    Rows are numbered as they are inserted, so that each page read back by its
    numbers lies in a few row groups and DuckDB skips the others.
    """
    stage_expression(con, expr, "_page_source")
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS "
            f"SELECT row_number() OVER () - 1 AS {PAGE_ROW}, * FROM _page_source"
        )
    finally:
        con.execute("SET preserve_insertion_order = false")
        con.execute("DROP TABLE _page_source")
    return int(fetch_row(con, f"SELECT count(*) FROM {quote(name)}")[0])


def append_frame(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    """Add the rows of a pandas or Arrow table to temporary table ``name``."""
    con.register("_python_frame", frame)
    try:
        insert_by_name(con, name, "_python_frame")
    finally:
        con.unregister("_python_frame")


def stage_expression(
    con: duckdb.DuckDBPyConnection, expr: Any, name: str, *, into: str | None = None
) -> None:
    """Hold the rows of Ibis expression ``expr`` as temporary table ``name`` (with
    ``into``, a table of that schema, see :mod:`.import_tables`).

    SQL text names the literal tables (``ibis.memtable``) an expression reads, such
    as the long ``in`` lists of a segment, without holding their rows: they are
    registered on the connection for the statement, then dropped.
    """
    if is_postgres(con):
        cast(PostgresConnection, con).create_as(name, expr)
        return
    target = import_tables.table_clause(con, name, into)
    literal_tables = {op.name: op for op in expr.op().find(ops.InMemoryTable)}
    for table_name, op in literal_tables.items():
        con.register(table_name, op.data.to_pyarrow(op.schema))
    try:
        con.execute(f"CREATE OR REPLACE {target} AS {ibis.to_sql(expr, dialect='duckdb')}")
    finally:
        for table_name in literal_tables:
            con.unregister(table_name)


#: The transitions of a run, on their way to the outbox.
MOVES = "_run_transitions"
#: Segments added or changed since the latest run recorded: no run has evaluated them
#: yet, so their members are found, not entering, and automations hear nothing of them.
UNEVALUATED = """
SELECT segment_id FROM segments
WHERE updated_at > coalesce((SELECT max(finished_at) FROM runs), TIMESTAMP '0001-01-01')
"""


def unevaluated_segments(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ids of :data:`UNEVALUATED`."""
    return {row[0] for row in con.execute(UNEVALUATED).fetchall()}


def commit_run(
    con: duckdb.DuckDBPyConnection,
    *,
    traits_table: str,
    as_of: datetime,
    started_at: datetime,
    finished_at: datetime,
    segments: int,
    notes: str = "",
    outbox_source: str | None = None,
    snapshot: bool = False,
) -> RunRecord:
    """Replace the traits and update membership history from ``_members``, atomically.

    ``traits_table`` is the temporary table holding this run's traits; ``_members``
    (``segment_id, dimension, customer_id``) must already hold this run's
    memberships (:meth:`cible.store.store.Store.commit_run` holds them). With
    ``outbox_source``, the run's transitions also go to the outbox, in the same
    transaction, for automations. With ``snapshot``, the run's traits and memberships
    are also kept as a snapshot (:mod:`cible.store.snapshots`), in the same transaction.
    """
    # A first run enters every membership at once (50,000,000 for 10,000,000
    # customers): the history's index goes before the transaction and is built after
    # its commit, not key by key.
    first = fetch_row(
        con, "SELECT NOT EXISTS (FROM runs) AND NOT EXISTS (FROM segment_memberships)"
    )[0]
    new_rows = int(fetch_row(con, f"SELECT count(*) FROM {MEMBERS}")[0]) if first else 0
    with (
        indexes.dropped_for_bulk_write(con, "segment_memberships", rows=new_rows),
        transaction(con),
    ):
        hold_history(con)
        run_id = next_id(con, "runs", "run_id")
        # Sorted by customer, as imports are: a table beyond the indexes' memory
        # budget is read by its zone maps (see indexes).
        con.execute(
            f"CREATE OR REPLACE TABLE {quote(TRAITS)} AS "
            f"FROM {quote(traits_table)} ORDER BY customer_id"
        )
        entered, exited = _update_history(con, run_id=run_id, as_of=as_of)
        if outbox_source is not None:
            _run_transitions(con, run_id=run_id, at=as_of, source=outbox_source)
        customers = int(fetch_row(con, f"SELECT count(*) FROM {quote(TRAITS)}")[0])
        memberships = int(fetch_row(con, f"SELECT count(*) FROM {MEMBERS}")[0])
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                as_of,
                started_at,
                finished_at,
                customers,
                segments,
                memberships,
                entered,
                exited,
                notes,
            ],
        )
        if snapshot:
            snapshots.write_snapshot(
                con,
                traits_table=traits_table,
                members_table=MEMBERS,
                as_of=as_of,
                taken_at=finished_at,
                origin="run",
                run_id=run_id,
                in_transaction=True,
            )
    # Replacing the table dropped its index; live refreshes need it back. Built after
    # the commit, on the stored rows, in parallel (see indexes.dropped_for_bulk_write).
    indexes.build_missing(con, [TRAITS])
    return RunRecord(run_id, as_of, customers, segments, memberships, entered, exited, notes)


def _run_transitions(
    con: duckdb.DuckDBPyConnection, *, run_id: int, at: datetime, source: str
) -> None:
    # Called before this run is recorded: UNEVALUATED reads the previous one, so a
    # segment this run evaluates for the first time tells automations nothing.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {MOVES} AS
        WITH fresh AS ({UNEVALUATED})
        SELECT customer_id, segment_id, dimension, 'exited' AS transition
        FROM segment_memberships WHERE exited_run = ?
          AND segment_id NOT IN (SELECT segment_id FROM fresh)
        UNION ALL
        SELECT customer_id, segment_id, dimension, 'entered'
        FROM segment_memberships WHERE entered_run = ?
          AND segment_id NOT IN (SELECT segment_id FROM fresh)
        """,
        [run_id, run_id],
    )
    outbox.append_transitions(con, MOVES, at=at, source=source)
    con.execute(f"DROP TABLE {MOVES}")


def save_figures(con: duckdb.DuckDBPyConnection, run_id: int, held: str) -> None:
    """Make the figures held in temporary table ``held`` those of run ``run_id``."""
    con.execute(
        f"CREATE OR REPLACE TABLE {FIGURES} AS SELECT ?::BIGINT AS run_id, * FROM {quote(held)}",
        [run_id],
    )


def add_figures(con: duckdb.DuckDBPyConnection, held: str) -> None:
    """Add the figures held in ``held`` (segments saved since the latest run, a
    clustering say) to that run's; nothing when that run kept none, or read-only."""
    if read_only(con):
        return
    if not _has_figures(con):
        return
    insert_by_name(
        con,
        FIGURES,
        held,
        first={"run_id": "(SELECT max(run_id) FROM runs)"},
        where=f"WHERE segment_id NOT IN (SELECT segment_id FROM {FIGURES} "
        "WHERE run_id = (SELECT max(run_id) FROM runs))",
    )


def stored_figures(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The figures of the latest run by segment id; empty when that run stored none."""
    if not _has_figures(con):
        return {}
    cursor = con.execute(f"SELECT * FROM {FIGURES} WHERE run_id = (SELECT max(run_id) FROM runs)")
    columns = [c[0] for c in cursor.description or ()]
    return {row[1]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _has_figures(con: duckdb.DuckDBPyConnection) -> bool:
    found = fetch_row(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [FIGURES])
    return bool(found[0])


def _forget_figures(con: duckdb.DuckDBPyConnection, dimension: str) -> None:
    """Drop the stored figures and kept persona cards of ``dimension``'s segments, old
    and new: their members change without a run (figures are computed from the
    memberships until the next one, cards drawn again)."""
    changed = (
        f"SELECT segment_id FROM segment_memberships WHERE dimension = {literal(dimension)} "
        f"UNION SELECT segment_id FROM {MEMBERS}"
    )
    if _has_figures(con):
        con.execute(f"DELETE FROM {FIGURES} WHERE segment_id IN ({changed})")
    persona_cards.forget_cards(con, changed)


def reassign_dimension(con: duckdb.DuckDBPyConnection, dimension: str) -> int:
    """Make ``_members`` the open memberships of ``dimension`` at the latest run.

    Runs inside the caller's transaction (a new clustering is saved with its members,
    :func:`cible.store.clusters.save_clustering`). Memberships of the dimension that
    ``_members`` no longer holds are closed at the latest run; the others enter at it.
    Returns the number of members.
    """
    run_id, as_of = fetch_row(con, "SELECT run_id, as_of FROM runs ORDER BY run_id DESC LIMIT 1")
    _forget_figures(con, dimension)
    _update_history(con, run_id=run_id, as_of=as_of, dimension=dimension)
    return int(fetch_row(con, f"SELECT count(*) FROM {MEMBERS}")[0])


def _update_history(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: int,
    as_of: datetime,
    dimension: str | None = None,
) -> tuple[int, int]:
    """Diff ``_members`` against the open memberships; returns (entered, exited).

    Open memberships that ``_members`` no longer holds are closed at ``run_id``
    (``exited_at = as_of``); those it holds that are not open enter at it. With
    ``dimension``, only that dimension's memberships may close: a clustering saved
    between runs replaces its own dimension and leaves the others as the run left
    them. The caller holds the transaction.
    """
    in_dimension = "" if dimension is None else "AND m.dimension = ?"
    exited = int(
        fetch_row(
            con,
            f"""
            UPDATE segment_memberships m SET exited_at = ?, exited_run = ?
            WHERE m.exited_at IS NULL {in_dimension} AND NOT EXISTS (
              SELECT 1 FROM {MEMBERS} n
              WHERE n.segment_id = m.segment_id AND n.customer_id = m.customer_id)
            """,
            [as_of, run_id] if dimension is None else [as_of, run_id, dimension],
        )[0]
    )
    entered = int(
        fetch_row(
            con,
            f"""
            INSERT INTO segment_memberships
            SELECT n.segment_id, n.dimension, n.customer_id, ?, ?, NULL, NULL
            FROM {MEMBERS} n
            WHERE NOT EXISTS (
              SELECT 1 FROM segment_memberships m
              WHERE m.exited_at IS NULL AND m.segment_id = n.segment_id
                AND m.customer_id = n.customer_id)
            ORDER BY n.customer_id
            """,
            [run_id, as_of],
        )[0]
    )
    return entered, exited


@dataclass(frozen=True)
class LiveRecord:
    """Counts of a live refresh: customers re-evaluated, transitions written."""

    customers: int
    entered: int
    exited: int


def commit_live(
    con: duckdb.DuckDBPyConnection,
    *,
    ids: Sequence[str],
    traits_table: str,
    at: datetime,
    source: str,
) -> LiveRecord:
    """Store a live refresh of the customers ``ids``, atomically.

    ``traits_table`` holds their traits and ``_members`` (``segment_id, dimension,
    customer_id``) their memberships now. Their rows of the traits table are
    replaced; their open memberships that ``_members`` lacks close at ``at``, those it
    adds open at ``at``, both with a NULL run (no run made them); each transition is
    also written to the outbox, in the same transaction. Other customers are left as
    they are.

    Every statement names the customers by the list ``ids`` (a parameter), never by a
    join with another table: DuckDB then reads their rows through the ``customer_id``
    indexes (:mod:`cible.store.indexes`) instead of scanning the traits and the whole
    membership history.
    """
    wanted = "(SELECT unnest(?::VARCHAR[]))"
    listed = [list(ids)]
    with transaction(con):
        hold_history(con)
        _widen_traits(con, traits_table)
        con.execute(f"DELETE FROM {quote(TRAITS)} WHERE customer_id IN {wanted}", listed)
        insert_by_name(con, TRAITS, traits_table)
        # The customers' whole history first, by id alone: with a second condition
        # (exited_at IS NULL) DuckDB scans the table instead of using the index.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _live_stays AS
            SELECT rowid AS row_id, customer_id, segment_id, dimension, exited_at
            FROM segment_memberships WHERE customer_id IN {wanted}
            """,
            listed,
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _live_transitions AS
            SELECT m.row_id, m.customer_id, m.segment_id, m.dimension, 'exited' AS transition
            FROM _live_stays m
            WHERE m.exited_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM {MEMBERS} n
                WHERE n.segment_id = m.segment_id AND n.customer_id = m.customer_id)
            UNION ALL
            SELECT NULL, n.customer_id, n.segment_id, n.dimension, 'entered'
            FROM {MEMBERS} n
            WHERE NOT EXISTS (
              SELECT 1 FROM _live_stays m
              WHERE m.exited_at IS NULL AND m.segment_id = n.segment_id
                AND m.customer_id = n.customer_id)
            """
        )
        # Closed by row id, found above in this transaction: no scan of the history.
        exited = int(
            fetch_row(
                con,
                """
                UPDATE segment_memberships SET exited_at = ?
                WHERE rowid IN (
                  SELECT row_id FROM _live_transitions WHERE transition = 'exited')
                """,
                [at],
            )[0]
        )
        entered = int(
            fetch_row(
                con,
                """
                INSERT INTO segment_memberships
                  (segment_id, dimension, customer_id, entered_run, entered_at, exited_run,
                   exited_at)
                SELECT segment_id, dimension, customer_id, NULL, ?, NULL, NULL
                FROM _live_transitions WHERE transition = 'entered'
                """,
                [at],
            )[0]
        )
        # Automations hear of a segment's transitions once a run evaluated it.
        con.execute(f"DELETE FROM _live_transitions WHERE segment_id IN ({UNEVALUATED})")
        outbox.append_transitions(con, "_live_transitions", at=at, source=source)
        customers = len(ids)
    con.execute("DROP TABLE IF EXISTS _live_transitions")
    con.execute("DROP TABLE IF EXISTS _live_stays")
    return LiveRecord(customers, entered, exited)


def _widen_traits(con: duckdb.DuckDBPyConnection, traits_table: str) -> None:
    """Give the traits table the columns of traits added since the latest run wrote it.

    DuckDB alters no table with an index: the customer index is dropped and built
    again, once, in the caller's transaction.
    """
    have = {row[0] for row in con.execute(f"DESCRIBE {quote(TRAITS)}").fetchall()}
    new = {row[0] for row in con.execute(f"DESCRIBE {quote(traits_table)}").fetchall()}
    if new <= have:
        return
    with indexes.suspended(con, TRAITS, rows=indexes.REBUILD_BEYOND + 1):
        widen(con, TRAITS, traits_table)


def save_segment(
    con: duckdb.DuckDBPyConnection,
    *,
    segment_id: str,
    kind: str,
    dimension: str | None,
    priority: int,
    definition: str,
    now: datetime,
) -> bool:
    """Insert or replace a segment definition; returns True when it was new."""
    with transaction(con):
        existing = con.execute(
            "SELECT created_at FROM segments WHERE segment_id = ?", [segment_id]
        ).fetchall()
        created = existing[0][0] if existing else now
        con.execute("DELETE FROM segments WHERE segment_id = ?", [segment_id])
        con.execute(
            "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
            [segment_id, kind, dimension, priority, definition, created, now],
        )
    return not existing


def delete_segment(con: duckdb.DuckDBPyConnection, segment_id: str) -> bool:
    """Remove a segment definition; its open memberships close at the next run."""
    found = con.execute(
        "SELECT count(*) FROM segments WHERE segment_id = ?", [segment_id]
    ).fetchall()[0][0]
    con.execute("DELETE FROM segments WHERE segment_id = ?", [segment_id])
    return bool(found)
