"""Snapshots: every customer's traits and memberships as of a moment, kept.

The live tables hold the present (``customer_traits``) and the membership history;
a snapshot freezes both at one ``as_of`` so that two moments can be compared long
after: migrations, stability and drift read them. A snapshot is written in one
transaction (its row in ``snapshots``, its traits, its memberships), so a crash
leaves none of it. Snapshots come from a run (``origin = 'run'``, the scheduled
runs of the server among them) or from a replay of the past that leaves the live
tables untouched (``'replay'``, ``'backfill'``).

The traits table follows the traits of the release that wrote each snapshot: a
trait added later gets its column when the first snapshot holding it is written
(older snapshots read NULL there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from cible.store.ids import next_id
from cible.store.sql import fetch_row, insert_by_name, quote, widen
from cible.store.transaction import transaction

SNAPSHOTS = "snapshots"
TRAITS = "snapshot_traits"
MEMBERS = "snapshot_members"

CREATE = (
    f"""
    CREATE TABLE IF NOT EXISTS {SNAPSHOTS} (
        snapshot_id INTEGER PRIMARY KEY, as_of TIMESTAMP NOT NULL, taken_at TIMESTAMP NOT NULL,
        origin VARCHAR NOT NULL, run_id INTEGER, customers BIGINT NOT NULL,
        memberships BIGINT NOT NULL
    )
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {MEMBERS} (
        snapshot_id INTEGER NOT NULL, segment_id VARCHAR NOT NULL, dimension VARCHAR,
        customer_id VARCHAR NOT NULL
    )
    """,
    # Traits get their columns from the first snapshot written (see widen).
    f"CREATE TABLE IF NOT EXISTS {TRAITS} (snapshot_id INTEGER NOT NULL)",
)


@dataclass(frozen=True)
class SnapshotRow:
    """One stored snapshot."""

    snapshot_id: int
    as_of: datetime
    taken_at: datetime
    origin: str
    run_id: int | None
    customers: int
    memberships: int


def write_snapshot(
    con: duckdb.DuckDBPyConnection,
    *,
    traits_table: str,
    members_table: str,
    as_of: datetime,
    taken_at: datetime,
    origin: str,
    run_id: int | None = None,
    replace: bool = False,
    in_transaction: bool = False,
) -> SnapshotRow:
    """Store the rows of two held tables as a snapshot, in one transaction.

    ``traits_table`` holds one row per customer (``customer_id`` and traits),
    ``members_table`` the memberships (``segment_id, dimension, customer_id``).
    With ``replace``, a snapshot already stored as of the same moment is replaced
    (a backfill run twice keeps one per moment). With ``in_transaction``, the caller
    holds the transaction (a run and its snapshot are one).
    """
    if not in_transaction:
        with transaction(con):
            return write_snapshot(
                con,
                traits_table=traits_table,
                members_table=members_table,
                as_of=as_of,
                taken_at=taken_at,
                origin=origin,
                run_id=run_id,
                replace=replace,
                in_transaction=True,
            )
    if replace:
        for row in con.execute(
            f"SELECT snapshot_id FROM {SNAPSHOTS} WHERE as_of = ?", [as_of]
        ).fetchall():
            _delete(con, int(row[0]))
    snapshot_id = next_id(con, SNAPSHOTS, "snapshot_id")
    widen(con, TRAITS, traits_table)
    insert_by_name(con, TRAITS, traits_table, first={"snapshot_id": "?"}, params=[snapshot_id])
    con.execute(
        f"""
        INSERT INTO {MEMBERS}
        SELECT ?, segment_id, dimension, customer_id FROM {quote(members_table)}
        """,
        [snapshot_id],
    )
    customers = int(fetch_row(con, f"SELECT count(*) FROM {quote(traits_table)}")[0])
    memberships = int(fetch_row(con, f"SELECT count(*) FROM {quote(members_table)}")[0])
    con.execute(
        f"INSERT INTO {SNAPSHOTS} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [snapshot_id, as_of, taken_at, origin, run_id, customers, memberships],
    )
    return SnapshotRow(snapshot_id, as_of, taken_at, origin, run_id, customers, memberships)


def list_snapshots(con: duckdb.DuckDBPyConnection) -> list[SnapshotRow]:
    """Every stored snapshot, oldest moment first."""
    rows = con.execute(
        f"""
        SELECT snapshot_id, as_of, taken_at, origin, run_id, customers, memberships
        FROM {SNAPSHOTS} ORDER BY as_of, snapshot_id
        """
    ).fetchall()
    return [SnapshotRow(*row) for row in rows]


def delete_snapshot(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> bool:
    """Remove a snapshot with its rows; returns False when there was none."""
    with transaction(con):
        return _delete(con, snapshot_id)


def _delete(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> bool:
    found = fetch_row(con, f"SELECT count(*) FROM {SNAPSHOTS} WHERE snapshot_id = ?", [snapshot_id])
    for table in (TRAITS, MEMBERS, SNAPSHOTS):
        con.execute(f"DELETE FROM {table} WHERE snapshot_id = ?", [snapshot_id])
    return bool(found[0])
