"""KPIs per segment: every figure equals a pandas reference on a small generated shop.

The shop is drawn from a seeded generator and written as files; the reference reads
those same rows with pandas (and the memberships Cible stored, which are the input
of the KPIs, not their output), so each KPI is recomputed independently.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cible import Workspace
from cible.domain.errors import CibleError
from cible.segments.kpi_moments import months_before, period_bounds
from tests.segments.kpi_shop import NOW, SNAPSHOTS, build_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    return build_shop(tmp_path_factory.mktemp("kpis"))


# -- the pandas reference ----------------------------------------------------------------


def _members(ws: Workspace) -> dict[datetime, pd.DataFrame]:
    kept = ws.table("snapshot_members").to_pandas()
    by_id = {s.snapshot_id: s.as_of for s in ws.snapshots.list()}
    found = {by_id[i]: group for i, group in kept.groupby("snapshot_id")}
    live = ws.table("segment_memberships").to_pandas()
    found[NOW] = live[live["exited_at"].isna()]
    return found


def _clv(ws: Workspace) -> dict[datetime, pd.Series]:
    kept = ws.table("snapshot_traits").to_pandas()
    by_id = {s.snapshot_id: s.as_of for s in ws.snapshots.list()}
    found = {
        by_id[i]: g.set_index("customer_id")["clv_12m"] for i, g in kept.groupby("snapshot_id")
    }
    found[NOW] = ws.table("customer_traits").to_pandas().set_index("customer_id")["clv_12m"]
    return found


def _reference_cac(data: dict[str, pd.DataFrame]) -> pd.Series:
    customers, orders = data["customers"], data["orders"]
    bought = orders[orders["status"].isin(["completed", ""])]
    first = bought.groupby("customer_id")["ordered_at"].min()
    acquired = customers.set_index("customer_id")["created_at"].fillna(first).dt.normalize()
    channel = customers.set_index("customer_id")["acquisition_channel"]
    cac = pd.Series(0.0, index=customers["customer_id"])
    has = pd.Series(False, index=customers["customer_id"])
    for row in data["acquisition_costs"].itertuples():
        start = pd.Timestamp(row.period_start)
        end = (
            pd.Timestamp(row.period_end)
            if row.period_end is not None
            else start + pd.offsets.MonthEnd(0)
        )
        inside = (channel == row.channel) & (acquired >= start) & (acquired <= end)
        if inside.sum():
            cac[inside] += row.cost / inside.sum()
            has |= inside
    return cac[has]


def _reference(
    data: dict[str, pd.DataFrame], members: pd.DataFrame, clv: pd.Series, as_of: datetime
) -> pd.DataFrame:
    start, previous = period_bounds(as_of, "month")
    orders = data["orders"][data["orders"]["status"].isin(["completed", ""])]
    now = orders[(orders["ordered_at"] >= start) & (orders["ordered_at"] < as_of)]
    before = orders[(orders["ordered_at"] >= previous) & (orders["ordered_at"] < start)]
    events = data["events"][
        (data["events"]["timestamp"] >= start) & (data["events"]["timestamp"] < as_of)
    ]
    surveys = data["surveys"][
        (data["surveys"]["answered_at"] >= start) & (data["surveys"]["answered_at"] < as_of)
    ]
    tickets = data["tickets"][
        (data["tickets"]["opened_at"] >= start) & (data["tickets"]["opened_at"] < as_of)
    ]
    cac = _reference_cac(data)
    rows = {}
    for segment, group in members.groupby("segment_id"):
        ids = set(group["customer_id"])
        mine = now[now["customer_id"].isin(ids)]
        buyers = mine["customer_id"].nunique()
        earlier = set(before["customer_id"]) & ids
        mailed = set(events.loc[events["event"] == "Email Delivered", "customer_id"]) & ids
        opened = set(events.loc[events["event"] == "Email Opened", "customer_id"]) & mailed
        clicked = set(events.loc[events["event"] == "Email Link Clicked", "customer_id"]) & mailed
        nps = surveys[(surveys["kind"] == "nps") & surveys["customer_id"].isin(ids)]["score"]
        csat = surveys[(surveys["kind"] == "csat") & surveys["customer_id"].isin(ids)]["score"]
        size = len(ids)
        rows[segment] = {
            "size": size,
            "buyers": buyers,
            "orders": len(mine),
            "revenue": mine["amount"].sum(),
            "avg_order_value": mine["amount"].mean() if len(mine) else None,
            "frequency": len(mine) / size,
            "avg_clv": clv.reindex(list(ids)).mean(),
            "churn_rate": len(earlier - set(mine["customer_id"])) / len(earlier)
            if earlier
            else None,
            "conversion": buyers / size,
            "open_rate": len(opened) / len(mailed) if mailed else None,
            "click_rate": len(clicked) / len(mailed) if mailed else None,
            "nps": 100 * ((nps >= 9).mean() - (nps <= 6).mean()) if len(nps) else None,
            "csat": (csat >= 4).mean() if len(csat) else None,
            "tickets_per_100": 100 * tickets["customer_id"].isin(ids).sum() / size,
            "avg_cac": cac.reindex(list(ids)).mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _same(got: Any, expected: Any) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return got is None
    return got is not None and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


# -- tests -------------------------------------------------------------------------------


def test_every_kpi_equals_the_pandas_reference_at_each_moment(shop: tuple[Path, Any]) -> None:
    path, data = shop
    with Workspace.open(path, read_only=True) as ws:
        rows = ws.kpis.per_segment()
        members, clv = _members(ws), _clv(ws)
    assert sorted({r.as_of for r in rows}) == [*SNAPSHOTS, NOW]
    assert [r.now for r in rows if r.as_of == NOW] == [True] * sum(r.as_of == NOW for r in rows)
    checked = 0
    for as_of in (*SNAPSHOTS, NOW):
        expected = _reference(data, members[as_of], clv[as_of], as_of)
        got = {r.segment_id: r for r in rows if r.as_of == as_of}
        assert set(got) == set(expected.index)
        for segment, row in expected.iterrows():
            for name, value in row.items():
                assert _same(getattr(got[segment], name), value), (as_of, segment, name)
                checked += 1
    # Enough segments bought, mailed and answered for the comparison to mean something.
    assert sum(r.nps is not None for r in rows) >= 10
    assert sum(r.churn_rate is not None for r in rows) >= 10
    assert sum(r.avg_cac is not None for r in rows) >= 10
    assert checked > 500


def test_filters_pick_a_dimension_a_segment_and_moments(shop: tuple[Path, Any]) -> None:
    path, _ = shop
    with Workspace.open(path, read_only=True) as ws:
        every = ws.kpis.per_segment()
        lifecycle = ws.kpis.per_segment(dimension="lifecycle")
        one = ws.kpis.per_segment(segment="lifecycle-loyal", start=datetime(2024, 5, 15))
        with pytest.raises(CibleError, match=r"No dimension 'nope'; known: .*lifecycle"):
            ws.kpis.per_segment(dimension="nope")
        with pytest.raises(CibleError, match="No segment 'nope'"):
            ws.kpis.per_segment(segment="nope")
        with pytest.raises(CibleError, match="Unknown period 'year'"):
            ws.kpis.per_segment(period="year")
    _alike(lifecycle, [r for r in every if r.dimension == "lifecycle"])
    assert [r.as_of for r in one] == [SNAPSHOTS[1], NOW]
    _alike(one, [r for r in every if r.segment_id == "lifecycle-loyal" and r.as_of > SNAPSHOTS[0]])


def _alike(got: list[Any], expected: list[Any]) -> None:
    """The same rows, floats equal but for the order of their sums."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        for name, value in a.as_dict().items():
            other = b.as_dict()[name]
            if isinstance(value, float):
                assert _same(value, other), name
            else:
                assert value == other, name


