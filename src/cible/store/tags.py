"""Tags and the ledger of tags set on customers (DESIGN.md section 4).

``tags`` holds each tag's definition. ``customer_tags`` is append-only: every
``added`` or ``removed`` with when, by whom (``actor``: a token, ``cli``, an
automation) and how (``source``: ``import``, ``api``, ``cli``, ``automation``). A
customer carries a tag when the latest row of that pair is ``added``; the state as
of any moment is derived the same way, so segments replay the past. Each change
also writes an outbox row (kind ``tag``) in the same transaction, which is what
tag-triggered automations read.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from cible.store import outbox
>>> con = duckdb.connect()
>>> for statement in (*CREATE, outbox.CREATE_SEQUENCE, outbox.CREATE_TABLE, *outbox.UPGRADE):
...     _ = con.execute(statement)
>>> changes = [TagChange("c1", "hot-lead", "added")]
>>> record_changes(con, changes, at=datetime(2024, 5, 1), actor="cli", source="cli")
1
>>> current_tags(con, ["c1"])
{'c1': ['hot-lead']}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

CREATE = (
    "CREATE SEQUENCE IF NOT EXISTS customer_tag_ids START 1",
    """
    CREATE TABLE IF NOT EXISTS tags (
      name VARCHAR, colour VARCHAR, description VARCHAR, category VARCHAR,
      created_by VARCHAR, created_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS customer_tags (
      change_id BIGINT DEFAULT nextval('customer_tag_ids'), customer_id VARCHAR, tag VARCHAR,
      action VARCHAR, changed_at TIMESTAMP, actor VARCHAR, source VARCHAR
    )
    """,
)


@dataclass(frozen=True)
class TagRow:
    """A tag's definition."""

    name: str
    colour: str | None
    description: str | None
    category: str | None
    created_by: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class TagChange:
    """One tag ``added`` to or ``removed`` from one customer."""

    customer_id: str
    tag: str
    action: str


def list_tags(con: duckdb.DuckDBPyConnection) -> list[TagRow]:
    """Every tag, by name."""
    rows = con.execute(
        f"SELECT {', '.join(TagRow.__dataclass_fields__)} FROM tags ORDER BY name"
    ).fetchall()
    return [TagRow(*row) for row in rows]


def save_tag(con: duckdb.DuckDBPyConnection, tag: TagRow) -> None:
    """Create or replace the definition of ``tag.name``."""
    con.execute("DELETE FROM tags WHERE name = ?", [tag.name])
    con.execute(
        f"INSERT INTO tags ({', '.join(TagRow.__dataclass_fields__)}) VALUES (?, ?, ?, ?, ?, ?)",
        [tag.name, tag.colour, tag.description, tag.category, tag.created_by, tag.created_at],
    )


def rename_tag(con: duckdb.DuckDBPyConnection, old: str, new: str) -> int:
    """Rename a tag everywhere (definition and ledger); returns the ledger rows moved."""
    con.execute("UPDATE tags SET name = ? WHERE name = ?", [new, old])
    rows = con.execute("UPDATE customer_tags SET tag = ? WHERE tag = ?", [new, old]).fetchall()
    return int(rows[0][0])


def delete_tag(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Forget a tag's definition (its ledger stays, as history)."""
    con.execute("DELETE FROM tags WHERE name = ?", [name])


def record_changes(
    con: duckdb.DuckDBPyConnection,
    changes: Sequence[TagChange],
    *,
    at: datetime,
    actor: str,
    source: str,
) -> int:
    """Append ``changes`` that change something, and their outbox rows; returns how many.

    Adding a tag a customer carries, or removing one they do not, changes nothing
    and is left out. Runs inside the caller's transaction.
    """
    if not changes:
        return 0
    table = pa.table(
        {
            "customer_id": [c.customer_id for c in changes],
            "tag": [c.tag for c in changes],
            "action": [c.action for c in changes],
        }
    )
    con.register("_tag_changes", table)
    try:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _tag_effective AS
            WITH wanted AS (
              SELECT DISTINCT ON (customer_id, tag) customer_id, tag, action
              FROM (SELECT *, row_number() OVER () AS n FROM _tag_changes)
              ORDER BY customer_id, tag, n DESC
            ), latest AS (
              SELECT DISTINCT ON (customer_id, tag) customer_id, tag, action
              FROM customer_tags
              WHERE (customer_id, tag) IN (SELECT customer_id, tag FROM wanted)
              ORDER BY customer_id, tag, change_id DESC
            )
            SELECT w.customer_id, w.tag, w.action FROM wanted w
            LEFT JOIN latest l ON l.customer_id = w.customer_id AND l.tag = w.tag
            WHERE coalesce(l.action, 'removed') <> w.action
            """
        )
    finally:
        con.unregister("_tag_changes")
    con.execute(
        "INSERT INTO customer_tags (customer_id, tag, action, changed_at, actor, source) "
        "SELECT customer_id, tag, action, ?, ?, ? FROM _tag_effective ORDER BY customer_id, tag",
        [at, actor, source],
    )
    rows = con.execute(
        """
        INSERT INTO outbox (customer_id, segment_id, dimension, transition, occurred_at, source,
                            kind, subject)
        SELECT customer_id, NULL, NULL, action, ?, ?, 'tag', tag FROM _tag_effective
        ORDER BY customer_id, tag
        """,
        [at, source],
    ).fetchall()
    con.execute("DROP TABLE IF EXISTS _tag_effective")
    return int(rows[0][0])


def _carried(where: str) -> str:
    """``customer_id, tag`` of the tags carried now: the latest change of each pair of
    the rows ``where`` keeps is ``added`` (the one rule every reader of tags uses)."""
    return f"""
        SELECT customer_id, tag FROM (
          SELECT DISTINCT ON (customer_id, tag) customer_id, tag, action FROM customer_tags
          WHERE {where}
          ORDER BY customer_id, tag, change_id DESC
        ) WHERE action = 'added'
    """


def current_tags(
    con: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]
) -> dict[str, list[str]]:
    """The tags each of ``customer_ids`` carries now, sorted."""
    carried = _carried("customer_id IN (SELECT unnest(?::VARCHAR[]))")
    rows = con.execute(
        f"SELECT customer_id, list(tag ORDER BY tag) FROM ({carried}) GROUP BY customer_id",
        [list(customer_ids)],
    ).fetchall()
    return {customer_id: list(tags) for customer_id, tags in rows}


def carriers(con: duckdb.DuckDBPyConnection, tag: str) -> list[str]:
    """Ids of the customers carrying ``tag`` now, sorted."""
    rows = con.execute(f"{_carried('tag = ?')} ORDER BY customer_id", [tag]).fetchall()
    return [row[0] for row in rows]


def carrier_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many customers carry each tag now (tags nobody carries are absent)."""
    rows = con.execute(f"SELECT tag, count(*) FROM ({_carried('true')}) GROUP BY tag").fetchall()
    return {tag: int(n) for tag, n in rows}


def unknown_customers(con: duckdb.DuckDBPyConnection, customer_ids: Sequence[str]) -> list[str]:
    """The ids of ``customer_ids`` that no customer has, sorted."""
    con.register("_tag_ids", pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
    try:
        rows = con.execute(
            "SELECT DISTINCT i.customer_id FROM _tag_ids i "
            "ANTI JOIN customers c ON c.customer_id = i.customer_id ORDER BY 1"
        ).fetchall()
    finally:
        con.unregister("_tag_ids")
    return [row[0] for row in rows]
