"""One transaction on the workspace database: all of its writes or none.

Every write the store makes in several statements runs inside :func:`transaction`.
It exists because a hand-written ``BEGIN`` / ``COMMIT`` / ``ROLLBACK`` gets two
things wrong when the disk fills up: DuckDB has already ended a transaction whose
``COMMIT`` failed, so the ``ROLLBACK`` fails in turn ("no transaction is active") and
its error hides the real one; and the real one is a DuckDB traceback where the user
needs one sentence.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE t (x INTEGER)")
>>> with transaction(con):
...     _ = con.execute("INSERT INTO t VALUES (1)")
>>> try:
...     with transaction(con):
...         _ = con.execute("INSERT INTO t VALUES (2)")
...         raise KeyError("stop")
... except KeyError:
...     pass
>>> con.execute("SELECT count(*) FROM t").fetchone()
(1,)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from cible.domain.errors import WorkspaceError

# DuckDB's words for a full disk, whichever exception class carries them.
_DISK_FULL = ("no space left on device", "disk is full", "disk full")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block's statements as one transaction on ``con``.

    On success the transaction is committed. On any exception, including
    :class:`KeyboardInterrupt` and a failing ``COMMIT``, it is rolled back and the
    original exception propagates; a rollback that fails too (DuckDB ends a
    transaction whose commit failed) is noted on it, never raised instead of it.

    Raises
    ------
    WorkspaceError
        When DuckDB cannot write the workspace (disk full, I/O error, out of
        memory): one sentence, chained to DuckDB's error; nothing was changed.
    """
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            yield
            con.execute("COMMIT")
        except BaseException as failure:
            _roll_back(con, failure)
            raise
    except (duckdb.IOException, duckdb.OutOfMemoryException) as exc:
        raise WorkspaceError(write_failure(exc)) from exc
    except duckdb.Error as exc:
        if not _disk_full(exc):
            raise
        raise WorkspaceError(write_failure(exc)) from exc


def write_failure(exc: BaseException) -> str:
    """The sentence shown when DuckDB could not write the workspace."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if _disk_full(exc):
        what = "Disk full while writing the workspace"
    elif isinstance(exc, duckdb.OutOfMemoryException):
        what = "Out of memory while writing the workspace"
    else:
        what = "Could not write the workspace"
    return f"{what} ({detail}); nothing was changed."


def _disk_full(exc: BaseException) -> bool:
    message = str(exc).lower()
    return any(words in message for words in _DISK_FULL)


def _roll_back(con: duckdb.DuckDBPyConnection, failure: BaseException) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as exc:
        # DuckDB already rolled back a transaction whose COMMIT failed.
        failure.add_note(f"(The rollback after this error failed too: {exc})")