def test_a_weekly_period_counts_the_seven_days_before_each_moment(shop: tuple[Path, Any]) -> None:
    path, data = shop
    with Workspace.open(path, read_only=True) as ws:
        rows = ws.kpis.per_segment(segment="value-gold", period="week")
        members = _members(ws)
    orders = data["orders"][data["orders"]["status"].isin(["completed", ""])]
    for row in rows:
        assert row.period_start == row.as_of - pd.Timedelta(days=7)
        ids = set(members[row.as_of].query("segment_id == 'value-gold'")["customer_id"])
        inside = orders[
            (orders["ordered_at"] >= row.period_start) & (orders["ordered_at"] < row.as_of)
        ]
        assert row.orders == inside["customer_id"].isin(ids).sum()


def test_missing_inputs_give_null_not_zero(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\na\nb\n")
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\n1,a,2024-05-10,20\n")
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        ws.run(as_of=datetime(2024, 6, 1))
        rows = ws.kpis.per_segment(dimension="lifecycle")
    assert rows
    for row in rows:
        assert row.nps is None and row.csat is None and row.nps_answers == 0
        assert row.open_rate is None and row.click_rate is None and row.mailed == 0
        assert row.tickets is None and row.tickets_per_100 is None
        assert row.avg_cac is None
    prospects = next(r for r in rows if r.segment_id == "lifecycle-prospect")
    assert prospects.avg_order_value is None and prospects.churn_rate is None
    assert prospects.revenue == 0.0 and prospects.conversion == 0.0


def test_no_run_yet_is_refused_with_what_to_do(workspace: Workspace) -> None:
    with pytest.raises(CibleError, match="No run yet: run `cible run` first"):
        workspace.kpis.per_segment()


def test_the_cohort_triangle_equals_the_pandas_reference(shop: tuple[Path, Any]) -> None:
    path, data = shop
    with Workspace.open(path, read_only=True) as ws:
        triangle = ws.kpis.cohorts("lifecycle-loyal", months=7)
        live = ws.table("segment_memberships").to_pandas()
    ids = set(
        live[live["exited_at"].isna() & (live["segment_id"] == "lifecycle-loyal")]["customer_id"]
    )
    orders = data["orders"]
    bought = orders[orders["status"].isin(["completed", ""]) & orders["customer_id"].isin(ids)]
    month = bought["ordered_at"].dt.to_period("M")
    bought = bought.assign(
        month=month, cohort=month.groupby(bought["customer_id"]).transform("min")
    )
    assert [c.cohort for c in triangle] == [f"2024-{m:02d}" for m in range(1, 8)]
    for cohort in triangle:
        period = pd.Period(cohort.cohort, "M")
        who = bought[bought["cohort"] == period]
        size = who["customer_id"].nunique()
        assert cohort.customers == size
        assert len(cohort.retention) == (pd.Period("2024-07", "M") - period).n + 1
        for k, share in enumerate(cohort.retention):
            active = who[who["month"] == period + k]["customer_id"].nunique()
            assert cohort.active[k] == active
            assert _same(share, active / size if size else None)
    assert triangle[0].customers > 0 and triangle[0].retention[0] == 1.0
    assert triangle[-1].retention == [None]


def test_the_revenue_pareto_equals_the_pandas_reference(shop: tuple[Path, Any]) -> None:
    path, _ = shop
    with Workspace.open(path, read_only=True) as ws:
        shares = ws.kpis.pareto("value")
        traits = ws.table("customer_traits").to_pandas()
        live = ws.table("segment_memberships").to_pandas()
        with pytest.raises(CibleError, match="No dimension 'nope'"):
            ws.kpis.pareto("nope")
    live = live[live["exited_at"].isna() & (live["dimension"] == "value")]
    joined = live.merge(traits, on="customer_id", how="left")
    per = joined.groupby("segment_id").agg(
        size=("customer_id", "size"), revenue=("monetary_value", "sum")
    )
    per = per.reset_index().sort_values(["revenue", "segment_id"], ascending=[False, True])
    total = traits["monetary_value"].sum()
    assert [s.segment_id for s in shares] == list(per["segment_id"])
    for share, row, cum_size, cum_revenue in zip(
        shares, per.itertuples(), per["size"].cumsum(), per["revenue"].cumsum(), strict=True
    ):
        assert share.size == row.size
        assert math.isclose(share.customer_share, row.size / len(traits))
        assert math.isclose(share.revenue_share or 0, row.revenue / total)
        assert math.isclose(share.cumulative_customer_share, cum_size / len(traits))
        assert math.isclose(share.cumulative_revenue_share or 0, cum_revenue / total)


def test_months_before_clamps_to_the_end_of_a_shorter_month() -> None:
    assert months_before(datetime(2024, 3, 31), 1) == datetime(2024, 2, 29)
    assert months_before(datetime(2024, 1, 15, 8), 2) == datetime(2023, 11, 15, 8)


def test_answers_off_their_scale_are_left_out() -> None:
    import ibis

    from cible.segments.kpi_facts import survey_facts

    moments = ibis.memtable(
        {
            "moment_id": [1],
            "as_of": [datetime(2024, 3, 1)],
            "period_start": [datetime(2024, 2, 1)],
            "previous_start": [datetime(2024, 1, 1)],
        }
    )
    surveys = ibis.memtable(
        {
            "customer_id": ["a"] * 4,
            "answered_at": [datetime(2024, 2, 2)] * 4,
            "kind": ["nps", "nps", "csat", "csat"],
            "score": [10.0, 42.0, 5.0, 9.0],
        }
    )
    row = survey_facts(surveys, moments).to_pyarrow().to_pylist()[0]
    assert (row["nps_answers"], row["promoters"], row["csat_answers"], row["satisfied"]) == (
        1,
        1,
        1,
        1,
    )


def test_sizes_are_the_sizes_of_the_kpis_without_the_other_figures(shop: tuple[Path, Any]) -> None:
    path, _ = shop
    with Workspace.open(path, read_only=True) as ws:
        every = ws.kpis.per_segment()
        sizes = ws.kpis.sizes()
        one = ws.kpis.sizes(segment="lifecycle-loyal")
        with pytest.raises(CibleError, match="No segment 'nope'"):
            ws.kpis.sizes(segment="nope")
    expected = sorted((r.as_of, r.segment_id, r.size) for r in every if r.size)
    assert [(r.as_of, r.segment_id, r.size) for r in sizes] == expected
    assert len({r.as_of for r in sizes}) == len(SNAPSHOTS) + 1
    assert [(r.as_of, r.size) for r in one] == [
        (a, n) for a, sid, n in expected if sid == "lifecycle-loyal"
    ]
