"""One transaction helper for every multi-statement write: all or nothing, real errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cible.domain.errors import WorkspaceError
from cible.store.models import save_model
from cible.store.transaction import transaction

SRC = Path(__file__).parents[2] / "src" / "cible"


class FailingCommit:
    """A connection whose COMMIT fails as DuckDB's does on a full disk.

    DuckDB ends the transaction when its commit fails, so the ROLLBACK that follows
    fails with "no transaction is active": the connection does the same.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, error: Exception) -> None:
        self.con = con
        self.error = error

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            self.con.execute("ROLLBACK")
            raise self.error
        return self.con.execute(sql, *args)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")
    yield connection
    connection.close()


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT x FROM t ORDER BY x").fetchall()


def test_disk_full_at_commit_is_one_sentence_and_changes_nothing(con: duckdb.DuckDBPyConnection):
    full = duckdb.IOException('IO Error: Could not write file "x.wal": No space left on device')
    failing: Any = FailingCommit(con, full)
    with pytest.raises(WorkspaceError) as caught, transaction(failing):
        con.execute("INSERT INTO t VALUES (2)")
    assert str(caught.value) == (
        'Disk full while writing the workspace (IO Error: Could not write file "x.wal": '
        "No space left on device); nothing was changed."
    )
    assert caught.value.__cause__ is full
    assert _rows(con) == [(1,)]


def test_other_io_errors_and_memory_are_one_sentence(con: duckdb.DuckDBPyConnection):
    for error, start in [
        (duckdb.IOException("IO Error: Permission denied"), "Could not write the workspace"),
        (duckdb.OutOfMemoryException("Out of Memory Error: failed"), "Out of memory while"),
    ]:
        failing: Any = FailingCommit(con, error)
        with (
            pytest.raises(WorkspaceError, match=f"^{start}.*; nothing was changed[.]$"),
            transaction(failing),
        ):
            con.execute("INSERT INTO t VALUES (2)")
    assert _rows(con) == [(1,)]


def test_a_failing_rollback_does_not_hide_the_original_error(con: duckdb.DuckDBPyConnection):
    class Gone:
        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "ROLLBACK":
                raise duckdb.TransactionException("cannot rollback - no transaction is active")
            return con.execute(sql, *args)

    gone: Any = Gone()
    with pytest.raises(ValueError, match="the real problem") as caught, transaction(gone):
        con.execute("INSERT INTO t VALUES (2)")
        con.execute("ROLLBACK")  # as DuckDB does after some failures
        raise ValueError("the real problem")
    assert any("no transaction is active" in note for note in caught.value.__notes__)


def test_interrupt_and_ordinary_errors_roll_back_and_propagate(con: duckdb.DuckDBPyConnection):
    with pytest.raises(KeyboardInterrupt), transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        raise KeyboardInterrupt
    with pytest.raises(duckdb.ConversionException), transaction(con):
        con.execute("INSERT INTO t VALUES (3)")
        con.execute("INSERT INTO t VALUES ('not a number')")
    assert _rows(con) == [(1,)]
    with transaction(con):
        con.execute("INSERT INTO t VALUES (4)")
    assert _rows(con) == [(1,), (4,)]


def test_store_writes_go_through_it(workspace: Any):

    real = workspace.store.connection
    full = duckdb.IOException("IO Error: No space left on device")
    failing: Any = FailingCommit(real, full)
    with pytest.raises(WorkspaceError, match=r"^Disk full while writing the workspace"):
        save_model(
            failing,
            kind="churn",
            card="{}",
            blob=b"",
            now=datetime(2025, 1, 1),
        )
    assert real.execute("SELECT count(*) FROM models").fetchone() == (0,)


def test_no_hand_written_transaction_is_left_in_the_store():
    others = [
        path.name
        for path in (SRC / "store").glob("*.py")
        if path.name != "transaction.py" and '"ROLLBACK"' in path.read_text(encoding="utf-8")
    ]
    assert others == []
