"""The import use case: detect, stage, check, commit.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> ws = Workspace.create(folder / "ws")
>>> _ = (folder / "c.csv").write_text("customer_id;email\\nC1;a@b.fr\\n;x@y.fr\\n")
>>> result = ws.imports.load("customers", folder / "c.csv")
>>> (result.read, result.loaded, result.rejected)
(2, 1, 1)
>>> ws.close()
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis

from cible.domain.clock import utc_now
from cible.domain.errors import ImportFileError
from cible.domain.progress import Progress as Progress  # the Workspace and demo import it here
from cible.domain.progress import reporter
from cible.domain.registry import FieldRegistry
from cible.domain.schema import FieldType
from cible.importing.mapping import check_kind, informative, resolve_columns
from cible.importing.merged_ids import redirect_merged_ids
from cible.importing.source import inspect_source, stage_source
from cible.importing.suppressed import REASON, reject_suppressed
from cible.importing.validation import ParseOptions, decimal_evidence, judge_rows, parse_rows
from cible.quality.contacts import ContactRules, contact_fixes
from cible.store import writer
from cible.store.import_tables import HOLD_ON_DISK_BEYOND
from cible.store.staging import MALFORMED, STAGE, FileFormat, Staged
from cible.store.store import Store

#: Required fields derived from the row when a file lacks them.
GENERATED = {
    "events": frozenset({"message_id"}),
    "order_lines": frozenset({"line_number"}),
}
#: Longest ``--date-format`` accepted: a real layout is a few directives long.
_MAX_DATE_FORMAT = 100
_STEPS = ("reading", "checking", "recording issues", "merging", "done")


@dataclass(frozen=True)
class ImportOptions:
    """Options of one import; ``None`` means "use cible.toml, else detect".

    Parameters
    ----------
    mapping : dict
        Field -> file column, on top of the mapping in ``cible.toml``; a field mapped
        to ``None`` or ``""`` takes no column.
    date_format : str, optional
        strftime layout of dates.
    decimal : str, optional
        ``auto``, ``.`` or ``,``.
    delimiter, encoding : str, optional
        Override detection.
    strict : bool
        Refuse the whole file on any rejected row.
    """

    mapping: dict[str, str | None] = field(default_factory=dict)
    date_format: str | None = None
    decimal: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class ImportResult(writer.ImportRecord):
    """What an import did; ``read == loaded + rejected`` always holds.

    ``loaded`` rows are ``inserted``, ``updated`` or ``unchanged``; ``flagged`` rows
    are loaded but point at an unknown customer, order or product, hold a contact
    value that is not valid (e-mail, phone, country, postal code), kept as given, or
    carried the id of a merged customer, loaded for its surviving id. A customer row
    with a merged id is rejected (see :mod:`cible.importing.merged_ids`).
    """

    kind: str
    file: str
    columns: dict[str, str]
    ignored_columns: list[str]
    encoding: str
    delimiter: str | None
    #: Tags set from a ``tags`` column of a customers file (see :data:`TagSetter`).
    tags_set: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for ``--json`` output."""
        return asdict(self)


