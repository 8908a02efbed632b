"""The traits, RFM and lifecycle of a run on Spark in local mode, one core and two,
beside DuckDB on the same rows.

The shop is ``bench_run.py``'s at each size (millions of orders; 10 orders and 20
events per customer), imported once into a Cible workspace; its canonical tables
(customers, orders, order lines, products, events) are read from the workspace and
copied into each engine with :func:`cible.store.engines.load_table` (not timed).
Then, per engine, the run's own expressions: :func:`~cible.segments.runner.raw_traits`
computed and collected as Arrow, held back in the engine, and
:func:`~cible.segments.runner.rfm_lifecycle` on them, collected too; best of two.
The traits of every engine are checked against DuckDB's (row count and a few sums).

Spark's master is fixed when its session starts, so each engine runs in its own
process: ``spark://local[1]``, ``spark://local[2]``, and DuckDB held to the same cores
(``threads``). On a 2-core machine this measures how Spark's time splits between work
that two cores share and its fixed costs (planning, scheduling, the JVM), which is what
a larger cluster can and cannot buy; see docs/performance.md, "Beyond one machine".

Run: ``.venv/bin/python benchmarks/bench_spark.py [--sizes 0.3,1] [--folder DIR]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import bench_run
from cible import Workspace
from cible.segments.runner import raw_traits, rfm_lifecycle
from cible.store.engines import connect_engine, load_table

TABLES = ("customers", "orders", "order_lines", "products", "events")
ENGINES = ("duckdb-1", "duckdb-2", "spark://local[1]", "spark://local[2]")


def prepare(folder: Path, millions: float) -> dict[str, Any]:
    """The shop at ``millions`` of orders, generated and imported into ``folder``/ws."""
    orders = int(millions * 1_000_000)
    if not (folder / "ws" / "cible.toml").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        bench_run.generate(folder, orders // 10, orders, orders * 2)
        bench_run.load(folder)
    with Workspace.open(folder / "ws", read_only=True) as ws:
        return ws.counts()


def measure(folder: Path, engine_name: str, repeat: int) -> dict[str, Any]:
    """Seconds of the traits and of RFM + lifecycle on one engine, best of ``repeat``."""
    if engine_name.startswith("duckdb"):
        engine = connect_engine("duckdb")
        engine.raw_sql(f"SET threads = {engine_name.split('-')[1]}")
    else:
        warehouse = tempfile.mkdtemp(prefix="cible-spark-")
        engine = connect_engine(engine_name, spark_settings={"spark.sql.warehouse.dir": warehouse})
    with Workspace.open(folder / "ws", read_only=True) as ws:
        config = ws.config
        for name in TABLES:
            table = ws.table(name)
            load_table(engine, name, table.to_pyarrow(), schema=table.schema())
    timings: dict[str, float] = {"traits": float("inf"), "rfm_lifecycle": float("inf")}
    checks: dict[str, Any] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        traits = raw_traits(engine.table, config, bench_run.AS_OF).to_pyarrow()
        timings["traits"] = min(timings["traits"], time.perf_counter() - start)
        held = load_table(engine, "_raw_traits", traits)
        start = time.perf_counter()
        scores = rfm_lifecycle(held, engine.table("orders"), config, bench_run.AS_OF).to_pyarrow()
        timings["rfm_lifecycle"] = min(timings["rfm_lifecycle"], time.perf_counter() - start)
        checks = {
            "customers": traits.num_rows,
            "frequency_sum": int(traits.column("frequency").to_numpy().sum()),
            "monetary_sum": round(float(traits.column("monetary_value").to_numpy().sum()), 2),
            "sessions_30d_sum": int(traits.column("sessions_30d").to_numpy().sum()),
            "rfm_scored": int(scores.column("rfm_r").drop_null().__len__()),
        }
    return {"seconds": {k: round(v, 2) for k, v in timings.items()}, "check": checks}


def _in_child(*args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.3,1", help="millions of orders")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("bench-data/spark"))
    args = parser.parse_args()
    for millions in (float(s) for s in args.sizes.split(",")):
        folder = args.folder / f"{millions:g}M"
        counts = prepare(folder, millions)
        result: dict[str, Any] = {"orders_millions": millions, "rows": counts}
        for engine_name in ENGINES:
            result[engine_name] = _in_child(folder, engine_name, args.repeat)
            print(json.dumps({engine_name: result[engine_name]}), flush=True)
        reference = result["duckdb-2"]["check"]
        result["agree"] = all(result[e]["check"] == reference for e in ENGINES)
        print(json.dumps(result), flush=True)
        with (args.folder / "results.jsonl").open("a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
