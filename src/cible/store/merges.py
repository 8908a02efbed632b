"""Writing merges of duplicate customer profiles, and undoing them, in one transaction each.

The use case (:mod:`cible.quality.merge`) holds its plan in temporary tables
(:meth:`cible.store.store.Store.hold`):

- ``_dedupe_groups``: ``customer_id, group`` as matching found them;
- ``_dedupe_members``: ``customer_id, merge, surviving_id``, one row per profile of
  a group (``merge`` numbers the groups from 1);
- ``_dedupe_merges``: ``merge, surviving_id, merged_ids, match_weight, match_rule``;
- ``_dedupe_golden``: the golden record of each group (customers' columns);
- ``_dedupe_consents``: the consents each surviving id keeps (consents' columns).

:func:`apply_merges` then logs each merge in ``merges`` and, before changing
anything, copies every row it will change or remove into ``merge_rows`` as JSON (a
before-image): the customers of the group (``survived`` or ``merged``), the orders
and events it re-points (``repointed``), the consents it replaces (``replaced``).
:func:`undo_merge` puts the before-images back. JSON columns are kept as their text,
so that undo gives back the very same bytes. Imports ask :func:`stage_merged_ids`
where the ids of applied merges now live (:mod:`cible.importing.merged_ids`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from cible.domain.errors import CibleError
from cible.domain.schema import FieldType, Table
from cible.store.ddl import sql_type
from cible.store.ids import next_id
from cible.store.postgres import is_postgres
from cible.store.sql import fetch_row, literal, quote
from cible.store.transaction import transaction

GROUPS = "_dedupe_groups"
MEMBERS = "_dedupe_members"
MERGES = "_dedupe_merges"
GOLDEN = "_dedupe_golden"
CONSENTS = "_dedupe_consents"
_STAGED = (GROUPS, MEMBERS, MERGES, GOLDEN, CONSENTS)
#: Merged customer ids and their surviving id, for imports (:func:`stage_merged_ids`).
MERGED_IDS = "_merged_ids"


class MergeError(CibleError):
    """A merge cannot be undone (unknown, already undone, or followed by another)."""


@dataclass(frozen=True)
class UndoRecord:
    """What :func:`undo_merge` restored."""

    merge_id: int
    surviving_id: str
    restored_ids: list[str]
    rows: dict[str, int]


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the plan's temporary tables."""
    for name in _STAGED:
        con.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")


def apply_merges(
    con: duckdb.DuckDBPyConnection,
    *,
    customers: Table,
    repointed: list[Table],
    consents: Table,
    created_at: datetime,
) -> int:
    """Apply the staged plan atomically; return the id of its first merge.

    Merge ids follow the largest stored one, in the order of ``merge``.
    """
    with transaction(con):
        first = next_id(con, "merges", "merge_id") - 1
        _log(con, first, created_at)
        _keep_before_images(con, first, customers, repointed, consents)
        _repoint(con, repointed)
        _replace_consents(con, consents)
        _replace_customers(con, customers)
    return first + 1


def _log(con: duckdb.DuckDBPyConnection, first: int, created_at: datetime) -> None:
    con.execute(
        f"""
        INSERT INTO merges (merge_id, created_at, surviving_id, merged_ids, match_weight,
                            match_rule, status, undone_at)
        SELECT {first} + merge, ?, surviving_id, to_json(merged_ids), match_weight,
               match_rule, 'applied', NULL
        FROM {MERGES}
        """,
        [created_at],
    )


def _image(table: Table, alias: str) -> str:
    """A row of ``table`` as JSON, JSON columns kept as their text."""
    parts = []
    for field in table.fields:
        value = f"{alias}.{quote(field.name)}"
        if field.type is FieldType.JSON:
            value = f"CAST({value} AS VARCHAR)"
        parts.append(f"{quote(field.name)} := {value}")
    return f"to_json(struct_pack({', '.join(parts)}))"


def _row_key(table: Table, alias: str) -> str:
    return " || ' / ' || ".join(
        f"coalesce(CAST({alias}.{quote(k)} AS VARCHAR), '')" for k in table.key
    )


def _keep_before_images(
    con: duckdb.DuckDBPyConnection,
    first: int,
    customers: Table,
    repointed: list[Table],
    consents: Table,
) -> None:
    insert = "INSERT INTO merge_rows (merge_id, table_name, row_key, action, row_data)"
    con.execute(
        f"""{insert}
        SELECT {first} + m.merge, 'customers', c.customer_id,
               CASE WHEN c.customer_id = m.surviving_id THEN 'survived' ELSE 'merged' END,
               {_image(customers, "c")}
        FROM customers c JOIN {MEMBERS} m ON m.customer_id = c.customer_id
        """
    )
    for table in repointed:
        con.execute(
            f"""{insert}
            SELECT {first} + m.merge, {literal(table.name)}, {_row_key(table, "t")},
                   'repointed', {_image(table, "t")}
            FROM {quote(table.name)} t JOIN {MEMBERS} m ON m.customer_id = t.customer_id
            WHERE m.customer_id <> m.surviving_id
            """
        )
    con.execute(
        f"""{insert}
        SELECT {first} + m.merge, {literal(consents.name)}, {_row_key(consents, "t")},
               'replaced', {_image(consents, "t")}
        FROM {quote(consents.name)} t JOIN {MEMBERS} m ON m.customer_id = t.customer_id
        """
    )


