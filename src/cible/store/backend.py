"""Opening the workspace's DuckDB file through Ibis.

The connection is set to UTC so that timestamps with an offset are converted to UTC
on import and timestamps without one are read as UTC, whatever the machine's zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import ibis

from cible.domain.errors import WorkspaceError

DATABASE_FILE = "cible.duckdb"


def connect(database: Path, *, read_only: bool = False) -> Any:
    """Return an Ibis DuckDB backend on ``database``.

    Raises
    ------
    WorkspaceError
        When another process holds the file or the file is not a DuckDB database.
    """
    try:
        backend = ibis.duckdb.connect(str(database), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise WorkspaceError(
                f"The workspace database {database} is in use by another Cible process; "
                "wait for it to finish and try again."
            ) from exc
        raise WorkspaceError(f"Cannot open {database}: {message.splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise WorkspaceError(
            f"{database} is not a readable Cible database: {str(exc).splitlines()[0]}"
        ) from exc
    backend.raw_sql("SET TimeZone = 'UTC'")
    # Tables are keyed, their row order means nothing; dropping it lets DuckDB write
    # from every core. Staging turns it back on while it numbers a file's lines.
    backend.raw_sql("SET preserve_insertion_order = false")
    # DuckDB draws its own bar on the terminal for queries over two seconds (building
    # the indexes of migration 10, say), in the middle of Cible's output and its JSON.
    backend.raw_sql("SET enable_progress_bar = false")
    return backend


def raw(backend: Any) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under an Ibis backend, for the store's own statements."""
    connection: duckdb.DuckDBPyConnection = backend.con
    return connection
