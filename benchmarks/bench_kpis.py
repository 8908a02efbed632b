"""KPIs per segment on a demo workspace: ``ws.kpis`` against pandas, in the same run.

Measured on a workspace built by ``cible demo --customers N`` then ``cible snapshots
backfill`` (one snapshot per month of its history):

1. ``ws.kpis.per_segment()``: every segment of every dimension at every snapshot and
   now (one Ibis query, range joins on DuckDB);
2. ``ws.kpis.cohorts`` for one segment and ``ws.kpis.pareto`` for one dimension;
3. the obvious alternative: the tables read into pandas, then, moment by moment,
   the order and e-mail KPIs (size, buyers, orders, revenue, churn, open rate) with
   merges and group-bys. It computes fewer figures than (1), so the ratio flatters it.

Each is the best of ``--repeat`` runs. Run:
``.venv/bin/python benchmarks/bench_kpis.py --workspace /tmp/kd``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cible import Workspace
from cible.segments.kpi_moments import period_bounds


def _best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def _pandas_kpis(ws: Workspace) -> pd.DataFrame:
    """Order and e-mail KPIs per moment and segment, the pandas way."""
    orders = ws.table("orders").to_pandas()
    orders = orders[orders["status"].isna() | (orders["status"] == "completed")]
    events = ws.table("events").select("customer_id", "event", "timestamp").to_pandas()
    events["name"] = events["event"].str.lower().str.replace(" ", "_")
    members = ws.table("snapshot_members").to_pandas()
    live = ws.table("segment_memberships").to_pandas()
    moments = {s.snapshot_id: s.as_of for s in ws.snapshots.list()}
    runs = ws.table("runs").to_pandas()
    now = runs.sort_values("run_id")["as_of"].iloc[-1].to_pydatetime()
    groups = [(moments[i], g) for i, g in members.groupby("snapshot_id") if moments[i] != now]
    groups.append((now, live[live["exited_at"].isna()]))
    frames = []
    for as_of, group in groups:
        start, previous = period_bounds(as_of, "month")
        at = orders["ordered_at"]
        inside = orders[(at >= start) & (at < as_of)]
        before = orders[(at >= previous) & (at < start)]
        per = inside.groupby("customer_id").agg(
            orders=("amount", "size"), revenue=("amount", "sum")
        )
        earlier = before.groupby("customer_id").size().rename("orders_before")
        mail = events[(events["timestamp"] >= start) & (events["timestamp"] < as_of)]
        mailed = mail[mail["name"].isin(["email_delivered", "email_sent"])]["customer_id"]
        opened = mail[mail["name"] == "email_opened"]["customer_id"]
        flags = pd.DataFrame(index=pd.Index(mailed.unique(), name="customer_id"))
        flags["mailed"] = True
        flags["opened"] = flags.index.isin(opened)
        joined = (
            group[["segment_id", "customer_id"]]
            .merge(per, on="customer_id", how="left")
            .merge(earlier, on="customer_id", how="left")
            .merge(flags, on="customer_id", how="left")
            .fillna({"orders": 0, "revenue": 0.0, "orders_before": 0})
        )
        joined["mailed"] = joined["mailed"].eq(True)
        joined["opened"] = joined["opened"].eq(True) & joined["mailed"]
        joined["buyer"] = joined["orders"] > 0
        joined["was"] = joined["orders_before"] > 0
        joined["churned"] = joined["was"] & ~joined["buyer"]
        summary = joined.groupby("segment_id").agg(
            size=("customer_id", "size"),
            buyers=("buyer", "sum"),
            orders=("orders", "sum"),
            revenue=("revenue", "sum"),
            was=("was", "sum"),
            churned=("churned", "sum"),
            mailed=("mailed", "sum"),
            opened=("opened", "sum"),
        )
        summary["churn_rate"] = summary["churned"] / summary["was"].where(summary["was"] > 0)
        summary["open_rate"] = summary["opened"] / summary["mailed"].where(summary["mailed"] > 0)
        frames.append(summary.assign(as_of=as_of).reset_index())
    result: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/kd"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--segment", default="lifecycle-loyal")
    parser.add_argument("--dimension", default="value")
    args = parser.parse_args()
    with Workspace.open(args.workspace, read_only=True) as ws:
        customers = ws.counts()["customers"]
        snapshots = len(ws.snapshots.list())
        kpis_s, rows = _best(args.repeat, lambda: ws.kpis.per_segment())
        cohorts_s, _ = _best(args.repeat, lambda: ws.kpis.cohorts(args.segment))
        pareto_s, _ = _best(args.repeat, lambda: ws.kpis.pareto(args.dimension))
        pandas_s, frame = _best(args.repeat, lambda: _pandas_kpis(ws))
    ours = pd.DataFrame([r.as_dict() for r in rows])
    both = ours.merge(frame, on=["as_of", "segment_id"], suffixes=("", "_pandas"))
    agree = len(both) == len(frame) and all(
        ((both[c] - both[f"{c}_pandas"]).abs() < 1e-6).all() for c in ("size", "buyers", "revenue")
    )
    print(f"{customers:,} customers, {snapshots} snapshots + now, {len(rows):,} KPI rows")
    print(f"size, buyers and revenue agree with pandas: {agree}")
    print(f"ws.kpis.per_segment (every KPI):       {kpis_s:7.2f} s")
    print(f"pandas, order and e-mail KPIs only:    {pandas_s:7.2f} s ({len(frame):,} rows)")
    print(f"ratio pandas / ws.kpis:                {pandas_s / kpis_s:7.1f}x")
    print(f"ws.kpis.cohorts({args.segment}):      {cohorts_s:7.2f} s")
    print(f"ws.kpis.pareto({args.dimension}):                 {pareto_s:7.2f} s")


if __name__ == "__main__":
    main()
