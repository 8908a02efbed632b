"""A private in-memory DuckDB database, for libraries that compute in SQL themselves.

Splink scores candidate pairs in its own database. It is not the workspace: nothing
written there is kept, and pages that do not fit in memory spill to the system's
temporary folder, never to the current directory. Its connection is made here
because ``store/`` is the one package that opens DuckDB connections.

Examples
--------
>>> with scratch_database() as con:
...     con.execute("SELECT 42").fetchone()
(42,)
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

#: Where scratch databases spill, under the system's temporary folder.
SPILL_FOLDER = "cible-scratch"


@contextmanager
def scratch_database() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty in-memory DuckDB connection, closed when the block ends."""
    spill = Path(tempfile.gettempdir()) / SPILL_FOLDER
    con = duckdb.connect(":memory:", config={"temp_directory": str(spill)})
    try:
        yield con
    finally:
        con.close()
