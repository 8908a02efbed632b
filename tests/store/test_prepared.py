"""Recorded plans: replayed at another moment, refused when as_of leaks through Python."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import ibis
import pytest

from cible import Workspace
from cible.features.clock import days_ago, moment
from cible.store.store import Hold, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    ws = Workspace.create(tmp_path / "shop")
    con = ws.store.connection
    con.execute(
        "CREATE TABLE visits AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS at, "
        "i % 3 AS kind FROM range(24 * 60) r(i)"
    )
    return ws.store


def _recent(store: Store, kinds: list[int]):
    def build(as_of: datetime, hold: Hold) -> None:
        visits = store.table("visits")
        # A literal table: its random Ibis name must not defeat the recording.
        wanted = ibis.memtable({"kind": kinds})
        recent = visits.filter(
            visits.at < moment(as_of),
            visits.at >= days_ago(as_of, 7),
            visits.kind.isin(wanted.kind),
        )
        held = hold("_recent", recent)
        hold("_count", held.aggregate(n=held.count(), last=held.at.max()))

    return build


def _count(store: Store) -> tuple[int, datetime]:
    row = store.table("_count").to_pyarrow().to_pylist()[0]
    return row["n"], row["last"]


def test_a_replay_equals_a_direct_evaluation(store: Store):
    build = _recent(store, [0, 2])
    plan = store.record(build)
    assert plan is not None and [s.name for s in plan.steps] == ["_recent", "_count"]
    for as_of in (datetime(2024, 1, 20), datetime(2024, 2, 3, 17, 30, 0, 250)):
        store.replay(plan, as_of)
        replayed = _count(store)
        build(as_of, store.hold)
        assert replayed == _count(store)
        assert replayed[0] == sum(
            1
            for i in range(24 * 60)
            if i % 3 in (0, 2)
            and as_of - timedelta(days=7) <= datetime(2024, 1, 1) + timedelta(hours=i) < as_of
        )


def test_a_moment_computed_in_python_gives_no_plan(store: Store):
    def build(as_of: datetime, hold: Hold) -> None:
        visits = store.table("visits")
        # as_of - 7 days computed in Python: a literal the replay could not move.
        hold("_recent", visits.filter(visits.at >= as_of - timedelta(days=7)))

    assert store.record(build) is None


def test_different_steps_give_no_plan(store: Store):
    seen: list[datetime] = []

    def build(as_of: datetime, hold: Hold) -> None:
        seen.append(as_of)
        hold(f"_step_{len(seen)}", store.table("visits").limit(1))

    assert store.record(build) is None
