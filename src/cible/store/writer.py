"""Committing an import: issues, upsert and log, all in one transaction.

The checked rows (typed values plus one reason column per field, see
:mod:`cible.importing.validation`, and for customers a ``<field>__flag`` column per
contact value kept as given, see :mod:`cible.store.fixes`) sit in the temporary
table ``_checked``. One
transaction then records the import, its issues, and merges the valid rows into the
target table, so that a crash or a kill at any point leaves the previous state: DuckDB
discards an uncommitted transaction when it reopens the file.

Merge rules, by key (a ledger such as consents is only appended to, see
:func:`_append`):

- a new key is inserted;
- an existing key is updated when a mapped column differs, unless the table is
  versioned and the incoming ``updated_at`` is older than the stored one (a stale row);
- otherwise the row is unchanged and keeps its ``updated_at``.

Columns the file does not provide keep their stored values. When a versioned table's
file gives no ``updated_at``, inserted and changed rows take the import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from cible.domain.clock import utc_now
from cible.domain.schema import Table
from cible.store import indexes
from cible.store.ids import next_id
from cible.store.sql import fetch_row, literal, quote
from cible.store.staging import MALFORMED, STAGE
from cible.store.transaction import transaction

CHECKED = "_checked"
#: Characters of a value kept in an issue.
SHOWN_CHARS = 200
#: Parsed values and, per field, whether it had any text.
PARSED = "_parsed"


def flag_column(name: str) -> str:
    """Column of ``_checked`` saying why field ``name``'s value is flagged (NULL: fine)."""
    return f"{name}__flag"


@dataclass(frozen=True)
class ImportRecord:
    """Counts of a committed (or refused) import, as stored in ``imports``."""

    import_id: int
    status: str
    read: int
    loaded: int
    inserted: int
    updated: int
    unchanged: int
    #: Unchanged rows whose ``updated_at`` was older than the stored one.
    stale: int
    rejected: int
    flagged: int


@dataclass(frozen=True)
class Reference:
    """A column that should point at an existing row of another table."""

    column: str
    table: str
    key: str


def commit_import(
    con: duckdb.DuckDBPyConnection,
    *,
    table: Table,
    mapped: list[str],
    texts: dict[str, str],
    file: str,
    file_sha256: str,
    kind: str,
    references: list[Reference],
    strict: bool,
    started_at: datetime,
    flags: list[str] | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> ImportRecord:
    """Write the checked rows of ``_checked`` into ``table`` atomically.

    Parameters
    ----------
    table : Table
        Target canonical table.
    mapped : list of str
        Fields the file provides (columns of ``_checked``).
    texts : dict
        Field -> column of ``_stage`` holding its text, quoted in issues.
    file, file_sha256, kind : str
        Recorded in the import log and on each issue.
    references : list of Reference
        Columns whose dangling values are loaded but flagged.
    flags : list of str, optional
        Columns with a ``<column>__flag`` reason in ``_checked`` (values loaded as
        given but not valid, see :mod:`cible.store.fixes`): flagged too.
    strict : bool
        When any row is rejected, record the refusal and change no data.
    """
    now = utc_now()
    # Optional key columns (a ledger's source) may be empty, as in judge_rows.
    needed = [k for k in table.key if k in mapped and table.field(k).required]
    key_sql = " AND ".join(f"c.{quote(k)} IS NOT NULL" for k in needed) or "true"
    counts = fetch_row(
        con,
        "SELECT count(*) FILTER (WHERE _rejected), count(*) FILTER (WHERE NOT _rejected) "
        "FROM _checked",
    )
    malformed = int(fetch_row(con, f"SELECT count(*) FROM {MALFORMED}")[0])
    rejected, valid = int(counts[0]) + malformed, int(counts[1])
    read = valid + rejected
    writes = 0 if strict and rejected else valid
    # The index goes before the transaction and comes back after its commit.
    with indexes.dropped_for_bulk_write(con, table.name, rows=writes), transaction(con):
        import_id = _next_import_id(con)
        on_step("recording issues")
        _record_issues(con, import_id, file, table, mapped, texts, key_sql)
        if strict and rejected:
            # The whole file is refused: every row read counts as rejected, so that
            # read = loaded + rejected still holds; only faulty rows get an issue.
            status, loaded, rejected, flagged = "refused", 0, read, 0
            inserted = updated = unchanged = stale = 0
        else:
            _record_flags(con, import_id, file, flags or [], texts)
            flagged = _record_references(con, import_id, file, references)
            on_step("merging")
            inserted, updated, unchanged, stale = _merge(con, table, mapped, now)
            status, loaded = "loaded", valid
        con.execute(
            "INSERT INTO imports (import_id, kind, file, file_sha256, started_at, finished_at, "
            "status, rows_read, rows_loaded, rows_inserted, rows_updated, rows_unchanged, "
            "rows_rejected, rows_flagged, rows_stale) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                kind,
                file,
                file_sha256,
                started_at,
                utc_now(),
                status,
                read,
                loaded,
                inserted,
                updated,
                unchanged,
                rejected,
                flagged,
                stale,
            ],
        )
    return ImportRecord(
        import_id, status, read, loaded, inserted, updated, unchanged, stale, rejected, flagged
    )


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return next_id(con, "imports", "import_id")