def _repoint(con: duckdb.DuckDBPyConnection, repointed: list[Table]) -> None:
    for table in repointed:
        con.execute(
            f"""
            UPDATE {quote(table.name)} SET customer_id = m.surviving_id
            FROM {MEMBERS} m
            WHERE {quote(table.name)}.customer_id = m.customer_id
              AND m.customer_id <> m.surviving_id
            """
        )


def _replace_consents(con: duckdb.DuckDBPyConnection, consents: Table) -> None:
    names = ", ".join(quote(n) for n in consents.names)
    con.execute(
        f"DELETE FROM {quote(consents.name)} "
        f"WHERE customer_id IN (SELECT customer_id FROM {MEMBERS})"
    )
    con.execute(f"INSERT INTO {quote(consents.name)} ({names}) SELECT {names} FROM {CONSENTS}")


def _replace_customers(con: duckdb.DuckDBPyConnection, customers: Table) -> None:
    names = ", ".join(quote(n) for n in customers.names)
    con.execute(f"DELETE FROM customers WHERE customer_id IN (SELECT customer_id FROM {MEMBERS})")
    con.execute(f"INSERT INTO customers ({names}) SELECT {names} FROM {GOLDEN}")


def undo_merge(
    con: duckdb.DuckDBPyConnection,
    merge_id: int,
    *,
    customers: Table,
    repointed: list[Table],
    consents: Table,
    undone_at: datetime,
) -> UndoRecord:
    """Restore what merge ``merge_id`` changed, atomically, and mark it undone.

    Raises
    ------
    MergeError
        When there is no such merge, it was already undone, or a later merge that is
        still applied touched the same customers (that one must be undone first).
    """
    surviving_id, merged_ids = _undoable(con, merge_id)
    with transaction(con):
        rows = {
            t.name: _restore_rows(con, merge_id, t, surviving_id) for t in (customers, consents)
        }
        for table in repointed:
            rows[table.name] = _point_back(con, merge_id, table)
        con.execute(
            "UPDATE merges SET status = 'undone', undone_at = ? WHERE merge_id = ?",
            [undone_at, merge_id],
        )
    return UndoRecord(merge_id, surviving_id, merged_ids, rows)


def merged_ids_array(con: duckdb.DuckDBPyConnection) -> str:
    """SQL for a merge's ``merged_ids`` (a JSON array of strings) as a list of text."""
    if is_postgres(con):
        # No portable form: PostgreSQL's own function (the JSON is stored as text).
        return "ARRAY(SELECT json_array_elements_text(CAST(merged_ids AS JSON)))"
    return "CAST(json_extract_string(merged_ids, '$[*]') AS VARCHAR[])"


def stage_merged_ids(con: duckdb.DuckDBPyConnection) -> int:
    """Stage ``_merged_ids``: where each customer id merged by an applied merge now lives.

    Columns ``_merged_id``, ``_surviving_id`` (chains followed: a surviving id merged
    later itself leads to the later survivor) and ``_merge_ids`` (the merges of the
    chain, oldest first). Undone merges are left out. Each step of a chain goes to a
    later merge, so a chain ends even when an id merged away came back and survived a
    later merge (then it is its own survivor and is left out). Returns the number of
    ids staged.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {MERGED_IDS} AS
        WITH RECURSIVE direct AS (
          SELECT merge_id, surviving_id, unnest({merged_ids_array(con)}) AS merged_id
          FROM merges WHERE status = 'applied'
        ),
        latest AS (
          SELECT merged_id, max(merge_id) AS merge_id,
                 arg_max(surviving_id, merge_id) AS surviving_id
          FROM direct GROUP BY merged_id
        ),
        chain AS (
          SELECT merged_id, surviving_id, merge_id AS last_merge, [merge_id] AS path
          FROM latest
          UNION ALL
          SELECT c.merged_id, l.surviving_id, l.merge_id, list_append(c.path, l.merge_id)
          FROM chain c JOIN latest l
            ON l.merged_id = c.surviving_id AND l.merge_id > c.last_merge
        )
        SELECT merged_id AS _merged_id, surviving_id AS _surviving_id, path AS _merge_ids
        FROM (
          -- Each id's longest chain: its latest merge (a row number, not arg_max,
          -- so that PostgreSQL, whose array_agg of arrays nests them, reads it too).
          SELECT merged_id, surviving_id, path,
                 row_number() OVER (PARTITION BY merged_id ORDER BY last_merge DESC) AS n
          FROM chain
        ) ends
        WHERE n = 1 AND surviving_id <> merged_id
        """
    )
    return int(fetch_row(con, f"SELECT count(*) FROM {MERGED_IDS}")[0])


