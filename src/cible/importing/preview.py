"""What an import would read from a file, before importing it: the preview of a mapping.

The file is read exactly as :func:`cible.importing.pipeline.import_file` reads it (the
same detection of format, encoding and separator, the same staging, the same matching
of columns and choice of decimal mark), so that what a person checks is what the import
will do; nothing is written but the import's own temporary tables.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> path = folder / "clients.csv"
>>> _ = path.write_text("Identifiant client;Courriel;Prénom\\nC1;a@b.fr;Ann\\n", "utf-8")
>>> with Workspace.create(folder / "shop") as ws:
...     seen = ws.imports.preview("customers", path)
>>> seen.delimiter, seen.mapping, seen.missing
(';', {'email': 'Courriel', 'first_name': 'Prénom'}, ['customer_id'])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cible.domain.errors import ImportFileError
from cible.domain.registry import FieldRegistry
from cible.importing.mapping import match_columns, missing_fields
from cible.importing.pipeline import GENERATED, resolve_decimal
from cible.importing.source import inspect_source, stage_source
from cible.store.staging import STAGE, FileFormat
from cible.store.store import Store

#: Rows a preview shows.
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class Preview:
    """The start of a file as an import reads it, and the columns it would use.

    Attributes
    ----------
    kind, table : str
        The kind of file asked for, and its table.
    format, encoding : str
        As detected (``csv``, ``parquet``, ``jsonl``; ``utf-8``, ``cp1252``...).
    delimiter : str or None
        A CSV file's separator.
    decimal : str
        The decimal mark numbers are read with (``.`` or ``,``).
    columns : list of str
        The file's columns, in order.
    rows : list of dict
        The first rows: ``line`` (in the file) and ``values`` (text, one per column).
    records, malformed : int
        Records read, and records that could not even be split into fields.
    fields : list of str
        The table's fields, any of which a column may be mapped to.
    mapping : dict
        Field -> column, as the import would map them.
    missing : list of str
        Required fields without a column: the import would refuse the file.
    """

    kind: str
    table: str
    format: str
    encoding: str
    delimiter: str | None
    decimal: str
    columns: list[str]
    rows: list[dict[str, Any]]
    records: int
    malformed: int
    fields: list[str]
    mapping: dict[str, str]
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def preview_file(
    store: Store,
    registry: FieldRegistry,
    kind: str,
    path: Path,
    *,
    mapping: dict[str, str | None],
    decimal: str,
    rows: int = PREVIEW_ROWS,
    shown_as: Path | None = None,
) -> Preview:
    """Read ``path`` as an import of ``kind`` would, and say what it would map.

    Parameters
    ----------
    mapping : dict
        Field -> column, the explicit mapping (``cible.toml``'s, then the user's); a
        field mapped to ``None`` or ``""`` takes no column.
    decimal : str
        ``auto``, ``.`` or ``,`` (``auto`` decides from the mapped number columns).
    rows : int
        Rows to return.
    shown_as : Path, optional
        The file's name in messages (default ``path``).

    Raises
    ------
    ImportFileError
        A file that cannot be read, holds no rows, or a mapping that names an unknown
        field or column (as the import would say).
    """
    shown = path if shown_as is None else shown_as
    table = registry.table_for_kind(kind)
    source = inspect_source(path, shown_as=shown)
    staged = stage_source(store, source, shown)
    if not staged.columns or staged.rows + staged.malformed == 0:
        raise ImportFileError(f"{shown} holds no row with fields to import.")
    columns = list(staged.columns)
    fields = match_columns(columns, table, mapping, path=shown)
    text = store.table(STAGE)
    first = text.order_by("_line").limit(rows).to_pyarrow().to_pylist()
    stage_mapping = {name: staged.columns[column] for name, column in fields.items()}
    mark = decimal if source.format is FileFormat.CSV else "."
    return Preview(
        kind=kind,
        table=table.name,
        format=source.format.value,
        encoding=source.encoding,
        delimiter=source.delimiter,
        decimal=resolve_decimal(text, table, stage_mapping, mark),
        columns=columns,
        rows=[
            {"line": row["_line"], "values": [row[staged.columns[c]] for c in columns]}
            for row in first
        ],
        records=staged.rows,
        malformed=staged.malformed,
        fields=list(table.names),
        mapping=fields,
        missing=missing_fields(fields, table, GENERATED.get(table.name, frozenset())),
    )