def _record_issues(
    con: duckdb.DuckDBPyConnection,
    import_id: int,
    file: str,
    table: Table,
    mapped: list[str],
    texts: dict[str, str],
    key_sql: str,
) -> None:
    prefix = f"INSERT INTO import_issues SELECT {import_id}, {literal(file)}"
    con.execute(f"{prefix}, line, column_name, value, reason, 'rejected' FROM {MALFORMED}")
    # Texts as read are copied for rejected lines only.
    copied = ", ".join(f"{quote(column)} AS {quote(name)}" for name, column in texts.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rejected_text AS SELECT _line, {copied} FROM {STAGE} "
        f"WHERE _line IN (SELECT _line FROM {CHECKED} WHERE _rejected)"
    )
    for name in mapped:
        # A value can be as long as a line (10 MB): its start tells what it was.
        text = f"left(t.{quote(name)}, {SHOWN_CHARS})" if name in texts else "NULL"
        reason = quote(f"{name}__reason")
        con.execute(
            f"""{prefix}, c._line, {literal(name)}, {text}, c.{reason}, 'rejected'
                FROM {CHECKED} c JOIN _rejected_text t ON t._line = c._line
                WHERE c.{reason} IS NOT NULL"""
        )
    keys = [k for k in table.key if k in mapped]
    key_names = ", ".join(keys)
    key_value = " || ' / ' || ".join(f"coalesce(CAST(c.{quote(k)} AS VARCHAR), '')" for k in keys)
    con.execute(
        f"""{prefix}, c._line, {literal(key_names)}, {key_value},
            'duplicate {key_names} in this file (first at line ' || c._first_line || ')',
            'rejected'
            FROM _checked c WHERE c._line <> c._first_line AND {key_sql}"""
    )


def _record_flags(
    con: duckdb.DuckDBPyConnection,
    import_id: int,
    file: str,
    columns: list[str],
    texts: dict[str, str],
) -> None:
    for name in columns:
        # The value as read, so that the issue shows what the file said.
        value = f"s.{quote(texts[name])}" if name in texts else f"CAST(c.{quote(name)} AS VARCHAR)"
        flag = quote(flag_column(name))
        con.execute(
            f"""
            INSERT INTO import_issues
            SELECT {import_id}, {literal(file)}, c._line, {literal(name)}, {value}, c.{flag},
                   'flagged'
            FROM {CHECKED} c LEFT JOIN {STAGE} s ON s._line = c._line
            WHERE NOT c._rejected AND c.{flag} IS NOT NULL
            """
        )


def _record_references(
    con: duckdb.DuckDBPyConnection, import_id: int, file: str, references: list[Reference]
) -> int:
    for ref in references:
        column = quote(ref.column)
        reason = f"unknown {ref.table.removesuffix('s')}: not in {ref.table} (loaded anyway)"
        con.execute(
            f"""
            INSERT INTO import_issues
            SELECT {import_id}, {literal(file)}, v._line, {literal(ref.column)},
                   CAST(v.{column} AS VARCHAR),
                   {literal(reason)},
                   'flagged'
            FROM _checked v
            WHERE NOT v._rejected AND v.{column} IS NOT NULL
              AND NOT EXISTS (
                SELECT 1 FROM {quote(ref.table)} t WHERE t.{quote(ref.key)} = v.{column})
            """
        )
    # A row pointing at two unknown things (order and product) is one flagged row.
    query = (
        "SELECT count(DISTINCT line) FROM import_issues "
        "WHERE import_id = ? AND severity = 'flagged'"
    )
    return int(fetch_row(con, query, [import_id])[0])


