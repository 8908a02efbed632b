"""The outbox: segment transitions waiting to be delivered (webhooks, e-mail...).

A live refresh writes each customer's ``entered`` / ``exited`` transitions to the
membership history and, in the same transaction, one row each here, so a worker of
the activation issue can deliver them at least once: a row is never lost between the
history and the outbox, and ``delivered_at`` stays NULL until a delivery succeeded.
Ids come from a sequence: increasing, never reused, the order rows were written.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> con = duckdb.connect()
>>> for statement in (CREATE_SEQUENCE, CREATE_TABLE, *UPGRADE):
...     _ = con.execute(statement)
>>> _ = con.execute("CREATE TEMP TABLE t AS SELECT 'c1' AS customer_id, 'vip' AS segment_id, "
...                 "'value' AS dimension, 'entered' AS transition")
>>> append_transitions(con, "t", at=datetime(2024, 5, 1), source="live")
1
>>> [(row.outbox_id, row.customer_id, row.transition) for row in pending(con, limit=10)]
[(1, 'c1', 'entered')]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from cible.store.sql import fetch_row, quote

CREATE_SEQUENCE = "CREATE SEQUENCE IF NOT EXISTS outbox_ids START 1"
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS outbox (
  outbox_id BIGINT DEFAULT nextval('outbox_ids'), customer_id VARCHAR, segment_id VARCHAR,
  dimension VARCHAR, transition VARCHAR, occurred_at TIMESTAMP, source VARCHAR,
  delivered_at TIMESTAMP
)
"""


#: Migration 11: tag changes and matched events go to the outbox too. ``kind`` is
#: ``segment`` (``segment_id``, ``transition`` entered/exited), ``tag`` (``subject``
#: the tag, ``transition`` added/removed) or ``event`` (``subject`` the event's
#: message id, ``transition`` the automation it matched).
UPGRADE = (
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'segment'",
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS subject VARCHAR",
)


@dataclass(frozen=True)
class OutboxRow:
    """One transition to deliver: who, which segment, ``entered`` or ``exited``, when."""

    outbox_id: int
    customer_id: str
    segment_id: str
    dimension: str | None
    transition: str
    occurred_at: datetime
    source: str
    delivered_at: datetime | None
    kind: str = "segment"
    subject: str | None = None


def append_transitions(
    con: duckdb.DuckDBPyConnection, table: str, *, at: datetime, source: str
) -> int:
    """Add the rows of ``table`` (``customer_id, segment_id, dimension, transition``).

    Runs inside the caller's transaction (the one writing the membership history);
    returns the number of rows added.
    """
    row = fetch_row(
        con,
        f"""
        INSERT INTO outbox (customer_id, segment_id, dimension, transition, occurred_at, source)
        SELECT customer_id, segment_id, dimension, transition, ?, ?
        FROM {quote(table)} ORDER BY transition DESC, customer_id, segment_id
        """,
        [at, source],
    )
    return int(row[0])


def pending(con: duckdb.DuckDBPyConnection, *, limit: int) -> list[OutboxRow]:
    """The oldest ``limit`` rows not delivered yet, in the order they were written."""
    rows = con.execute(
        f"SELECT {', '.join(OutboxRow.__dataclass_fields__)} FROM outbox "
        "WHERE delivered_at IS NULL ORDER BY outbox_id LIMIT ?",
        [limit],
    ).fetchall()
    return [OutboxRow(*row) for row in rows]


def prune(con: duckdb.DuckDBPyConnection, *, before: datetime) -> int:
    """Delete rows handled before ``before`` (kept a while for inspection); how many."""
    row = fetch_row(
        con, "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", [before]
    )
    return int(row[0])
