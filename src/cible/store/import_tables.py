"""Where an import holds its working rows: a database file beside the workspace.

An import holds the file's rows twice before it commits them: parsed (``_parsed``)
and judged (``_checked``: the parsed values plus one reason per field). DuckDB keeps
temporary tables as they are in memory, uncompressed, and spills them so beyond its
memory limit: 200,000,000 events took more than 48 GB of temporary disk before they
were judged. A table of a database file is written in compressed column segments
instead (mostly empty reason columns take next to nothing), so an import's rows are
held in ``<workspace file>.import``, attached for the import (:func:`attached`) and
deleted when it ends. The file holds customers' data: an encrypted workspace's is
encrypted under the same key. A crash may leave it behind; the next import replaces
it.

Nothing is written there inside the import's transaction (DuckDB writes one
database per transaction): the transaction reads the held rows and writes the
workspace, so the file needs no log of its own.

Examples
--------
>>> import duckdb, tempfile
>>> from pathlib import Path
>>> con = duckdb.connect(str(Path(tempfile.mkdtemp()) / "ws.duckdb"))
>>> with attached(con, None) as into:
...     _ = con.execute(f"CREATE TABLE {into}._checked AS SELECT 42 AS answer")
...     con.execute("SELECT answer FROM _checked").fetchall()
[(42,)]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from cible.store.sql import fetch_row, literal, quote

#: Rows of a file beyond which an import holds them in its file (smaller ones stay in
#: temporary tables). Writing compressed costs time: 20,000,000 events under a 6 GB
#: memory limit imported in 111 s held in memory (6.0 GB resident, 1.9 GB of disk at
#: the peak) and in 145 s held in the file (3.6 GB resident, 1.5 GB of disk); at
#: 200,000,000 the temporary tables outgrew 48 GB of disk.
HOLD_ON_DISK_BEYOND = 5_000_000
#: The catalog the import's file is attached as.
CATALOG = "_import"
#: Where :func:`attached` holds nothing on disk (an in-memory workspace).
TEMPORARY = "temp.main"


def scratch_path(database: Path) -> Path:
    """The file an import of ``database`` holds its rows in."""
    return database.with_name(database.name + ".import")


@contextmanager
def attached(con: duckdb.DuckDBPyConnection, key: str | None) -> Iterator[str]:
    """Attach the import's file to ``con`` and yield the schema to create tables in.

    While attached, unqualified names find its tables after the workspace's own (and
    after temporary tables: a table held there is dropped from ``temp`` first, see
    :func:`table_clause`). ``key`` encrypts it as the workspace is. An in-memory
    workspace holds them in temporary tables as before. Whatever happens in the
    block, the file is detached and deleted, and the block's own error is the one
    raised.
    """
    database, path = fetch_row(
        con,
        "SELECT database_name, path FROM duckdb_databases() "
        "WHERE database_name = current_database()",
    )
    if not path:
        yield TEMPORARY
        return
    scratch = scratch_path(Path(path))
    search_path = str(fetch_row(con, "SELECT current_setting('search_path')")[0])
    # One an earlier import could not detach (a server stays up after a failure).
    con.execute(f"DETACH DATABASE IF EXISTS {CATALOG}")
    remove_leftover(Path(path))
    # Its rows live for one import and a crash loses nothing the workspace keeps.
    options = ["RECOVERY_MODE no_wal_writes"]
    if key is not None:
        options.append(f"ENCRYPTION_KEY {literal(key)}")
    con.execute(f"ATTACH {literal(str(scratch))} AS {CATALOG} ({', '.join(options)})")
    try:
        con.execute(f"SET search_path = {literal(f'{quote(database)}.main,{CATALOG}.main')}")
        yield f"{CATALOG}.main"
    finally:
        _detach(con, search_path)
        remove_leftover(Path(path))


def _detach(con: duckdb.DuckDBPyConnection, search_path: str) -> None:
    """Undo :func:`attached`, each step on its own: after a failed import the
    connection may refuse some, and the import's error is the one to report."""
    with suppress(duckdb.Error):
        con.execute(f"SET search_path = {literal(search_path)}")
    with suppress(duckdb.Error):
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]
        ).fetchall():
            # Dropped first: detaching then checkpoints an empty file.
            con.execute(f"DROP TABLE {CATALOG}.main.{quote(name)}")
    with suppress(duckdb.Error):
        con.execute(f"DETACH DATABASE IF EXISTS {CATALOG}")


def remove_leftover(database: Path) -> None:
    """Delete the import file of ``database`` left by a crash (a writable open calls
    it: DuckDB's lock on the workspace means no import is running)."""
    scratch = scratch_path(database)
    for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
        leftover.unlink(missing_ok=True)


def table_clause(con: duckdb.DuckDBPyConnection, name: str, into: str | None) -> str:
    """``TEMP TABLE name``, or with ``into`` (a schema :func:`attached` yielded)
    ``TABLE into.name``, for a ``CREATE OR REPLACE`` of held rows.

    A temporary table of the same name would hide the new one from unqualified
    names: it is dropped.
    """
    if into is None:
        return f"TEMP TABLE {quote(name)}"
    if into != TEMPORARY:
        con.execute(f"DROP TABLE IF EXISTS {TEMPORARY}.{quote(name)}")
    return f"TABLE {into}.{quote(name)}"
