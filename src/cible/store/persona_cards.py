"""Persona cards kept for the latest run, so that a segment's page does not draw its
card again on every view.

Drawing a card reads a sample of the base and the members' orders, consents and
memberships: about 4 s on 1,000,000 customers. The first card drawn for a segment
after a run is kept with that run's id and the key of the settings it used
(``[personas]``, ``[playbook]``, the time zone); a later run, other settings, or a
clustering saved since (:func:`cible.store.runs.reassign_dimension`) make it be drawn
again. Created by the first card kept; a read-only workspace keeps none.
"""

from __future__ import annotations

import duckdb

from cible.store.postgres import read_only
from cible.store.sql import fetch_row

CARDS = "persona_cards"


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    found = fetch_row(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [CARDS])
    return bool(found[0])


def kept_card(con: duckdb.DuckDBPyConnection, segment_id: str, key: str) -> str | None:
    """The JSON card of ``segment_id`` kept for the latest run with settings ``key``."""
    if not _exists(con):
        return None
    rows = con.execute(
        f"SELECT card FROM {CARDS} WHERE segment_id = ? AND settings = ? "
        "AND run_id = (SELECT max(run_id) FROM runs)",
        [segment_id, key],
    ).fetchall()
    return str(rows[0][0]) if rows else None


def keep_card(con: duckdb.DuckDBPyConnection, segment_id: str, key: str, card: str) -> None:
    """Keep the JSON ``card`` of ``segment_id`` for the latest run; cards of earlier
    runs go. A workspace opened read-only keeps nothing."""
    if read_only(con):
        return
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {CARDS} "
        "(run_id BIGINT, segment_id VARCHAR, settings VARCHAR, card VARCHAR)"
    )
    con.execute(
        f"DELETE FROM {CARDS} WHERE segment_id = ? OR run_id < (SELECT max(run_id) FROM runs)",
        [segment_id],
    )
    con.execute(
        f"INSERT INTO {CARDS} SELECT max(run_id), ?, ?, ? FROM runs", [segment_id, key, card]
    )


def forget_cards(con: duckdb.DuckDBPyConnection, segment_ids: str) -> None:
    """Drop the kept cards of the segments ``segment_ids`` (a query giving their ids)."""
    if _exists(con):
        con.execute(f"DELETE FROM {CARDS} WHERE segment_id IN ({segment_ids})")
