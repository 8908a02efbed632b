"""Snapshots: replays equal runs, leave the present alone, and compare moments."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.segments.migration import NONE
from cible.segments.snapshots import month_starts
from cible.store import snapshots as stored


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 customers buying at different rhythms over 2023-2024; one run now."""
    folder = tmp_path_factory.mktemp("snapshots")
    customers = ["customer_id,email"] + [f"c{i},c{i}@example.com" for i in range(60)]
    orders = ["order_id,customer_id,ordered_at,amount"]
    n = 0
    for i in range(60):
        for k in range(i % 7):
            month = 1 + (i * 5 + k * 3) % 20
            year, month = 2023 + (month - 1) // 12, 1 + (month - 1) % 12
            n += 1
            orders.append(f"o{n},c{i},{year}-{month:02d}-{1 + i % 27:02d},{10 + i * k}")
    (folder / "c.csv").write_text("\n".join(customers) + "\n")
    (folder / "o.csv").write_text("\n".join(orders) + "\n")
    with Workspace.create(folder / "shop") as ws:
        ws.imports.load("customers", folder / "c.csv")
        ws.imports.load("orders", folder / "o.csv")
        ws.run(as_of=datetime(2025, 1, 15))
        ws.snapshots.backfill()
    return folder / "shop"


def test_a_backfill_replays_each_month_of_the_history(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        moments = [s.as_of for s in ws.snapshots.list()]
        origins = {s.origin for s in ws.snapshots.list()}
    # First order in January 2023, last in August 2024: February 2023 to September 2024.
    assert moments == month_starts(datetime(2023, 1, 2), datetime(2024, 9, 1))
    assert moments[0] == datetime(2023, 2, 1) and moments[-1] == datetime(2024, 9, 1)
    assert origins == {"backfill"}


def test_a_replay_leaves_the_present_alone(shop: Path, tmp_path: Path):
    with Workspace.open(shop) as ws:
        runs = ws.table("runs").count().execute()
        traits = ws.table("customer_traits").to_pandas().sort_values("customer_id")
        history = ws.table("segment_memberships").count().execute()
        ws.snapshots.take(datetime(2023, 7, 10))
        assert ws.table("runs").count().execute() == runs
        assert ws.table("segment_memberships").count().execute() == history
        after = ws.table("customer_traits").to_pandas().sort_values("customer_id")
    pd.testing.assert_frame_equal(traits.reset_index(drop=True), after.reset_index(drop=True))


def test_a_snapshot_equals_a_run_as_of_the_same_moment(shop: Path, tmp_path: Path):
    moment = datetime(2024, 3, 1)
    with Workspace.open(shop) as ws:
        found = ws.snapshots.at(moment)
        assert found is not None and found.as_of == moment
        kept = ws.snapshots.traits(found.snapshot_id).to_pandas()
        members = ws.snapshots.members(found.snapshot_id).to_pandas()
        ws.run(as_of=moment, snapshot=True)
        live = ws.table("customer_traits").to_pandas()
        open_now = ws.table("segment_memberships").to_pandas()
        runs = [s for s in ws.snapshots.list() if s.origin == "run"]
        ws.run(as_of=datetime(2025, 1, 15))
    live = live[kept.columns]
    pd.testing.assert_frame_equal(
        kept.sort_values("customer_id").reset_index(drop=True),
        live.sort_values("customer_id").reset_index(drop=True),
    )
    open_now = open_now[open_now.exited_at.isna()]
    key = ["segment_id", "customer_id"]
    assert sorted(map(tuple, members[key].to_numpy())) == sorted(
        map(tuple, open_now[key].to_numpy())
    )
    assert len(runs) == 1 and runs[0].as_of == moment and runs[0].customers == 60


def _reference(members: pd.DataFrame, ids: list[str], dimension: str, a: int, b: int) -> dict:
    mine = members[members.dimension == dimension]

    def at(snapshot_id: int) -> pd.Series:
        found = mine[mine.snapshot_id == snapshot_id].set_index("customer_id").segment_id
        return pd.Series(ids, index=ids).map(found).fillna(NONE)

    pairs = pd.DataFrame({"source": at(a), "target": at(b)})
    return pairs.groupby(["source", "target"]).size().to_dict()


@pytest.mark.parametrize("dimension", ["lifecycle", "rfm"])
def test_migration_between_two_snapshots_equals_pandas(shop: Path, dimension: str):
    start, end = datetime(2023, 6, 1), datetime(2024, 6, 1)
    with Workspace.open(shop, read_only=True) as ws:
        moved = ws.segments.migration(dimension, start, end)
        first, last = ws.snapshots.at(start), ws.snapshots.at(end)
        members = ws.table("snapshot_members").to_pandas()
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    assert first is not None and last is not None
    expected = _reference(members, ids, dimension, first.snapshot_id, last.snapshot_id)
    assert {(c.source, c.target): c.customers for c in moved.cells} == expected
    # Months never run live have no history: the snapshots are what moved.
    assert sum(v for (s, t), v in expected.items() if s != t) > 0


def test_a_second_backfill_writes_nothing_unless_asked(shop: Path):
    with Workspace.open(shop) as ws:
        before = ws.snapshots.list()
        assert ws.snapshots.backfill() == []
        again = ws.snapshots.backfill(
            start=datetime(2024, 8, 1), end=datetime(2024, 9, 1), replace=True
        )
        after = ws.snapshots.list()
    assert [s.as_of for s in again] == [datetime(2024, 8, 1), datetime(2024, 9, 1)]
    assert [s.as_of for s in after] == [s.as_of for s in before]


def test_a_failed_snapshot_leaves_nothing(shop: Path, monkeypatch: pytest.MonkeyPatch):
    real = stored.fetch_row

    def failing(con, sql, params=None):
        if "count(*)" in sql:
            raise RuntimeError("the disk went away")
        return real(con, sql, params)

    with Workspace.open(shop) as ws:
        before = ws.snapshots.list()
        rows = ws.table("snapshot_traits").count().execute()
        monkeypatch.setattr(stored, "fetch_row", failing)
        with pytest.raises(RuntimeError):
            ws.snapshots.take(datetime(2022, 1, 1))
        monkeypatch.undo()
        assert ws.snapshots.list() == before
        assert ws.table("snapshot_traits").count().execute() == rows


def test_pruning_keeps_each_month_s_first_run(tmp_path: Path):
    with Workspace.create(tmp_path / "w") as ws:
        for day in (1, 2, 3):
            ws.run(as_of=datetime(2024, 5, day), snapshot=True)
        ws.run(as_of=datetime(2024, 6, 20), snapshot=True)
        removed = ws.snapshots.prune(keep_days=10, now=datetime(2024, 6, 25))
        left = [s.as_of.day for s in ws.snapshots.list()]
    assert len(removed) == 2 and left == [1, 20]


def test_a_snapshot_of_the_future_is_refused(shop: Path):
    later = datetime.now() + timedelta(days=2)
    with Workspace.open(shop) as ws:
        with pytest.raises(CibleError, match="is in the future"):
            ws.snapshots.take(later)
        with pytest.raises(CibleError, match="is in the future"):
            ws.snapshots.backfill(start=datetime(2024, 1, 1), end=later)


def test_the_default_backfill_stops_at_today(tmp_path: Path):
    today = datetime.now()
    (tmp_path / "c.csv").write_text("customer_id,email\na,a@example.com\n")
    (tmp_path / "o.csv").write_text(
        f"order_id,customer_id,ordered_at,amount\n1,a,{today - timedelta(days=70):%Y-%m-%d},5\n"
        f"2,a,{today - timedelta(hours=1):%Y-%m-%dT%H:%M:%S},5\n"
    )
    with Workspace.create(tmp_path / "w") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        taken = ws.snapshots.backfill()
    assert taken and all(s.as_of <= datetime.now() for s in taken)


def test_unknown_snapshots_and_empty_histories_are_one_sentence(tmp_path: Path):
    with Workspace.create(tmp_path / "w") as ws:
        with pytest.raises(CibleError, match="No snapshot 7"):
            ws.snapshots.traits(7)
        with pytest.raises(CibleError, match="No orders to backfill"):
            ws.snapshots.backfill()


def test_median_days_in_segment_from_snapshots_equals_a_plain_loop(shop: Path):
    # Before the runs other tests made (2024-03-01 and later).
    end = datetime(2024, 2, 1)
    with Workspace.open(shop, read_only=True) as ws:
        moved = ws.segments.migration("lifecycle", datetime(2023, 6, 1), end)
        kept = [s for s in ws.snapshots.list() if s.as_of <= end]
        members = ws.table("snapshot_members").to_pandas()
        history = ws.table("segment_memberships").to_pandas()
    # The months were never run live: no history for them, the snapshots say it all.
    assert (history.entered_at <= end).sum() == 0
    moments = [s.as_of for s in kept]
    holds: dict[tuple[str, str], list[int]] = {}
    for i, snapshot in enumerate(kept):
        rows = members[(members.snapshot_id == snapshot.snapshot_id)]
        for segment, customer in zip(rows.segment_id, rows.customer_id, strict=True):
            if segment.startswith("lifecycle-"):
                holds.setdefault((segment, customer), []).append(i)
    lengths: dict[str, list[float]] = {}
    for (segment, _), positions in holds.items():
        start = positions[0]
        for j, position in enumerate(positions):
            ends_here = j == len(positions) - 1 or positions[j + 1] != position + 1
            if ends_here:
                stop = moments[position + 1] if position + 1 < len(moments) else end
                lengths.setdefault(segment, []).append((stop - moments[start]).days)
                if j < len(positions) - 1:
                    start = positions[j + 1]
    expected = {s: float(pd.Series(v).median()) for s, v in lengths.items()}
    got = {f.segment_id: f.median_days_in_segment for f in moved.flows}
    assert got == pytest.approx(expected)