def import_file(
    store: Store,
    registry: FieldRegistry,
    kind: str,
    path: Path,
    options: ImportOptions,
    *,
    config_mapping: dict[str, str],
    config_parse: ParseOptions,
    contact_rules: ContactRules | None = None,
    progress: Progress | None = None,
    shown_as: Path | None = None,
    set_tags: TagSetter | None = None,
) -> ImportResult:
    """Import ``path`` as ``kind`` into the workspace ``store``.

    A customers file's ``tags`` column (names separated by ``;``, ``,`` or ``|``) is
    handed to ``set_tags`` once the rows are stored, when given.

    ``shown_as`` is the name messages and the import log give the file (default
    ``path`` itself): a served workspace reads a copy of the user's file.

    ``progress(step, done, total)`` is called as each step of an import starts.

    Raises
    ------
    ImportFileError
        Wrong file, wrong kind, unmappable columns, or a refusal in strict mode.
    """
    with ExitStack() as held:
        report = reporter(progress)
        shown = path if shown_as is None else shown_as
        table = registry.table_for_kind(kind)
        started = utc_now()
        date_format = (
            config_parse.date_format if options.date_format is None else options.date_format
        )
        _check_options(store, options, date_format)
        report("reading", 0, len(_STEPS) - 1)
        delimiter = {"tab": "\t", "\\t": "\t"}.get(options.delimiter or "", options.delimiter)
        source = inspect_source(
            path, encoding=options.encoding, delimiter=delimiter, shown_as=shown
        )
        staged = stage_source(store, source, shown)
        if staged.rows > HOLD_ON_DISK_BEYOND:
            # Held twice (parsed, judged), a large file's rows go to a compressed file.
            held.enter_context(store.import_rows())
        if staged.rows + staged.malformed == 0:
            raise ImportFileError(f"{shown} holds a header but no rows.")
        if _json_array(source.format, staged, shown):
            raise ImportFileError(
                f"{shown} is not JSON lines: give one JSON object per line, not an array or an "
                "indented document."
            )
        if not staged.columns:
            # Every line rejected before any key was seen: nothing to map, say why.
            first = store.table(MALFORMED).order_by("line").limit(1).execute()
            if first.empty:  # lines such as "{}": valid objects without a single key
                raise ImportFileError(f"{shown}: no line holds a field; give each object its keys.")
            raise ImportFileError(
                f"{shown}: every line was rejected; line {int(first['line'].iloc[0])}: "
                f"{first['reason'].iloc[0]}."
            )
        try:
            match = resolve_columns(
                list(staged.columns),
                table,
                {**config_mapping, **options.mapping},
                path=shown,
                generated=GENERATED.get(table.name, frozenset()),
            )
        except ImportFileError:
            check_kind(staged.columns, table, registry.tables(), shown)
            raise
        if not informative(match, table):
            check_kind(staged.columns, table, registry.tables(), shown)
        mapping = {name: staged.columns[column] for name, column in match.fields.items()}
        staged_columns = set(staged.columns.values())
        report("checking", 1, len(_STEPS) - 1)
        text = store.table(STAGE)
        if table.name == "events" and "message_id" not in mapping:
            text, mapping = _with_content_ids(text, mapping)
        if table.name == "order_lines" and "line_number" not in mapping:
            text, mapping = _with_line_numbers(text, mapping)
        # Parquet and JSON write numbers with a dot whatever the locale of their author.
        decimal = (
            options.decimal or config_parse.decimal if source.format is FileFormat.CSV else "."
        )
        # The plausible ranges come from cible.toml as they are.
        parse = replace(
            config_parse,
            date_format=date_format,
            decimal=resolve_decimal(text, table, mapping, decimal),
        )
        # Parsing is held before reasons are derived from it, so that each parsing
        # expression runs once: Ibis would otherwise inline it into every reason.
        parsed = store.hold(writer.PARSED, parse_rows(text, table, mapping, parse))
        store.hold(writer.CHECKED, judge_rows(parsed, table, parse))
        # The judged rows are what the import writes: where the tables are.
        checked = store.hand_over(writer.CHECKED)
        flags: list[str] = []
        if table.name == "customers":
            # Only customers: orders and events carry no contact field to normalise.
            flags = store.fix_checked(contact_fixes(checked, contact_rules or ContactRules()))
        # After the fixes: ids of customers merged by `cible dedupe` point at the survivor.
        flags += redirect_merged_ids(store, table)
        # Suppressed ids, e-mails and phones (erased customers among them) are not loaded.
        reject_suppressed(store)
        references = [
            writer.Reference(column, target, registry.table(target).key[0])
            for column, target in table.references.items()
            if column in mapping
        ]
        record = store.commit_import(
            table=table,
            mapped=list(mapping),
            texts={name: column for name, column in mapping.items() if column in staged_columns},
            file=str(path.resolve() if shown_as is None else shown_as),
            file_sha256=_sha256(path),
            kind=table.name,
            references=references,
            strict=options.strict,
            started_at=started,
            flags=flags,
            on_step=lambda step: report(step, _STEPS.index(step), len(_STEPS) - 1),
        )
        store.blank_suppressed_rejects(record.import_id, REASON)
        tags_set = 0
        tag_column_name = _tag_header(match.ignored) if table.name == "customers" else None
        tag_column = None if tag_column_name is None else staged.columns.get(tag_column_name)
        if (
            set_tags is not None
            and tag_column is not None
            and "customer_id" in mapping
            and record.status != "refused"
        ):
            # Only the rows the import accepted: a rejected row's tags are not set either.
            accepted = store.table(writer.CHECKED)
            accepted = accepted.filter(~accepted._rejected).select("_line")
            # Read again: on PostgreSQL the text moved there with the judged rows.
            text = store.table(STAGE)
            cells = text.join(accepted, "_line").select(
                customer_id=text[mapping["customer_id"]].strip(), tags=text[tag_column]
            )
            rows = cells.filter(cells.tags.notnull(), cells.customer_id != "").to_pyarrow()
            tags_set = set_tags(
                list(zip(*(rows.column(c).to_pylist() for c in rows.column_names), strict=True))
            )
        report("done", len(_STEPS) - 1, len(_STEPS) - 1)
        result = ImportResult(
            **asdict(record),
            kind=table.name,
            file=str(path.resolve() if shown_as is None else shown_as),
            columns=match.fields,
            ignored_columns=[c for c in match.ignored if set_tags is None or c != tag_column_name],
            encoding=source.encoding,
            delimiter=source.delimiter,
            tags_set=tags_set,
        )
        if record.status == "refused":
            raise StrictRefusalError(result)
        return result