def _undoable(con: duckdb.DuckDBPyConnection, merge_id: int) -> tuple[str, list[str]]:
    found = con.execute(
        "SELECT status, surviving_id, merged_ids, undone_at FROM merges WHERE merge_id = ?",
        [merge_id],
    ).fetchall()
    if not found:
        raise MergeError(f"There is no merge {merge_id} in this workspace.")
    status, surviving_id, merged_json, undone_at = found[0]
    if status != "applied":
        raise MergeError(f"Merge {merge_id} was already undone on {undone_at:%Y-%m-%d %H:%M}.")
    merged_ids = [str(i) for i in json.loads(merged_json)]
    ids = [surviving_id, *merged_ids]
    later = con.execute(
        f"""
        SELECT min(merge_id) FROM merges
        WHERE merge_id > ? AND status = 'applied'
          AND (list_has_any(?::VARCHAR[], [surviving_id])
               OR list_has_any(?::VARCHAR[], {merged_ids_array(con)}))
        """,
        [merge_id, ids, ids],
    ).fetchall()[0][0]
    if later is not None:
        raise MergeError(
            f"Merge {merge_id} cannot be undone while merge {later}, made later on some of "
            f"the same customers, is applied: undo merge {later} first."
        )
    return str(surviving_id), merged_ids


def _restore_rows(
    con: duckdb.DuckDBPyConnection, merge_id: int, table: Table, surviving_id: str
) -> int:
    """Replace the rows the merge wrote in ``table`` by its before-images.

    Removed first: rows with a before-image's key (rows of merged customers imported
    again since, included), and the surviving customer's rows that took their place
    (for the consents ledger: the kept records, copies of a before-image's record).
    """
    target = quote(table.name)
    images = f"merge_rows WHERE merge_id = {int(merge_id)} AND table_name = {literal(table.name)}"
    others = [k for k in table.key if k != "customer_id"]

    def same(key: str) -> str:
        # Typed and NULL-safe: a consent's key holds a date and an optional source.
        image = f"CAST(r.row_data->>{literal(key)} AS {sql_type(table.field(key))})"
        return f"{target}.{quote(key)} IS NOT DISTINCT FROM {image}"

    same_key = " AND ".join(same(k) for k in table.key)
    replaced = " AND ".join(
        [f"{target}.customer_id = {literal(surviving_id)}"] + [same(k) for k in others]
    )
    con.execute(
        f"DELETE FROM {target} USING (SELECT row_data FROM {images}) r "
        f"WHERE ({same_key}) OR ({replaced})"
    )
    spec = {f.name: "VARCHAR" if f.type is FieldType.JSON else sql_type(f) for f in table.fields}
    names = ", ".join(quote(n) for n in table.names)
    return int(
        fetch_row(
            con,
            f"INSERT INTO {target} ({names}) {_images_as_rows(con, spec, images)}",
        )[0]
    )


def _images_as_rows(con: duckdb.DuckDBPyConnection, spec: dict[str, str], images: str) -> str:
    """``SELECT`` of the before-images in ``images`` as rows of the columns of ``spec``
    (name -> DuckDB type)."""
    if is_postgres(con):
        # No portable form: PostgreSQL's json_to_record (the JSON is stored as text).
        columns = ", ".join(f"{quote(name)} {kind}" for name, kind in spec.items())
        names = ", ".join(f"r.{quote(name)}" for name in spec)
        return (
            f"SELECT {names} FROM (SELECT row_data FROM {images}) i, "
            f"json_to_record(CAST(i.row_data AS JSON)) AS r({columns})"
        )
    return f"SELECT unnest(from_json(row_data, {literal(json.dumps(spec))})) FROM {images}"


def _point_back(con: duckdb.DuckDBPyConnection, merge_id: int, table: Table) -> int:
    target = quote(table.name)
    same = " AND ".join(f"{target}.{quote(k)} = r.row_data->>{literal(k)}" for k in table.key)
    return int(
        fetch_row(
            con,
            f"""
            UPDATE {target} SET customer_id = r.row_data->>'customer_id'
            FROM (SELECT row_data FROM merge_rows
                  WHERE merge_id = ? AND table_name = {literal(table.name)}) r
            WHERE {same}
            """,
            [merge_id],
        )[0]
    )
