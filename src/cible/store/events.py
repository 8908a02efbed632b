"""Live events: deduplication window, durable appends and anonymous identities.

Events received by ``cible serve`` are appended in micro-batches, each batch in one
transaction. A message id is a duplicate when it is in ``event_ids``, the ids received
in the deduplication window, which sits beside ``events`` instead of a unique index
on it (DESIGN.md section 6). ``identities`` links anonymous ids to customers; a new
link attaches that anonymous id's earlier events, and a later anonymous event takes
the customer of its latest link as it is stored.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> import pyarrow as pa
>>> from cible.store.migrations import migrate
>>> from cible.domain.registry import FieldRegistry
>>> from cible.domain.config import WorkspaceConfig
>>> con = duckdb.connect()
>>> _ = migrate(con, FieldRegistry(WorkspaceConfig()))
>>> now = datetime(2024, 5, 1, 12)
>>> rows = pa.Table.from_pylist([{
...     "message_id": "m1", "customer_id": None, "anonymous_id": "a1", "type": "page",
...     "event": None, "properties": "{}", "timestamp": now, "received_at": now,
...     "context": "{}"}], schema=EVENT_SCHEMA)
>>> append_events(con, rows, [], window_start=datetime(2024, 4, 24))
0
>>> sorted(known_ids(con, ["m1", "m2"], since=datetime(2024, 4, 24)))
['m1']
>>> link = IdentityLink("a1", "c1", now, "m2", "identify")
>>> append_events(con, rows.slice(0, 0), [link], window_start=datetime(2024, 4, 24))
1
>>> con.execute("SELECT customer_id FROM events").fetchall()
[('c1',)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from cible.store.postgres import is_postgres
from cible.store.sql import fetch_row
from cible.store.transaction import transaction

#: Columns of ``events`` as a micro-batch carries them (``properties`` and ``context``
#: are JSON text).
EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("customer_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("properties", pa.string()),
        ("timestamp", pa.timestamp("us")),
        ("received_at", pa.timestamp("us")),
        ("context", pa.string()),
    ]
)
_COLUMNS = ", ".join(EVENT_SCHEMA.names)


@dataclass(frozen=True)
class IdentityLink:
    """An anonymous id seen as a customer, and the message (identify, alias) saying so."""

    anonymous_id: str
    customer_id: str
    linked_at: datetime
    message_id: str
    source: str


def known_ids(
    con: duckdb.DuckDBPyConnection, message_ids: Sequence[str], *, since: datetime
) -> set[str]:
    """The ids among ``message_ids`` received at or after ``since``."""
    if not message_ids:
        return set()
    batch = pa.table({"message_id": pa.array(message_ids, pa.string())})
    con.register("_ids_in", batch)
    try:
        rows = con.execute(
            "SELECT DISTINCT e.message_id FROM event_ids e "
            "JOIN _ids_in i ON i.message_id = e.message_id WHERE e.received_at >= ?",
            [since],
        ).fetchall()
    finally:
        con.unregister("_ids_in")
    return {row[0] for row in rows}


def append_events(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    links: Iterable[IdentityLink],
    *,
    window_start: datetime,
    matched: pa.Table | None = None,
) -> int:
    """Append a micro-batch of new events and identity links in one transaction.

    ``rows`` hold no duplicate (the caller checked :func:`known_ids`). Anonymous
    events take the customer of their anonymous id's latest link, this batch's
    included; a link not held before attaches the earlier anonymous events of its id.
    Ids received before ``window_start`` leave the deduplication window.
    ``matched`` (``customer_id, message_id, automation_id``: events that start an
    automation) go to the outbox in the same transaction, so none is lost.

    Returns
    -------
    int
        The number of anonymous events attached to a customer by new links.
    """
    link_rows = pa.Table.from_pylist(
        [
            {
                "anonymous_id": link.anonymous_id,
                "customer_id": link.customer_id,
                "linked_at": link.linked_at,
                "message_id": link.message_id,
                "source": link.source,
            }
            for link in links
        ],
        schema=pa.schema(
            [
                ("anonymous_id", pa.string()),
                ("customer_id", pa.string()),
                ("linked_at", pa.timestamp("us")),
                ("message_id", pa.string()),
                ("source", pa.string()),
            ]
        ),
    )
    con.register("_events_in", rows)
    con.register("_links_in", link_rows)
    try:
        with transaction(con):
            claimed = rows.num_rows > 0 and is_postgres(con)
            if claimed:
                _claim(con)
            attached = 0
            if link_rows.num_rows:
                attached = _link(con)
            if rows.num_rows and rows.column("customer_id").null_count:
                # Anonymous events of an already linked id are stored as the customer's.
                con.execute(
                    f"""
                    INSERT INTO events ({_COLUMNS})
                    SELECT e.message_id, coalesce(e.customer_id, l.customer_id), e.anonymous_id,
                           e.type, e.event, e.properties, e.timestamp, e.received_at, e.context
                    FROM _events_in e
                    LEFT JOIN (
                        SELECT anonymous_id, arg_max(customer_id, linked_at) AS customer_id
                        FROM identities
                        WHERE anonymous_id IN (
                            SELECT anonymous_id FROM _events_in WHERE customer_id IS NULL)
                        GROUP BY anonymous_id
                    ) l ON e.customer_id IS NULL AND l.anonymous_id = e.anonymous_id
                    """
                )
            elif rows.num_rows:  # every event names its customer: nothing to look up
                con.execute(f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM _events_in")
            if rows.num_rows and not claimed:
                con.execute("INSERT INTO event_ids SELECT message_id, received_at FROM _events_in")
            con.execute("DELETE FROM event_ids WHERE received_at < ?", [window_start])
            if matched is not None and matched.num_rows:
                _outbox_matches(con, matched)
    finally:
        con.unregister("_events_in")
        con.unregister("_links_in")
    return attached


def _claim(con: duckdb.DuckDBPyConnection) -> None:
    """Keep in ``_events_in`` only the events whose ids this transaction records.

    On PostgreSQL several servers append at once: two may both have found an id
    unknown (:func:`known_ids`) and both hold its event. ``event_ids`` is unique
    there, so the second insert of an id waits for the first transaction and skips it
    when that one commits; only the ids inserted here are kept, so an event, and the
    automation it starts, is stored once. DuckDB has a single writer, which checked.
    """
    kept = [
        row[0]
        for row in con.execute(
            "INSERT INTO event_ids SELECT DISTINCT ON (message_id) message_id, received_at "
            "FROM _events_in ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
        ).fetchall()
    ]
    con.execute("DELETE FROM _events_in WHERE message_id <> ALL(?)", [kept])


def _outbox_matches(con: duckdb.DuckDBPyConnection, matched: pa.Table) -> None:
    con.register("_matched_in", matched)
    try:
        con.execute(
            """
            INSERT INTO outbox (customer_id, transition, occurred_at, source, kind, subject)
            SELECT m.customer_id, m.automation_id, e.received_at, 'event', 'event', m.message_id
            FROM _matched_in m JOIN _events_in e USING (message_id)
            """
        )
    finally:
        con.unregister("_matched_in")


def _link(con: duckdb.DuckDBPyConnection) -> int:
    """Record the batch's new links; attach earlier anonymous events to their customer."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _new_links AS
        SELECT anonymous_id, customer_id, min(linked_at) AS linked_at,
               arg_min(message_id, linked_at) AS message_id, arg_min(source, linked_at) AS source
        FROM _links_in l
        WHERE NOT EXISTS (
            SELECT 1 FROM identities i
            WHERE i.anonymous_id = l.anonymous_id AND i.customer_id = l.customer_id)
        GROUP BY anonymous_id, customer_id
        """
    )
    # Two servers may both hold a new link (PostgreSQL): the unique key keeps one.
    conflict = " ON CONFLICT (anonymous_id, customer_id) DO NOTHING" if is_postgres(con) else ""
    con.execute(f"INSERT INTO identities SELECT * FROM _new_links{conflict}")
    # An id linked to several customers (a shared device) gives its unattached events
    # to the latest link; events already attached stay with their customer.
    row = fetch_row(
        con,
        """
        UPDATE events SET customer_id = l.customer_id
        FROM (SELECT anonymous_id, arg_max(customer_id, linked_at) AS customer_id
              FROM identities
              WHERE anonymous_id IN (SELECT anonymous_id FROM _new_links)
              GROUP BY anonymous_id) l
        WHERE events.customer_id IS NULL AND events.anonymous_id = l.anonymous_id
        """,
    )
    con.execute("DROP TABLE _new_links")
    return int(row[0])
