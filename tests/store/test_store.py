"""The Store's own state: a database DuckDB invalidated after a fatal error."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cible.store.store import Store


def invalidate(store: Store) -> None:
    """Make DuckDB invalidate the database, as an out-of-memory commit does.

    DuckDB's debug setting aborts the next checkpoint with a fatal error: the same
    state, reached on purpose.
    """
    con = store.connection
    # A change to write, or the checkpoint has nothing to do and does not abort.
    con.execute("CREATE OR REPLACE TABLE _before_the_fatal_error AS SELECT 1 AS x")
    con.execute("SET debug_checkpoint_abort = 'before_header'")
    with pytest.raises(duckdb.FatalException):
        con.execute("CHECKPOINT")


def test_a_fatal_error_leaves_the_store_invalidated_and_a_new_open_finds_its_rows(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "cible.duckdb")
    store.connection.execute("CREATE TABLE kept (x INTEGER)")
    store.connection.execute("INSERT INTO kept VALUES (1)")
    assert not store.invalidated()
    invalidate(store)
    assert store.invalidated()
    store.close()
    again = Store.open(tmp_path / "cible.duckdb")
    assert not again.invalidated()
    assert again.connection.execute("SELECT x FROM kept").fetchall() == [(1,)]
    again.close()
