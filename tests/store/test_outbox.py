"""Migration 9 and the outbox: transitions written with the history, or not at all."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate
from cible.store.runs import TRAITS

AT = datetime(2024, 5, 1)


def test_migration_9_adds_the_outbox_to_a_version_8_workspace():
    con = duckdb.connect()
    registry = FieldRegistry(WorkspaceConfig())
    assert migrate(con, registry, MIGRATIONS[:8]) == list(range(1, 9))
    assert migrate(con, registry, MIGRATIONS[:9]) == [9] and SCHEMA_VERSION >= 9
    columns = [r[0] for r in con.execute("DESCRIBE outbox").fetchall()]
    assert columns[:2] == ["outbox_id", "customer_id"] and columns[-1] == "delivered_at"


def _live(ws: Workspace, members: list[tuple[str, str]]) -> None:
    store = ws.store
    store.hold("_traits_in", pd.DataFrame({"customer_id": ["c1"], "frequency": [3]}))
    frame = pd.DataFrame(members, columns=["segment_id", "customer_id"]).assign(dimension="d")
    store.commit_live(
        ids=["c1"], traits="_traits_in", members=store.hold("_m", frame), at=AT, source="live"
    )


@pytest.fixture
def served(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "shop")
    con = ws.store.connection
    con.execute(f"CREATE TABLE {TRAITS} (customer_id VARCHAR, frequency BIGINT)")
    con.execute("INSERT INTO segment_memberships VALUES ('old', 'd', 'c1', 1, ?, NULL, NULL)", [AT])
    con.execute("INSERT INTO segment_memberships VALUES ('old', 'd', 'c2', 1, ?, NULL, NULL)", [AT])
    return ws


def test_transitions_go_to_history_and_outbox_together(served: Workspace):
    _live(served, [("new", "c1")])
    con = served.store.connection
    history = con.execute(
        "SELECT segment_id, customer_id, entered_run, exited_run, exited_at "
        "FROM segment_memberships ORDER BY segment_id, customer_id"
    ).fetchall()
    assert history == [
        ("new", "c1", None, None, None),
        ("old", "c1", 1, None, AT),
        ("old", "c2", 1, None, None),  # not refreshed: left as it was
    ]
    rows = served.store.pending_transitions()
    assert [(r.outbox_id, r.segment_id, r.transition) for r in rows] == [
        (1, "old", "exited"),
        (2, "new", "entered"),
    ]
    assert con.execute(f"SELECT * FROM {TRAITS}").fetchall() == [("c1", 3)]
    # The same state again: nothing moves, nothing is written.
    _live(served, [("new", "c1")])
    assert len(served.store.pending_transitions()) == 2


def test_a_failed_refresh_writes_neither(served: Workspace):
    con = served.store.connection
    con.execute("DROP TABLE outbox")
    con.execute("CREATE TABLE outbox (outbox_id BIGINT CHECK (outbox_id < 0))")
    with pytest.raises(duckdb.Error):
        _live(served, [("new", "c1")])
    rows = con.execute(
        "SELECT count(*) FROM segment_memberships WHERE exited_at IS NULL"
    ).fetchall()
    assert rows == [(2,)]
