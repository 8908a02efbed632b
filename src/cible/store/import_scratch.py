"""Where a workspace held in PostgreSQL reads and judges a file: an embedded DuckDB.

An import reads a file (``read_csv``, ``read_json``, ``read_parquet``) and judges
every value with DuckDB functions that PostgreSQL lacks (``try_strptime`` with a list
of layouts, ``json_valid``, ``strip_accents``). On PostgreSQL the Store does both in
an in-memory DuckDB of its own, the :class:`ImportScratch`: the staged text
(``_stage``), the lines refused while reading (``_malformed``) and the parsed rows
stay there; the judged rows (``_checked``), what the import writes, are handed to
PostgreSQL with ``COPY``, where merged ids, the suppression list and the canonical
tables are. DuckDB spills what memory cannot hold to its temporary folder.

Examples
--------
>>> import ibis
>>> scratch = ImportScratch()
>>> text = scratch.hold("_parsed", ibis.memtable({"a": [1, 2]}))
>>> scratch.holds(text), scratch.table("_parsed").count().execute()
(True, 2)
>>> scratch.close()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.types as ir
import pyarrow as pa

from cible.store import backend as connection
from cible.store import runs


class ImportScratch:
    """An in-memory DuckDB holding an import's text and parsed rows by name, held to
    ``limits`` (``[engine]`` of ``cible.toml``), beyond which it spills to disk."""

    def __init__(self, limits: connection.Limits | None = None) -> None:
        self._backend = connection.connect(Path(":memory:"), limits=limits)
        self._names: set[str] = set()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection staging reads files with."""
        return connection.raw(self._backend)

    def keep(self, *names: str) -> None:
        """Note tables that staging made here, read through :meth:`table`."""
        self._names.update(names)

    def has(self, name: str) -> bool:
        """Whether ``name`` is held here rather than in the database."""
        return name in self._names

    def holds(self, rows: Any) -> bool:
        """Whether Ibis expression ``rows`` reads tables held here."""
        return isinstance(rows, ir.Table) and rows._find_backend() is self._backend

    def table(self, name: str) -> ir.Table:
        """Held table ``name`` as an Ibis expression."""
        return self._backend.table(name)

    def hold(self, name: str, rows: ir.Table) -> ir.Table:
        """Compute ``rows`` here into temporary table ``name``."""
        runs.stage_expression(self.connection, rows, name)
        self._names.add(name)
        return self.table(name)

    def rows(self, name: str) -> pa.RecordBatchReader:
        """The rows of ``name``, a batch at a time (to hand them over)."""
        return self.connection.sql(f'FROM "{name}"').to_arrow_reader(100_000)

    def close(self) -> None:
        """Drop everything held."""
        self._backend.disconnect()
