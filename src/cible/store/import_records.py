"""What an import reads and writes: the file staged and judged, the judged rows handed
over, contact fixes, merged ids and the commit, as methods of the
:class:`~cible.store.store.Store`.

A part of the Store kept in its own module for size, as
:mod:`cible.store.activation_records`: :class:`ImportRecords` is one of the Store's
bases. Where an import holds its rows depends on the Store's engine: the
workspace's DuckDB (in a file of its own for a large file, :mod:`.import_tables`),
or on PostgreSQL an embedded DuckDB that reads and judges the file
(:mod:`.import_scratch`) before the judged rows are handed over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.types as ir

from cible.domain.schema import Table
from cible.store import backend as connection
from cible.store import import_tables, merges, postgres, staging, writer
from cible.store.connected import Connected
from cible.store.fixes import ValueFix, fix_checked, fix_table
from cible.store.import_scratch import ImportScratch


class ImportRecords(Connected):
    """The import part of the Store's methods (see the module's description)."""

    # Set by the Store (see its constructor).
    _backend: Any
    _key: str | None
    _limits: connection.Limits | None
    _hold_into: str | None
    _postgres: postgres.PostgresConnection | None
    _scratch: ImportScratch | None

    def table(self, name: str) -> ir.Table:
        """Table ``name`` (the Store's)."""
        raise NotImplementedError

    def _importing(self) -> duckdb.DuckDBPyConnection:
        """Where an import reads and judges its file: the workspace's DuckDB, or on
        PostgreSQL an embedded one (:mod:`.import_scratch`)."""
        if self._postgres is None:
            return self.connection
        if self._scratch is None:
            self._scratch = ImportScratch(self._limits)
        return self._scratch.connection

    def hand_over(self, name: str) -> ir.Table:
        """Held rows ``name`` where the import writes them: on DuckDB, where they are;
        on PostgreSQL, copied from the import's embedded DuckDB (:mod:`.import_scratch`)
        with the text as read and the refused lines its issues quote, beside merged
        ids, suppressions and the tables. Nothing of the file stays in memory then:
        the next import starts a new scratch."""
        if self._scratch is not None and self._scratch.has(name):
            for handed in (name, staging.STAGE, staging.MALFORMED):
                postgres.copy_into(
                    self._backend.con, handed, self._scratch.rows(handed), temporary=True
                )
            self._scratch.close()
            self._scratch = None
        return self.table(name)

    @contextmanager
    def import_rows(self) -> Iterator[None]:
        """Hold rows in the import's own file while the block runs, not in memory.

        Temporary tables spill to disk uncompressed; an import holds a whole file
        twice (parsed, then judged), so it holds them in a database file beside the
        workspace, compressed, deleted when the block ends (:mod:`.import_tables`). On
        PostgreSQL they are held by the import's embedded DuckDB (:mod:`.import_scratch`).
        """
        if self._postgres is not None:
            yield
            return
        with import_tables.attached(self.connection, self._key) as into:
            previous, self._hold_into = self._hold_into, into
            try:
                yield
            finally:
                self._hold_into = previous

    def valid_date_format(self, layout: str) -> bool:
        """Whether DuckDB's ``strptime`` accepts ``layout``."""
        return staging.valid_date_format(self._importing(), layout)

    def stage_file(
        self,
        readable: Path,
        fmt: staging.FileFormat,
        *,
        delimiter: str | None = None,
        shown_as: Path | None = None,
        rejected_lines: Sequence[staging.LineRejection] = (),
    ) -> staging.Staged:
        """Read a data file into text columns with line numbers (see :mod:`.staging`).

        On PostgreSQL, the file is read by the import's embedded DuckDB.
        """
        staged = staging.stage(
            self._importing(),
            readable,
            fmt,
            delimiter=delimiter,
            shown_as=shown_as,
            rejected_lines=rejected_lines,
        )
        if self._scratch is not None:
            self._scratch.keep(staging.STAGE, staging.MALFORMED)
        return staged

    def fix_checked(self, fixes: list[ValueFix]) -> list[str]:
        """Apply contact fixes to an import's checked rows; return the flagged columns."""
        return fix_checked(self.connection, fixes, into=self._hold_into)

    def fix_table(self, table: Table, fixes: list[ValueFix]) -> dict[str, int]:
        """Apply contact fixes to a stored table; return the rows changed per column."""
        return fix_table(self.connection, table, fixes)

    def stage_merged_ids(self) -> int:
        """Hold merged id -> surviving id for re-imports; return how many ids."""
        return merges.stage_merged_ids(self.connection)

    def commit_import(
        self,
        *,
        table: Table,
        mapped: list[str],
        texts: dict[str, str],
        file: str,
        file_sha256: str,
        kind: str,
        references: list[writer.Reference],
        strict: bool,
        started_at: datetime,
        flags: list[str] | None = None,
        on_step: Callable[[str], None] = lambda step: None,
    ) -> writer.ImportRecord:
        """Write an import's checked rows, issues and log in one transaction."""
        return writer.commit_import(
            self.connection,
            table=table,
            mapped=mapped,
            texts=texts,
            file=file,
            file_sha256=file_sha256,
            kind=kind,
            references=references,
            strict=strict,
            started_at=started_at,
            flags=flags,
            on_step=on_step,
        )