def _merge(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: list[str], now: datetime
) -> tuple[int, int, int, int]:
    if table.append_only:
        return _append(con, table, mapped, now)
    target = quote(table.name)
    join = " AND ".join(f"o.{quote(k)} = n.{quote(k)}" for k in table.key)
    names = ", ".join(quote(f.name) for f in table.fields)
    version = table.versioned_by
    stamp = f"TIMESTAMP {literal(now.isoformat(sep=' '))}"
    overlap = fetch_row(
        con,
        f"SELECT count(*) FROM _checked n WHERE NOT n._rejected "
        f"AND EXISTS (SELECT 1 FROM {target} o WHERE {join})",
    )[0]
    if not overlap:
        # Only new keys (a first load, or fresh rows): insert straight away, skipping
        # the plan that compares with stored rows.
        row = fetch_row(
            con,
            f"INSERT INTO {target} ({names}) SELECT {_new_values(table, mapped, now)} "
            f"FROM _checked n WHERE NOT n._rejected{_clustered(table)}",
        )
        return int(row[0]), 0, 0, 0
    content = [m for m in mapped if m != version]
    differs = " OR ".join(f"n.{quote(c)} IS DISTINCT FROM o.{quote(c)}" for c in content) or "false"
    if version and version in mapped:
        v = quote(version)
        older = f"n.{v} IS NOT NULL AND o.{v} IS NOT NULL AND n.{v} < o.{v}"
        newer = f"OR n.{v} > o.{v}"
    else:
        older, newer = "false", ""
    values = []
    for field in table.fields:
        name = quote(field.name)
        if field.name == version:
            incoming = f"n.{name}" if field.name in mapped else "NULL"
            values.append(f"coalesce({incoming}, {stamp}) AS {name}")
        elif field.name in mapped:
            values.append(f"n.{name} AS {name}")
        else:
            values.append(f"o.{name} AS {name}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _plan AS
        SELECT {", ".join(values)},
          CASE WHEN o._present IS NULL THEN 'insert'
               WHEN {older} THEN 'stale'
               WHEN {differs} {newer} THEN 'update'
               ELSE 'unchanged' END AS _action
        FROM (SELECT * FROM _checked WHERE NOT _rejected) n
        LEFT JOIN (SELECT *, true AS _present FROM {target}) o ON {join}
        """
    )
    row = fetch_row(
        con,
        "SELECT count(*) FILTER (WHERE _action = 'insert'), "
        "count(*) FILTER (WHERE _action = 'update'), "
        "count(*) FILTER (WHERE _action IN ('unchanged', 'stale')), "
        "count(*) FILTER (WHERE _action = 'stale') FROM _plan",
    )
    inserted, updated, unchanged, stale = (int(x) for x in row)
    if updated:
        match = " AND ".join(f"{target}.{quote(k)} = p.{quote(k)}" for k in table.key)
        con.execute(
            f"DELETE FROM {target} USING (SELECT * FROM _plan WHERE _action = 'update') p "
            f"WHERE {match}"
        )
    if inserted or updated:
        con.execute(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM _plan "
            f"WHERE _action IN ('insert', 'update'){_clustered(table)}"
        )
    return inserted, updated, unchanged, stale


def _append(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: list[str], now: datetime
) -> tuple[int, int, int, int]:
    """Append the rows of a ledger that it does not hold yet; nothing is overwritten.

    A row repeating a stored one (every key column equal, empty equal to empty) is
    unchanged, so importing a file twice does not double the ledger. A row without
    ``versioned_by`` (a consent without a date) takes the import time; it repeats a
    stored row when the other key columns match one, whatever its date: re-importing
    an undated file restates nothing and cannot restore a status withdrawn since.
    """
    target = quote(table.name)
    version = table.versioned_by
    same = []
    for key in table.key:
        if key not in mapped:
            # Not in the file: stored as NULL (or, for the date, the import time).
            same.append("true" if key == version else f"o.{quote(key)} IS NULL")
        elif key == version:
            same.append(f"(n.{quote(key)} IS NULL OR n.{quote(key)} = o.{quote(key)})")
        else:
            same.append(f"n.{quote(key)} IS NOT DISTINCT FROM o.{quote(key)}")
    names = ", ".join(quote(f.name) for f in table.fields)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _plan AS
        SELECT {_new_values(table, mapped, now)},
          EXISTS (SELECT 1 FROM {target} o WHERE {" AND ".join(same)}) AS _held
        FROM _checked n WHERE NOT n._rejected
        """
    )
    row = fetch_row(
        con, "SELECT count(*) FILTER (WHERE NOT _held), count(*) FILTER (WHERE _held) FROM _plan"
    )
    appended, held = int(row[0]), int(row[1])
    if appended:
        con.execute(
            f"INSERT INTO {target} ({names}) SELECT {names} FROM _plan "
            f"WHERE NOT _held{_clustered(table)}"
        )
    return appended, 0, held, 0


def _clustered(table: Table) -> str:
    """``ORDER BY`` the column a live refresh reads ``table`` by, if any.

    Rows written sorted by customer give each row group a narrow range of ids, which
    lets a look-up of a few customers skip the others (their zone maps) on a table
    too large for its index (:mod:`cible.store.indexes`). It holds with DuckDB's
    ``preserve_insertion_order = false``: each thread writes ranges of the sorted rows.
    """
    column = indexes.cluster_column(table.name)
    return "" if column is None else f" ORDER BY {quote(column)}"


def _new_values(table: Table, mapped: list[str], now: datetime) -> str:
    """Select list of a new row read from ``_checked n``.

    Columns the file lacks are NULL; a missing ``versioned_by`` takes the import time.
    """
    stamp = f"TIMESTAMP {literal(now.isoformat(sep=' '))}"
    values = []
    for field in table.fields:
        name = quote(field.name)
        value = f"n.{name}" if field.name in mapped else "NULL"
        if field.name == table.versioned_by:
            value = f"coalesce({value}, {stamp})"
        values.append(f"{value} AS {name}")
    return ", ".join(values)
