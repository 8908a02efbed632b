"""``ws.imports``: load data files, read the import log and each import's rejects.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "customers.csv").write_text("customer_id,email\\nc1,a@example.com\\n")
>>> with Workspace.create(folder / "shop") as ws:
...     result = ws.imports.load("customers", folder / "customers.csv")
...     (result.loaded, ws.imports.log().count().execute())
(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import ibis.expr.types as ir

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.progress import Progress
from cible.domain.registry import FieldRegistry
from cible.features.objection import objecting_customers
from cible.importing.pipeline import ImportOptions, ImportResult, TagSetter, import_file
from cible.importing.preview import PREVIEW_ROWS, Preview, preview_file
from cible.importing.validation import ParseOptions
from cible.quality.quality import contact_rules
from cible.store.store import Store


class Imports:
    """Data files into the workspace's tables, and what became of each line.

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Tables and fields, custom attributes included.
    config : WorkspaceConfig
        ``[import]`` defaults and mappings, and the contact rules of ``[quality]``.
    set_tags : callable, optional
        Sets the tags of a customers file's ``tags`` column.
    on_objection : callable, optional
        Called with the ids of the customers a consents import made object to
        profiling (sorted), once the rows are stored.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        set_tags: TagSetter | None = None,
        on_objection: Callable[[list[str]], object] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        # Given by the workspace: a customers file's `tags` column is set as tags.
        self._set_tags = set_tags
        # Given by the workspace: re-evaluates at once the customers a consents file
        # makes object to profiling, as `ws.objection.object` does.
        self._on_objection = on_objection

    def load(
        self,
        kind: str,
        path: str | Path,
        *,
        mapping: Mapping[str, str | None] | None = None,
        date_format: str | None = None,
        decimal: str | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        strict: bool = False,
        progress: Progress | None = None,
        shown_as: str | Path | None = None,
    ) -> ImportResult:
        """Import a CSV, Parquet or JSON lines file into table ``kind``.

        A consents file that makes customers object to profiling (a ``profiling``
        record ``denied`` or ``withdrawn``) re-evaluates them at once when the
        workspace gave ``on_objection``: their automated memberships exit now, with
        source ``objection`` in the outbox, not at the next run (docs/privacy.md).

        Parameters
        ----------
        kind : str
            ``customers``, ``orders``, ``order-lines``, ``products``, ``events`` or
            ``consents``.
        path : str or Path
            The file.
        mapping : dict, optional
            Field -> column of the file, on top of ``[import.mappings]``; a field
            mapped to ``None`` or ``""`` is not imported, even from a column bearing
            its name.
        date_format : str, optional
            strftime layout of dates (default: ISO 8601 and dd/mm/yyyy forms).
        decimal : str, optional
            ``auto`` (default), ``.`` or ``,``.
        delimiter, encoding : str, optional
            Override detection.
        strict : bool
            Load nothing if any row is rejected.
        progress : callable, optional
            ``progress(step, done, total)``.
        shown_as : str or Path, optional
            The file's name in messages and the import log, when ``path`` is a copy
            (a served workspace imports a copy of the user's file).

        Returns
        -------
        ImportResult
            Counts; rejected and flagged rows are listed by :meth:`rejects`.
        """
        table = self._registry.table_for_kind(kind)
        options = ImportOptions(
            mapping=dict(mapping or {}),
            date_format=date_format,
            decimal=decimal,
            delimiter=delimiter,
            encoding=encoding,
            strict=strict,
        )
        settings = self._config.import_
        watch = self._on_objection is not None and table.name == "consents"
        before = self._objecting() if watch else set()
        result = import_file(
            self._store,
            self._registry,
            kind,
            Path(path),
            options,
            config_mapping=settings.mappings.get(table.name, {}),
            config_parse=ParseOptions(
                date_format=settings.date_format,
                decimal=settings.decimal,
                max_number=settings.max_number,
                min_date=settings.min_date,
                max_date=settings.max_date,
            ),
            contact_rules=contact_rules(self._config),
            progress=progress,
            shown_as=None if shown_as is None else Path(shown_as),
            set_tags=self._set_tags,
        )
        if watch and result.loaded and self._on_objection is not None:
            started = sorted(self._objecting() - before)
            if started:
                self._on_objection(started)
        return result

    def preview(
        self,
        kind: str,
        path: str | Path,
        *,
        mapping: Mapping[str, str | None] | None = None,
        rows: int = PREVIEW_ROWS,
        shown_as: str | Path | None = None,
    ) -> Preview:
        """What :meth:`load` would read from ``path`` and which columns it would use.

        The same detection and matching as :meth:`load` (``[import]`` settings
        included); the file is read into the import's temporary tables only.

        Parameters
        ----------
        kind : str
            As for :meth:`load`.
        path : str or Path
            The file.
        mapping : dict, optional
            Field -> column of the file, on top of ``[import.mappings]``; a field
            mapped to ``None`` or ``""`` is not imported, even from a column bearing
            its name.
        rows : int
            Rows of the file to return.
        shown_as : str or Path, optional
            The file's name in messages.
        """
        table = self._registry.table_for_kind(kind)
        settings = self._config.import_
        return preview_file(
            self._store,
            self._registry,
            kind,
            Path(path),
            mapping={**settings.mappings.get(table.name, {}), **(mapping or {})},
            decimal=settings.decimal,
            rows=rows,
            shown_as=None if shown_as is None else Path(shown_as),
        )

    def _objecting(self) -> set[str]:
        """Who objects to profiling now: one pass over the ledger's ``profiling``
        records, before and after a consents file, to refresh only those it changed."""
        found = objecting_customers(self._store.table("consents"), utc_now())
        return {str(i) for i in found.to_pyarrow().column(0).to_pylist()}

    def log(self) -> ir.Table:
        """The import log, newest first."""
        log = self._store.table("imports")
        return log.order_by(log.import_id.desc())

    def rejects(self, import_id: int | None = None, *, flagged: bool = True) -> ir.Table:
        """Rejected (and, unless ``flagged=False``, flagged) rows of an import.

        Parameters
        ----------
        import_id : int, optional
            Defaults to the latest import of each file.
        """
        issues = self._store.table("import_issues")
        if import_id is None:
            log = self._store.table("imports")
            latest = log.group_by(log.file).aggregate(import_id=log.import_id.max())
            issues = issues.semi_join(latest, ["file", "import_id"])
        else:
            issues = issues.filter(issues.import_id == import_id)
        if not flagged:
            issues = issues.filter(issues.severity == "rejected")
        return issues.order_by([issues.import_id, issues.line, issues.column_name])
