"""Applying value fixes computed in Python (normalised contact fields) to stored rows.

A :class:`ValueFix` is a small table: raw values of one or more key columns, the
value to store instead (NULL: keep the stored one) and a reason to flag the row
(NULL: nothing to say). Fixes are joined onto the target by the raw values, so
their cost follows the number of distinct values that change.

:func:`fix_checked` rewrites the checked rows of an import before they are merged,
adding a ``<column>__flag`` column per fix; :func:`fix_table` rewrites a stored
table in one transaction and counts the values it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from cible.domain.schema import Table
from cible.store.import_tables import table_clause
from cible.store.sql import columns_of, fetch_row, quote
from cible.store.transaction import transaction
from cible.store.writer import CHECKED, flag_column


@dataclass(frozen=True)
class ValueFix:
    """New values and flags for ``column``, keyed by the raw values of ``keys``.

    ``frame`` holds string columns ``_k0``, ``_k1``... (one per key), ``value`` and
    ``reason``.
    """

    column: str
    keys: tuple[str, ...]
    frame: pa.Table


def fix_checked(
    con: duckdb.DuckDBPyConnection, fixes: list[ValueFix], *, into: str | None = None
) -> list[str]:
    """Apply ``fixes`` to the checked rows of an import; return the flagged columns.

    ``into`` is the schema the import holds its rows in (:mod:`.import_tables`).
    """
    if not fixes:
        return []
    select = _fixed_select(con, CHECKED, fixes)
    con.execute(f"CREATE OR REPLACE {table_clause(con, CHECKED, into)} AS {select}")
    return [fix.column for fix in fixes]


def fix_table(
    con: duckdb.DuckDBPyConnection, table: Table, fixes: list[ValueFix]
) -> dict[str, int]:
    """Apply ``fixes`` to stored ``table`` atomically; rows changed per column.

    The table's version column (``updated_at``) is left alone: writing a value in
    its normal form is not a change of the customer's profile.
    """
    changed = {fix.column: 0 for fix in fixes}
    if not fixes:
        return changed
    target = quote(table.name)
    with transaction(con):
        select = _fixed_select(con, table.name, fixes)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _fixed AS {select}")
        columns = list(changed)
        differs = [f"n.{quote(c)} IS DISTINCT FROM o.{quote(c)}" for c in columns]
        join = " AND ".join(f"n.{quote(k)} = o.{quote(k)}" for k in table.key)
        counts = fetch_row(
            con,
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {d})" for d in differs)
            + f" FROM _fixed n JOIN {target} o ON {join}",
        )
        changed = {c: int(n) for c, n in zip(columns, counts, strict=True)}
        if any(changed.values()):
            sets = ", ".join(f"{quote(c)} = n.{quote(c)}" for c in columns)
            match = " AND ".join(f"{target}.{quote(k)} = n.{quote(k)}" for k in table.key)
            any_change = " OR ".join(
                f"n.{quote(c)} IS DISTINCT FROM {target}.{quote(c)}" for c in columns
            )
            con.execute(
                f"UPDATE {target} SET {sets} FROM _fixed n WHERE {match} AND ({any_change})"
            )
    return changed


def _fixed_select(con: duckdb.DuckDBPyConnection, source: str, fixes: list[ValueFix]) -> str:
    """``source`` with each fixed column replaced and its ``__flag`` column added."""
    replaced: dict[str, str] = {}
    flags, joins = [], []
    for index, fix in enumerate(fixes):
        alias, name = f"f{index}", f"_fix{index}"
        _stage(con, name, fix.frame)
        on = " AND ".join(
            f"t.{quote(key)} IS NOT DISTINCT FROM {alias}._k{position}"
            for position, key in enumerate(fix.keys)
        )
        joins.append(f"LEFT JOIN {name} {alias} ON {on}")
        column = quote(fix.column)
        replaced[fix.column] = f"coalesce({alias}.value, t.{column}) AS {column}"
        flags.append(f"{alias}.reason AS {quote(flag_column(fix.column))}")
    # Every column named (not DuckDB's ``t.* REPLACE``), so that PostgreSQL runs it too.
    columns = columns_of(con, source)
    missing = sorted(set(replaced) - set(columns))
    if missing:
        # Named columns would drop a fix of a column the table lacks without a word.
        raise ValueError(f"{source} has no column {', '.join(missing)} to fix")
    kept = [replaced.get(name, f"t.{quote(name)}") for name in columns]
    return f"SELECT {', '.join([*kept, *flags])} FROM {quote(source)} t {' '.join(joins)}"


def _stage(con: duckdb.DuckDBPyConnection, name: str, frame: Any) -> None:
    con.register("_fix_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS FROM _fix_frame")
    finally:
        con.unregister("_fix_frame")
