"""Reading a file into a temporary table of text columns, line numbers kept.

Everything is read as text so that no value is lost to a failed cast: parsing and
its reasons belong to :mod:`cible.importing.validation`. Records the reader cannot
even split into fields (wrong number of columns, broken quotes, invalid JSON) go to
the ``_malformed`` table with their line and the reader's message.

Line numbers count records, the header being line 1 (a quoted value spanning
several physical lines counts once), as DuckDB's reject tables do; Parquet rows are
numbered from 1. Lines rejected before reading (see :class:`LineRejection`) replace
the records they fall in.

Limits: a line (a record, for a quoted value spanning lines) holds at most
:data:`MAX_LINE_BYTES` bytes of UTF-8; a file at most :data:`MAX_COLUMNS` columns.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cible.domain.errors import ImportFileError
from cible.store.sql import fetch_row, literal, quote

STAGE = "_stage"
MALFORMED = "_malformed"
#: Longest line (or quoted record) read, in bytes of UTF-8; DuckDB's ``max_line_size``.
MAX_LINE_BYTES = 10_000_000
#: Most columns a file may have: a header of separators only, or JSON lines with a
#: different key on each line, would otherwise build a table of that many columns.
MAX_COLUMNS = 2_000
#: Longest column name (or JSON key) read, in characters.
MAX_NAME_CHARS = 1_000
# Characters a column name never holds: they would act on the terminal showing it.
# The same pattern serves Python's re and DuckDB's RE2.
_CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
_BAD_KEY = (
    f"a key of the line cannot be a column name: longer than {MAX_NAME_CHARS:,} characters "
    "or holding control characters"
)


class LineRejection(NamedTuple):
    """A line of a text file rejected before any reader saw it.

    Attributes
    ----------
    line : int
        Line number in the file, the first line being 1.
    value : str
        The start of the line, as shown in ``cible rejects``.
    reason : str
        Why the line was not read.
    """

    line: int
    value: str
    reason: str


def widen_csv_field_limit() -> None:
    """Let Python's csv module read values as long as DuckDB's lines.

    Its default limit, 131,072 characters, would raise on a long cell. The limit is
    process-wide; it is only ever raised.
    """
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES)


class FileFormat(StrEnum):
    """File formats Cible imports."""

    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


@dataclass(frozen=True)
class Staged:
    """What :func:`stage` left in temporary tables.

    Attributes
    ----------
    columns : dict
        Column name in the file -> text column of ``_stage``.
    rows : int
        Records staged (blank JSON lines excluded).
    malformed : int
        Records that could not be split into fields.
    """

    columns: dict[str, str]
    rows: int
    malformed: int


def stage(
    con: duckdb.DuckDBPyConnection,
    readable: Path,
    fmt: FileFormat,
    *,
    delimiter: str | None = None,
    shown_as: Path | None = None,
    rejected_lines: Sequence[LineRejection] = (),
) -> Staged:
    """Read ``readable`` into ``_stage`` (``_line`` plus text columns) and ``_malformed``.

    ``shown_as`` is the path named in error messages (the user's file when
    ``readable`` is a transcoded copy). ``rejected_lines`` go to ``_malformed`` in
    place of the records holding them, whatever the reader made of those.
    """
    con.execute(f"DROP VIEW IF EXISTS {STAGE}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MALFORMED} "
        "(line BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
    )
    shown = shown_as or readable
    # Row ids of the tables read here must follow the file's order: they give lines.
    con.execute("SET preserve_insertion_order = true")
    try:
        with _literal_path(readable) as plain:
            path = literal(str(plain))
            if fmt is FileFormat.CSV:
                columns = _stage_csv(con, readable, path, delimiter or ",", shown)
            elif fmt is FileFormat.JSONL:
                columns = _stage_jsonl(con, path, shown)
            else:
                columns = _stage_parquet(con, plain, path, shown)
            if rejected_lines:
                _reject_lines(con, rejected_lines)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise ImportFileError(f"{shown} could not be read: {first}") from exc
    finally:
        con.execute("SET preserve_insertion_order = false")
    rows = _count(con, STAGE)
    malformed = _count(con, MALFORMED)
    return Staged(columns, rows, malformed)


def valid_date_format(con: duckdb.DuckDBPyConnection, layout: str) -> bool:
    """Whether DuckDB's strptime accepts ``layout`` (it raises on unknown codes)."""
    try:
        con.execute("SELECT try_strptime('2024-01-01', ?)", [layout]).fetchall()
    except duckdb.Error:
        return False
    return True


