"""The demo's planted change: one group buys half as often in the last quarter, and the
drift check finds it (issue 18's done-when), beside the same demo without it."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible import Workspace
from cible.demo import build_demo
from cible.demo.catalogue import build_catalogue
from cible.demo.generator import generate_retailer
from cible.demo.groups import PROFILES
from cible.demo.places import load_places
from cible.demo.planted_change import PlantedChange, plant
from cible.demo.population import build_population
from cible.demo.purchases import place_orders
from cible.demo.timeline import Period
from cible.domain.errors import WorkspaceError

END = date(2026, 12, 1)
MOMENTS = [
    datetime(2025, 9, 1),
    datetime(2025, 12, 1),
    datetime(2026, 3, 1),
    datetime(2026, 6, 1),
    datetime(2026, 9, 1),
    datetime(2026, 12, 1),
]


def test_the_plant_halves_the_group_s_last_quarter_and_leaves_the_rest():
    rng = np.random.default_rng(0)
    period = Period.ending(END)
    people = build_population(rng, 3_000, period, load_places())
    bought = place_orders(rng, people, build_catalogue(rng, period), period)
    change = PlantedChange.last_quarter("loyal_regular", period)
    planted = plant(np.random.default_rng(1), bought, people, change)
    group = [p.name for p in PROFILES].index("loyal_regular")

    def split(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        inside = (people["behaviour"].to_numpy()[orders.customer] == group) & (
            orders.ordered_at >= change.since
        )
        return orders[inside], orders[~inside]

    (hit, rest), (hit_after, rest_after) = split(bought.orders), split(planted.orders)
    assert 0.4 < len(hit_after) / len(hit) < 0.6
    columns = ["customer", "ordered_at", "amount", "channel", "status"]
    pd.testing.assert_frame_equal(
        rest[columns].reset_index(drop=True), rest_after[columns].reset_index(drop=True)
    )
    # Lines follow their orders: each kept order keeps exactly its lines.
    lines = planted.lines.groupby("order").size()
    assert lines.index.max() == len(planted.orders) - 1
    gross = (
        planted.lines.assign(c=planted.lines.quantity * planted.lines.unit_cents)
        .groupby("order")
        .c.sum()
    )
    assert (gross.to_numpy() == planted.orders.gross.to_numpy()).all()


def test_the_files_record_the_plant(tmp_path: Path):
    generate_retailer(
        tmp_path / "plant", customers=300, seed=3, end_date=END, planted_change="loyal_regular"
    )
    truth = json.loads((tmp_path / "plant" / "planted_change.json").read_text())
    assert truth["group"] == "loyal_regular" and truth["keep"] == 0.5


def test_an_unknown_group_is_one_sentence(tmp_path: Path):
    with pytest.raises(WorkspaceError, match="No planted group 'loyal'; use one of"):
        build_demo(tmp_path / "w", customers=300, planted_change="loyal")


def _checked(folder: Path, planted: str | None) -> tuple[set[tuple[str, str]], dict, pd.Series]:
    build_demo(folder, customers=3_000, seed=11, end_date=END, planted_change=planted)
    with Workspace.open(folder) as ws:
        for moment in MOMENTS:
            ws.snapshots.take(moment)
        # The clustering was fitted a quarter ago, as a marketer's would have been.
        ws.run(as_of=MOMENTS[-2])
        ws.cluster(random_state=0, n_bootstrap=0, k=5)
        ws.run(as_of=MOMENTS[-1])
        check = ws.monitoring.check()
        members = ws.snapshots.members(ws.snapshots.at(MOMENTS[-1]).snapshot_id).to_pandas()
        earlier = ws.snapshots.members(ws.snapshots.at(MOMENTS[-2]).snapshot_id).to_pandas()
        # The snapshots were kept before the clustering: its members are the latest run's.
        history = ws.table("segment_memberships").to_pandas()
        clustered = history[history.exited_at.isna() & (history.dimension == "clusters")]
    groups = pd.read_parquet(folder / "demo-truth" / "planted_groups.parquet")
    groups = groups.set_index("customer_id").group
    share = {}
    for found in (earlier, members, clustered.copy()):
        found["loyal"] = found.customer_id.map(groups) == "loyal_regular"
        for segment, value in found.groupby("segment_id").loyal.mean().items():
            share[segment] = max(share.get(segment, 0.0), float(value))
    alerts = {(a.kind, a.subject) for a in check.alerts}
    moved = {c["dimension"]: c["moved"] for c in check.clusterings}
    return alerts, moved, pd.Series(share)


@pytest.mark.slow
def test_the_drift_check_finds_the_planted_change_and_only_it(tmp_path: Path):
    base, _, _ = _checked(tmp_path / "base", None)
    plant, moved, share = _checked(tmp_path / "plant", "loyal_regular")
    new = plant - base
    segments = {subject for kind, subject in new if kind == "segment"}
    # What the plant raised is about its group: segments a fifth of whose members or
    # more are its customers (then or now), or RFM, whose ranks move for everyone.
    assert segments
    assert all(share.get(s, 0.0) >= 0.2 or s.startswith("rfm-") for s in segments), {
        s: share.get(s) for s in segments
    }
    # The segment that is the group, nearly: its recent purchases moved.
    assert ("segment", "typology-loyal") in new
    # The re-fit flags the cluster of the loyal regulars, for their recent purchases.
    assert ("clustering", "clusters") in plant
    flagged = moved["clusters"]
    assert any(
        share.get(cluster, 0.0) >= 0.5
        and {"orders_90d", "recency_days"} & {t["trait"] for t in traits}
        for cluster, traits in flagged.items()
    ), {c: (share.get(c), [t["trait"] for t in t_]) for c, t_ in flagged.items()}
