"""A private in-memory DuckDB database, for libraries that compute in SQL themselves.

Splink scores candidate pairs in its own database. It is not the workspace: nothing
written there is kept, and pages that do not fit in memory spill to the system's
temporary folder, never to the current directory. Those pages hold the profiles being
matched (names, e-mails, phones): for an encrypted workspace they are encrypted
(DuckDB's ``temp_file_encryption``, AES-256-GCM under a key DuckDB draws for the
connection and never writes), with the same cryptography as the workspace's own file
(:func:`cible.store.backend.load_crypto`). Its connection is made here because
``store/`` is the one package that opens DuckDB connections.

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

from cible.store.backend import load_crypto

#: Where scratch databases spill, under the system's temporary folder.
SPILL_FOLDER = "cible-scratch"


@contextmanager
def scratch_database(
    *, encrypted: bool = False, config: dict[str, str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty in-memory DuckDB connection, closed when the block ends.

    Parameters
    ----------
    encrypted : bool
        The workspace is encrypted: what spills to disk is encrypted too.
    config : dict, optional
        More DuckDB settings (``memory_limit``...).

    Raises
    ------
    WorkspaceError
        When ``encrypted`` and DuckDB has no cryptography to write with.
    """
    spill = Path(tempfile.gettempdir()) / SPILL_FOLDER
    con = duckdb.connect(":memory:", config={**(config or {}), "temp_directory": str(spill)})
    try:
        if encrypted:
            load_crypto(con, "the encrypted workspace's scratch files")
            con.execute("SET temp_file_encryption = true")
        yield con
    finally:
        con.close()
