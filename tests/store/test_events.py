"""store/events.py: the deduplication window and identity links, in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from cible import Workspace
from cible.store.events import EVENT_SCHEMA, IdentityLink

T0 = datetime(2024, 5, 1)


def _rows(*specs: tuple[str, str | None, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "message_id": message_id,
                "customer_id": customer,
                "anonymous_id": anonymous,
                "type": "page",
                "event": None,
                "properties": "{}",
                "timestamp": T0,
                "received_at": T0,
                "context": "{}",
            }
            for message_id, customer, anonymous in specs
        ],
        schema=EVENT_SCHEMA,
    )


def test_version_8_adds_the_window_and_identities(workspace: Workspace):
    con = workspace.store.connection
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"event_ids", "identities"} <= tables
    # No unique index on events: the window is what deduplicates. The only index on
    # events is the one live refreshes read customers through.
    indexes = con.execute(
        "SELECT is_unique, expressions FROM duckdb_indexes() WHERE table_name = 'events'"
    ).fetchall()
    assert indexes == [(False, "[customer_id]")]


def test_known_ids_only_counts_the_window(workspace: Workspace):
    store = workspace.store
    store.append_events(_rows(("m1", "c1", None)), window_start=T0 - timedelta(days=7))
    assert store.known_event_ids(["m1", "m2"], since=T0) == {"m1"}
    assert store.known_event_ids(["m1"], since=T0 + timedelta(seconds=1)) == set()
    assert store.known_event_ids([], since=T0) == set()


def test_a_link_attaches_only_unattached_events_of_its_id(workspace: Workspace):
    store = workspace.store
    start = T0 - timedelta(days=7)
    store.append_events(
        _rows(("m1", None, "a"), ("m2", "c9", "a"), ("m3", None, "b")), window_start=start
    )
    link = IdentityLink("a", "c1", T0, "m4", "identify")
    assert store.append_events(_rows(), [link], window_start=start) == 1
    owners = dict(
        workspace.store.connection.execute(
            "SELECT message_id, customer_id FROM events ORDER BY message_id"
        ).fetchall()
    )
    assert owners == {"m1": "c1", "m2": "c9", "m3": None}


def test_a_failed_append_leaves_nothing(workspace: Workspace):
    store = workspace.store
    bad = _rows(("m1", "c1", None)).drop_columns(["context"])  # not the events' shape
    with pytest.raises(Exception):  # noqa: B017 - DuckDB's own error for a wrong shape
        store.append_events(bad, window_start=T0)
    counts = store.connection.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_ids)"
    ).fetchall()
    assert counts == [(0, 0)]
