"""A campaign's analysis at scale: the database reduction against pandas, in the same run.

A campaign assigns ``--customers`` customers (80% variant, 20% holdout, four target
segments); each has Poisson purchases over the 90 days before and the 14 days after
the assignment (the variant buys 10% more). Both sides compute, per (segment, arm),
the sufficient statistics of the analysis (n, sums and sums of squares of window
revenue and pre-period revenue, their sum of products, conversions):

1. Cible: :func:`cible.activation.campaign_outcomes.customer_outcomes` and
   :func:`~cible.activation.campaign_outcomes.arm_statistics`, one Ibis expression run
   by DuckDB on tables it holds (as a workspace does), then the whole analysis
   (:func:`~cible.activation.campaign_analysis.analyse_statistics`);
2. the obvious alternative: pandas, a merge of assignments and orders, masks for the
   two periods, group-bys per customer then per (segment, arm).

The statistics must agree; each side is the best of ``--repeat`` runs. Run:
``.venv/bin/python benchmarks/bench_experiments.py --customers 1000000``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from cible.activation.campaign_analysis import ALL, analyse_statistics
from cible.activation.campaign_definition import parse_campaign
from cible.activation.campaign_outcomes import arm_statistics, customer_outcomes

LAUNCH = datetime(2025, 3, 1, 9)
SEGMENTS = ("s1", "s2", "s3", "s4")


def _best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def _world(customers: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(customers).astype(str))
    arm = np.where(rng.random(customers) < 0.8, "v", "holdout")
    assignments = pd.DataFrame(
        {
            "campaign_id": "bench",
            "customer_id": ids,
            "segment_id": rng.choice(SEGMENTS, customers),
            "arm": arm,
            "eligible_at": LAUNCH,
        }
    )
    rate = rng.gamma(0.5, 0.04, customers) * np.where(arm == "v", 1.1, 1.0)
    counts = rng.poisson(rate * 104)
    who = np.repeat(ids, counts)
    offsets = rng.uniform(-90, 14, len(who)) * 86_400
    orders = pd.DataFrame(
        {
            "customer_id": who,
            "ordered_at": pd.Timestamp(LAUNCH) + pd.to_timedelta(offsets, unit="s"),
            "amount": np.round(rng.lognormal(3.5, 0.8, len(who)), 2),
            "discount_amount": 0.0,
            "status": "completed",
        }
    )
    return assignments, orders


def _pandas(assignments: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    joined = assignments.merge(orders, on="customer_id", how="left")
    start = joined.eligible_at
    during = (joined.ordered_at >= start) & (joined.ordered_at < start + timedelta(days=14))
    prior = (joined.ordered_at >= start - timedelta(days=90)) & (joined.ordered_at < start)
    joined["y"] = joined.amount.where(during, 0.0)
    joined["x"] = joined.amount.where(prior, 0.0)
    joined["bought"] = during.astype(int)
    per = joined.groupby(["segment_id", "arm", "customer_id"], sort=False).agg(
        y=("y", "sum"), x=("x", "sum"), bought=("bought", "sum")
    )
    per["y2"], per["x2"], per["xy"] = per.y**2, per.x**2, per.x * per.y
    per["converted"] = (per.bought > 0).astype(int)
    return (
        per.groupby(["segment_id", "arm"])
        .agg(
            n=("y", "size"),
            sum_y=("y", "sum"),
            sum_y2=("y2", "sum"),
            sum_x=("x", "sum"),
            sum_x2=("x2", "sum"),
            sum_xy=("xy", "sum"),
            conversions=("converted", "sum"),
        )
        .sort_index()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    assignments, orders = _world(args.customers, args.seed)
    # Tables the database holds, as in a workspace (this Ibis version's create_table
    # from a frame fails on DuckDB 1.4, hence the plain statements).
    duck = duckdb.connect()
    for name, frame in (("campaign_assignments", assignments), ("orders", orders)):
        duck.register("frame_", pa.Table.from_pandas(frame, preserve_index=False))
        duck.execute(f"CREATE TABLE {name} AS SELECT * FROM frame_")
        duck.unregister("frame_")
    con = ibis.duckdb.from_connection(duck)
    definition = parse_campaign(
        {
            "id": "bench",
            "segments": list(SEGMENTS),
            "channel": "email",
            "variants": [{"id": "v", "share": 0.8, "message": "m"}],
            "holdout": 0.2,
            "start": "2025-03-01",
            "end": "2025-03-31",
        }
    )

    def cible() -> Any:
        rows = (
            arm_statistics(
                customer_outcomes(
                    con.table("campaign_assignments"),
                    con.table("orders"),
                    as_of=LAUNCH + timedelta(days=20),
                    window_days=14,
                    pre_days=90,
                )
            )
            .to_pyarrow()
            .to_pylist()
        )
        return rows, analyse_statistics(definition, rows, margin=0.3)

    cible_seconds, (rows, analysis) = _best(args.repeat, cible)
    pandas_seconds, reference = _best(args.repeat, lambda: _pandas(assignments, orders))
    found = pd.DataFrame(rows).set_index(["segment_id", "arm"]).sort_index()
    for column in reference.columns:
        assert np.allclose(found[column], reference[column], rtol=1e-9), column
    overall = next(c for c in analysis.comparisons if c.segment == ALL and c.metric == "revenue")
    print(
        f"{args.customers:,} customers, {len(orders):,} orders: Cible (reduction and "
        f"analysis) {cible_seconds:.2f} s, pandas (reduction only) {pandas_seconds:.2f} s, "
        f"speed-up {pandas_seconds / cible_seconds:.1f}x; statistics equal; revenue lift "
        f"{overall.relative_lift:+.1%} (CUPED variance reduction "
        f"{overall.variance_reduction:.2f})"
    )


if __name__ == "__main__":
    main()