#: ``set_tags([(customer_id, cell), ...])``: sets the tags of each cell; returns how many.
TagSetter = Callable[[list[tuple[str, str]]], int]


def _tag_header(ignored: list[str]) -> str | None:
    """The ``tags`` header no field was mapped to, if any."""
    return next((header for header in ignored if header.strip().lower() == "tags"), None)


class StrictRefusalError(ImportFileError):
    """``--strict`` refused a file; ``result`` holds the counts and import id."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(
            f"{result.file}: rows with errors made --strict refuse all {result.read} rows; "
            f"see them with `cible rejects --import {result.import_id}`."
        )
        self.result = result


def _check_options(store: Store, options: ImportOptions, date_format: str) -> None:
    """Refuse unusable options before reading anything."""
    if options.decimal not in (None, "auto", ".", ","):
        raise ImportFileError(f"--decimal {options.decimal!r}: use auto, '.' or ','.")
    delimiter = options.delimiter
    if delimiter is not None and delimiter not in ("tab", "\\t") and len(delimiter) != 1:
        raise ImportFileError(
            f"--delimiter {delimiter!r}: give one character, such as ';' or '|', or tab."
        )
    if delimiter is not None and delimiter in ('"', "\n", "\r", "\x00"):
        raise ImportFileError(
            f"--delimiter {delimiter!r} cannot separate values: it quotes or ends them."
        )
    if len(date_format) > _MAX_DATE_FORMAT:
        raise ImportFileError(
            f"--date-format is {len(date_format):,} characters long; a layout such as "
            f"%d/%m/%Y has at most {_MAX_DATE_FORMAT}."
        )
    # A layout without any directive would reject every date, each with a reason.
    if date_format and ("%" not in date_format or not store.valid_date_format(date_format)):
        raise ImportFileError(
            f"--date-format {date_format!r} is not a strftime layout DuckDB reads "
            "(for example %d/%m/%Y or %Y-%m-%d %H:%M:%S)."
        )


def _json_array(fmt: FileFormat, staged: Staged, path: Path) -> bool:
    """A JSON array or indented JSON file: every record was malformed, none staged.

    The start of the file tells: JSON lines whose lines were all rejected for another
    reason (each too long, say) are reported line by line instead.
    """
    if fmt is not FileFormat.JSONL or staged.rows or not staged.malformed:
        return False
    with path.open("rb") as handle:
        start = handle.read(1 << 16).removeprefix(codecs.BOM_UTF8).lstrip()
    return start.startswith(b"[") or start.split(b"\n", 1)[0].strip() == b"{"


def resolve_decimal(text: Any, table: Any, mapping: dict[str, str], decimal: str) -> str:
    """The decimal mark of the staged ``text``: ``decimal`` unless ``auto``, then the one
    the mapped number and amount columns use most (``.`` when there is none)."""
    if decimal != "auto":
        return decimal
    numeric = [
        mapping[f.name]
        for f in table.fields
        if f.type in (FieldType.NUMBER, FieldType.AMOUNT) and f.name in mapping
    ]
    if not numeric:
        return "."
    evidence = decimal_evidence(text, numeric).execute()
    return "," if int(evidence["comma"].iloc[0]) > int(evidence["dot"].iloc[0]) else "."


def _with_content_ids(text: Any, mapping: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """Give events without ``message_id`` a hash of their content, so re-imports match."""
    parts = [text[column].fill_null("\x00") for column in mapping.values()]
    content = ibis.literal("").concat(*[p.concat("\x1f") for p in parts])
    text = text.mutate(_content_id=ibis.literal("sha-").concat(content.hexdigest("sha256")[:32]))
    return text, {**mapping, "message_id": "_content_id"}


def _with_line_numbers(text: Any, mapping: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """Number each order's lines from 1 in file order, so that re-imports match.

    The order id is compared as parsing will read it (spaces around it trimmed).
    """
    order = text[mapping["order_id"]].strip()
    rank = ibis.row_number().over(group_by=order, order_by=text._line) + 1
    text = text.mutate(_line_number=rank.cast("string"))
    return text, {**mapping, "line_number": "_line_number"}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
