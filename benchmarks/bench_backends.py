"""One shop's import and runs in a DuckDB workspace, a PostgreSQL one and a Spark one.

The shop of ``bench_run.py`` (customers, products, orders, order lines, events,
consents as Parquet, five rule segments) is imported with ``Workspace.imports.load``
into a workspace on the embedded DuckDB (the default), into one held in PostgreSQL
(``[engine] backend``, the local server unless ``--postgres`` names another) and
into one computing its runs on Spark (``backend = "spark"``, ``local[N]`` with
``--spark-cores``), each in its own process so that its peak memory is its own; then
``ws.run`` twice, a day apart, the second one updating the history. On Spark, the
session's start and the copy of the tables into it are timed apart, before the first
run. Every side's row counts and open memberships per segment are compared with
DuckDB's: they must be equal. The PostgreSQL schema is dropped at the end.

Run: ``.venv/bin/python benchmarks/bench_backends.py [--orders N --customers N
--events N --engines duckdb,postgres,spark]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench_run import (
    AS_OF,
    FILES,
    SEGMENTS,
    _in_child,
    _peak_rss_mb,
    generate,
)
from cible import Workspace
from cible.domain.config import WorkspaceConfig

POSTGRES = os.environ.get("CIBLE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


def import_and_run(folder: Path, engine: dict[str, Any], name: str) -> dict[str, Any]:
    """Import every file into a new workspace with ``[engine]`` settings ``engine``,
    add the rule segments, run twice; the times, the rows and the open memberships
    per segment."""
    config = WorkspaceConfig.model_validate({"workspace": {"name": name}, "engine": engine})
    imports: dict[str, float] = {}
    rows: dict[str, int] = {}
    runs = []
    spark: dict[str, float] = {}
    with Workspace.create(folder / name, config=config) as ws:
        for kind in FILES:
            start = time.perf_counter()
            result = ws.imports.load(kind, folder / f"{kind.replace('-', '_')}.parquet")
            imports[kind] = round(time.perf_counter() - start, 2)
            rows[kind] = result.loaded
        for text in SEGMENTS:
            ws.segments.add(text)
        if engine["backend"] == "spark":
            start = time.perf_counter()
            ws.spark.session.sql("SELECT 1").collect()
            spark["session_start_s"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            ws.spark.publish(ws.store)
            spark["copy_s"] = round(time.perf_counter() - start, 2)
        for days in (1, 0):
            start = time.perf_counter()
            steps: dict[str, float] = {}

            def step(
                name: str,
                done: int,
                total: int,
                steps: dict[str, float] = steps,
                start: float = start,
            ) -> None:
                # Seconds from the run's start to each step's start.
                steps.setdefault(name, round(time.perf_counter() - start, 2))

            record = ws.run(as_of=AS_OF - timedelta(days=days), progress=step)
            runs.append(
                {
                    "seconds": round(time.perf_counter() - start, 2),
                    "steps_started_s": steps,
                    "memberships": record.memberships,
                    "entered": record.entered,
                    "exited": record.exited,
                }
            )
        if spark:
            spark["jvm_peak_mb"] = _jvm_peak_mb(ws.spark.session)
        history = ws.table("segment_memberships")
        open_ = history.filter(history.exited_at.isnull())
        members = open_.group_by("segment_id").agg(n=open_.count()).to_pandas()
    return {
        "import_s": imports,
        "import_total_s": round(sum(imports.values()), 2),
        "rows": rows,
        "runs": runs,
        "members": dict(zip(members["segment_id"], members["n"].astype(int), strict=True)),
        "peak_rss_mb": _peak_rss_mb(),
        **({"spark": spark} if spark else {}),
    }


def _jvm_peak_mb(session: Any) -> float | None:
    """Peak resident memory of a local Spark session's JVM (the driver and, in local
    mode, the executors): ``VmHWM`` of its process, which ``ru_maxrss`` does not count."""
    process = getattr(session.sparkContext._gateway, "proc", None)
    if process is None:
        return None
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--postgres", default=POSTGRES, help="server and database")
    parser.add_argument("--spark-cores", type=int, default=2, help="local[N] of Spark")
    parser.add_argument("--engines", default="duckdb,postgres,spark", help="which to measure")
    args = parser.parse_args()
    chosen = args.engines.split(",")
    schema = f"cible_bench_{uuid.uuid4().hex[:8]}"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cible-backends-") as tmp:
        folder = Path(tmp)
        generated = _in_child(generate, folder, args.customers, args.orders, args.events)
        results["duckdb"] = _in_child(import_and_run, folder, {"backend": "duckdb"}, "duck")
        if "postgres" in chosen:
            backend = f"{args.postgres.rstrip('/')}/{schema}"
            try:
                results["postgres"] = _in_child(import_and_run, folder, {"backend": backend}, "pg")
            finally:
                address = args.postgres.replace("postgres://", "postgresql://", 1)
                with psycopg.connect(address, autocommit=True) as admin:
                    admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if "spark" in chosen:
            spark = {"backend": "spark", "spark": {"master": f"local[{args.spark_cores}]"}}
            results["spark"] = _in_child(import_and_run, folder, spark, "spark")
    duck = results["duckdb"]
    same = {
        name: found["rows"] == duck["rows"] and found["members"] == duck["members"]
        for name, found in results.items()
        if name != "duckdb"
    }
    print(
        json.dumps(
            {
                "sizes": {
                    "customers": args.customers,
                    "orders": args.orders,
                    "events": args.events,
                },
                "generate_s": round(generated["generate_s"], 2),
                **results,
                "same_rows_and_members_as_duckdb": same,
            }
        )
    )
    if not all(same.values()):
        raise SystemExit("An engine disagrees with DuckDB: see the JSON above.")


if __name__ == "__main__":
    main()