@contextmanager
def _literal_path(path: Path) -> Iterator[Path]:
    """A name DuckDB will not expand as a glob: ``orders[1].csv`` must not read ``orders1.csv``."""
    if not set(str(path)) & set("*?[]{}"):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="cible-link-"))
    try:
        link = folder / ("data" + "".join(c for c in path.suffix if c.isalnum() or c == "."))
        link.symlink_to(path.resolve())
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(fetch_row(con, f"SELECT count(*) FROM {table}")[0])


def _reject_lines(con: duckdb.DuckDBPyConnection, rejected: Sequence[LineRejection]) -> None:
    """Put each record holding a rejected line in ``_malformed``, out of ``_stage``.

    A rejected line inside a quoted value spanning lines rejects the record it belongs
    to: the last record starting at or before it. Its reason replaces the reader's,
    which is about the defused copy, not the file.
    """
    lines = pa.table(
        {
            "line": pa.array([r.line for r in rejected], pa.int64()),
            "value": pa.array([r.value for r in rejected], pa.string()),
            "reason": pa.array([r.reason for r in rejected], pa.string()),
        }
    )
    con.register("_rejected_lines", lines)
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _rejected_records AS
            SELECT coalesce(r.record, b.line) AS line, arg_min(b.value, b.line) AS value,
                   string_agg(b.reason, '; ' ORDER BY b.line) AS reason
            FROM _rejected_lines b ASOF LEFT JOIN (
                SELECT _line AS record FROM {STAGE} UNION SELECT line FROM {MALFORMED}
            ) r ON b.line >= r.record
            GROUP BY ALL
            """
        )
    finally:
        con.unregister("_rejected_lines")
    con.execute(f"DELETE FROM {MALFORMED} WHERE line IN (SELECT line FROM _rejected_records)")
    con.execute(f"INSERT INTO {MALFORMED} SELECT line, NULL, value, reason FROM _rejected_records")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _stage_kept AS SELECT * FROM {STAGE} "
        "WHERE _line NOT IN (SELECT line FROM _rejected_records)"
    )
    con.execute(f"DROP VIEW {STAGE}")
    con.execute(f"CREATE TEMP VIEW {STAGE} AS SELECT * FROM _stage_kept")


def _header(readable: Path, delimiter: str, shown: Path) -> list[str]:
    widen_csv_field_limit()
    with readable.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline(MAX_LINE_BYTES + 2)
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return _column_names([name.strip() or f"column_{i + 1}" for i, name in enumerate(names)], shown)


def _column_names(names: list[str], shown: Path, *, fold_case: bool = False) -> list[str]:
    """``names`` when every one is unique and plain, else one sentence saying which are not.

    With ``fold_case``, names differing only in case count as one, as for DuckDB.
    """
    _check_width(len(names), shown)
    control = re.compile(_CONTROL_CHARACTERS)
    for position, name in enumerate(names, start=1):
        if len(name) > MAX_NAME_CHARS:
            raise ImportFileError(
                f"{shown}: the name of column {position} is {len(name):,} characters long; "
                f"a column name has at most {MAX_NAME_CHARS:,}."
            )
        if control.search(name):
            raise ImportFileError(
                f"{shown}: the name of column {position} holds control characters "
                f"({ascii(name)[:60]}); rename it and import again."
            )
    folded = Counter(n.lower() if fold_case else n for n in names)
    if len(folded) != len(names):
        seen = sorted({n for n in names if folded[n.lower() if fold_case else n] > 1})
        raise ImportFileError(f"{shown}: the header repeats column(s) {', '.join(seen)}.")
    return names


def _check_width(columns: int, shown: Path) -> None:
    if columns > MAX_COLUMNS:
        raise ImportFileError(
            f"{shown} has {columns:,} columns; Cible reads at most {MAX_COLUMNS:,}."
        )


def _stage_csv(
    con: duckdb.DuckDBPyConnection, readable: Path, path: str, delimiter: str, shown: Path
) -> dict[str, str]:
    names = _header(readable, delimiter, shown)
    staged = {name: f"c{i}" for i, name in enumerate(names)}
    types = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in staged.values())
    delim = literal(delimiter)
    con.execute("DROP TABLE IF EXISTS _csv_errors")
    con.execute("DROP TABLE IF EXISTS _csv_scans")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _rows AS
            SELECT * FROM read_csv({path}, delim={delim}, header=true, quote='"', escape='"',
                auto_detect=false, columns={{{types}}}, store_rejects=true,
                rejects_table='_csv_errors', rejects_scan='_csv_scans',
                max_line_size={MAX_LINE_BYTES})
            """
        )
    except duckdb.InvalidInputException:
        # DuckDB's fast reader gives up on a few legal oddities (a lone carriage
        # return inside quotes); Python's csv module reads them, slowly but surely.
        _stage_csv_slowly(con, readable, delimiter, list(staged.values()), shown)
        return staged
    con.execute(
        f"""
        INSERT INTO {MALFORMED}
        SELECT line, NULL, left(arg_min(csv_line, error_type), 200),
               string_agg(DISTINCT CASE
                 WHEN error_message ILIKE '%unterminated quote%' THEN
                   'unterminated quote: the rest of the file from this line was read as '
                   || 'one value; close the quote and import again'
                 WHEN error_type = 'LINE SIZE OVER MAXIMUM' THEN
                   {literal(_too_long_record())}
                 ELSE regexp_replace(error_message,
                   'Expected Number of Columns: (\\d+) Found: (\\d+).*',
                   'expected \\1 columns, found \\2') END, '; ')
        FROM _csv_errors GROUP BY line
        """
    )
    records = _count(con, "_rows") + _count(con, MALFORMED)
    swallowed = fetch_row(
        con, "SELECT count(*) FROM _csv_errors WHERE error_message ILIKE '%unterminated quote%'"
    )[0]
    if not swallowed and records + 1 != _physical_lines(readable):
        # Blank lines (skipped uncounted) or values spanning lines make DuckDB's record
        # numbers drift from the file's lines; Python's reader counts physical lines.
        con.execute(f"DELETE FROM {MALFORMED}")
        _stage_csv_slowly(con, readable, delimiter, list(staged.values()), shown)
        return staged
    # Good records are numbered by their rank in the file; each malformed record
    # before one shifts it down by a line. Malformed record j (1-based, by line m_j)
    # is preceded by m_j - 1 - j good records.
    shift = "0"
    if _count(con, MALFORMED):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _shifts AS
            SELECT line - 1 - row_number() OVER (ORDER BY line) AS good_before FROM {MALFORMED}
            """
        )
        shift = "(SELECT count(*) FROM _shifts WHERE good_before <= r.rowid)"
    con.execute(
        f"CREATE TEMP VIEW {STAGE} AS SELECT r.rowid + 2 + {shift} AS _line, r.* FROM _rows r"
    )
    return staged


def _physical_lines(path: Path) -> int:
    """Lines of the file as an editor counts them, blank lines at the very end excepted."""
    count, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            count += chunk.count(b"\n")
            tail = (tail + chunk)[-4096:]
    trailing = tail[len(tail.rstrip(b"\r\n")) :].count(b"\n")
    return count - trailing + 1


def _too_long_record() -> str:
    return (
        f"record longer than {MAX_LINE_BYTES:,} bytes, the most Cible reads "
        "(a quote left open makes the next lines part of one value)"
    )


def _stage_csv_slowly(
    con: duckdb.DuckDBPyConnection,
    readable: Path,
    delimiter: str,
    columns: list[str],
    shown: Path,
) -> None:
    """Stage a CSV file with Python's reader; lines are exact physical line numbers."""
    widen_csv_field_limit()
    lines: list[int] = []
    values: list[list[str | None]] = [[] for _ in columns]
    malformed: list[tuple[int, str, str]] = []
    with readable.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        try:
            for record in reader:
                if record:
                    if len(record) == len(columns):
                        lines.append(start)
                        for column, value in zip(values, record, strict=True):
                            column.append(value)
                    else:
                        text = delimiter.join(record)[:200]
                        reason = f"expected {len(columns)} columns, found {len(record)}"
                        malformed.append((start, text, reason))
                start = reader.line_num + 1
        except csv.Error as exc:
            # Only a value over the field limit stops Python's reader: the rest of the
            # file cannot be split into records.
            raise ImportFileError(f"{shown}, line {start}: {_too_long_record()}.") from exc
    rows = pa.table(
        {"_line": pa.array(lines, pa.int64())}
        | {
            name: pa.array(column, pa.string())
            for name, column in zip(columns, values, strict=True)
        }
    )
    con.register("_python_rows", rows)
    con.execute("CREATE OR REPLACE TEMP TABLE _rows AS SELECT * FROM _python_rows")
    con.unregister("_python_rows")
    if malformed:
        con.executemany(f"INSERT INTO {MALFORMED} VALUES (?, NULL, ?, ?)", malformed)
    con.execute(f"CREATE TEMP VIEW {STAGE} AS SELECT * FROM _rows")


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: str, shown: Path) -> dict[str, str]:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT doc FROM read_csv({path}, columns={{'doc': 'VARCHAR'}},
            delim='\x01', quote='', escape='', header=false, auto_detect=false,
            max_line_size={MAX_LINE_BYTES})
        """
    )
    # The table's row ids follow the file's order; the reader itself has none.
    con.execute("CREATE OR REPLACE TEMP TABLE _raw AS SELECT rowid + 1 AS _line, doc FROM _lines")
    con.execute("DROP TABLE _lines")
    con.execute("DELETE FROM _raw WHERE doc IS NULL OR trim(doc) = ''")
    con.execute(
        f"""
        INSERT INTO {MALFORMED}
        SELECT _line, NULL, left(doc, 200), reason FROM (
            SELECT _line, doc, CASE
                WHEN NOT json_valid(doc) THEN 'not valid JSON'
                WHEN json_type(doc) <> 'OBJECT' THEN 'a JSON line must be an object'
                WHEN len(list_filter(keys, lambda k: length(k) > {MAX_NAME_CHARS}
                                     OR regexp_matches(k, {literal(_CONTROL_CHARACTERS)}))) > 0
                  THEN {literal(_BAD_KEY)}
                WHEN len(keys) > len(list_distinct(keys)) THEN 'the line repeats key(s) '
                  || array_to_string(list_sort(list_distinct(
                       list_filter(keys, lambda k, i: list_position(keys, k) < i))), ', ')
                  || ': each key must appear once'
            END AS reason
            FROM (SELECT _line, doc, CASE WHEN json_valid(doc) AND json_type(doc) = 'OBJECT'
                         THEN json_keys(doc) END AS keys FROM _raw)
        ) WHERE reason IS NOT NULL
        """
    )
    keys = con.execute(
        f"SELECT DISTINCT unnest(json_keys(doc)) AS k FROM _raw "
        f"WHERE _line NOT IN (SELECT line FROM {MALFORMED}) ORDER BY k"
    ).fetchall()
    _check_width(len(keys), shown)
    staged = {str(k): f"c{i}" for i, (k,) in enumerate(keys)}
    extracts = "".join(
        f", json_extract_string(doc, {literal(_json_path(key))}) AS {quote(col)}"
        for key, col in staged.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _rows AS
        SELECT _line{extracts} FROM _raw
        WHERE _line NOT IN (SELECT line FROM {MALFORMED}) ORDER BY _line
        """
    )
    con.execute("DROP TABLE _raw")
    con.execute(f"CREATE TEMP VIEW {STAGE} AS SELECT * FROM _rows")
    return staged


def _json_path(key: str) -> str:
    """JSON Pointer selecting top-level member ``key`` whatever characters it holds.

    A pointer, not a JSONPath: ``$.""`` (the empty key) is a syntax error in DuckDB.
    """
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, plain: Path, path: str, shown: Path
) -> dict[str, str]:
    # DuckDB renames repeated columns (``a``, ``a_1``) and takes names differing only
    # in case for one: the file's own schema tells what it holds.
    try:
        names = pq.read_schema(plain).names
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportFileError(f"{shown} could not be read: {first}") from exc
    _column_names(names, shown, fold_case=True)
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    staged = {str(row[0]): f"c{i}" for i, row in enumerate(described)}
    casts = []
    for (name, sql_type, *_), col in zip(described, staged.values(), strict=True):
        nested = any(word in str(sql_type) for word in ("STRUCT", "MAP", "[]"))
        expression = f"to_json({quote(name)})" if nested else quote(name)
        casts.append(f"CAST({expression} AS VARCHAR) AS {quote(col)}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {STAGE} AS
        SELECT file_row_number + 1 AS _line, {", ".join(casts)}
        FROM read_parquet({path}, file_row_number=true)
        """
    )
    return staged
