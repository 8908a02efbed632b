"""How time and memory grow from 1M to 100M orders on one machine, DuckDB held to 6 GB.

For each size (millions of orders; 10 orders and 20 events per customer, as in
``bench_run.py``) the script generates the deterministic shop of ``bench_run.py``
as Parquet, imports it into a new workspace whose ``cible.toml`` caps DuckDB's memory
(``[engine] memory_limit``, default ``6GB``: beyond it DuckDB spills to disk beside the
database), adds the five rule segments, and runs it (``ws.run``, one or more times a
day apart). Each step runs in its own process and its peak resident memory is read
from the kernel (``ru_maxrss``: DuckDB's memory included, it lives in the process).

Then, up to ``--pandas-up-to`` millions of orders, the obvious alternative: pandas
computing the same traits, RFM, lifecycle and rule members (``bench_run.run_pandas``,
checked against Cible's traits for every customer). Above it pandas' traits are
tried once under ``--pandas-cap`` of address space (default 20 GiB of the machine's
24): where the rows do not fit, the time until pandas ran out of memory is recorded.

At the sizes named by ``--live``, real-time updates on top: a ``cible serve`` process
on 127.0.0.1 serves the run workspace, with one more rule segment (``live-viewers``,
a product view in the last day); each probe posts a ``product_viewed`` event of a
customer outside it and reads the customer until the membership shows
(``bench_live.measure``). The server's peak memory is read from ``/proc``.

Results are appended to ``--folder``/results.jsonl, one line per size, as soon as a
size is done; the shop of each size is deleted afterwards unless ``--keep``.

Run: ``.venv/bin/python benchmarks/bench_scale.py --sizes 1,3,10,30 --live 30`` (about
an hour on 2 cores, 25 GB of free disk; ``make bench-scale``). ``--sizes 100 --live 100
--pandas-cap 0`` generates, imports, runs and serves 100M orders in about an hour with
50 GB of free disk (``make bench-scale SIZES=100 LIVE=100`` also tries pandas under its
cap; docs/performance.md, "Scale").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_live
import bench_run
from cible import Workspace

MILLION = 1_000_000


def run_only(folder: Path, repeat: int) -> dict[str, Any]:
    """``ws.run`` ``repeat`` times, a day apart, with the seconds of each step."""
    runs = []
    with Workspace.open(folder / "ws") as ws:
        bench_run._quiet(ws)
        for n in range(repeat):
            marks: list[tuple[str, float]] = []

            def mark(
                step: str, done: int, total: int, marks: list[tuple[str, float]] = marks
            ) -> None:
                marks.append((step, time.perf_counter()))

            start = time.perf_counter()
            record = ws.run(as_of=bench_run.AS_OF - timedelta(days=repeat - 1 - n), progress=mark)
            runs.append(
                {
                    "seconds": round(time.perf_counter() - start, 1),
                    "breakdown_s": {
                        k: round(v, 1)
                        for k, v in bench_run._breakdown(start, marks).items()
                        if v >= 0.5
                    },
                    "memberships": record.memberships,
                }
            )
    return {"runs": runs, "peak_rss_mb": bench_run._peak_rss_mb()}


def live(folder: Path, probes: int) -> dict[str, Any]:
    """Event-to-membership latency through a real ``cible serve`` on the run workspace."""
    shop = folder / "ws"
    with Workspace.open(shop) as ws:
        ws.segments.add(bench_live.SEGMENT)
        keys = {
            role: ws.tokens.create(f"bench {role}", role)[0]
            for role in ("ingest", "analyst", "admin")
        }
        # A sample of ids, drawn by DuckDB: reading 10M ids into Python is not the point.
        ids = [
            row[0]
            for row in ws.store.connection.sql(
                f"SELECT customer_id FROM customers USING SAMPLE {probes * 8 + 2_000} ROWS"
            ).fetchall()
        ]
    random.Random(7).shuffle(ids)
    started = time.perf_counter()
    process, url = bench_live.serve(shop, folder / "serve.log")
    try:
        ready_s = time.perf_counter() - started
        asyncio.run(bench_live.measure(url, keys, ids[:3], [], 0))
        quiet = asyncio.run(bench_live.measure(url, keys, ids[3 : 3 + probes], [], 0))
        loaded = asyncio.run(
            bench_live.measure(url, keys, ids[3 + probes : 3 + 2 * probes], ids[probes * 8 :], 20)
        )
        peak = _server_peak_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=300)
    return {
        "server_ready_s": round(ready_s, 1),
        "quiet": quiet,
        "at_20_events_per_s": loaded,
        "server_peak_rss_mb": peak,
    }


def pandas_capped(folder: Path, cap_gib: float) -> dict[str, Any]:
    """pandas' traits with at most ``cap_gib`` of address space: its time, or its failure."""
    cap = int(cap_gib * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    start = time.perf_counter()
    try:
        bench_run.pandas_traits(folder, bench_run.AS_OF)
    except MemoryError as error:  # pyarrow's ArrowMemoryError is one too
        return {
            "cap_gib": cap_gib,
            "failed_after_s": round(time.perf_counter() - start, 1),
            "error": f"{type(error).__name__}: {str(error)[:200]}",
            "peak_rss_mb": bench_run._peak_rss_mb(),
        }
    return {
        "cap_gib": cap_gib,
        "traits_s": round(time.perf_counter() - start, 1),
        "peak_rss_mb": bench_run._peak_rss_mb(),
    }


def _server_peak_mb(pid: int) -> float:
    """The peak resident memory of a running process (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _disk_gb(path: Path) -> float:
    """Gigabytes under ``path`` (``du``: what the files take on disk)."""
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return round(int(out.stdout.split()[0]) / 1024**2, 2)


def measure_size(args: argparse.Namespace, millions: float) -> dict[str, Any]:
    """Every step at ``millions`` of orders; the shop's folder is removed after unless kept."""
    orders = int(millions * MILLION)
    sizes = (orders // 10, orders, orders * 2)
    folder = args.folder / f"{millions:g}M"
    stamp = folder / "generated.json"
    if args.reuse and stamp.exists():
        # Files of an earlier attempt at this size (kept with --keep): a new workspace.
        shutil.rmtree(folder / "ws", ignore_errors=True)
        generated = json.loads(stamp.read_text())
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        generated = {}
    result: dict[str, Any] = {
        "orders": orders,
        "customers": sizes[0],
        "events": sizes[2],
        "memory_limit": args.memory_limit,
    }
    try:
        if not generated:
            generated = bench_run._in_child(_generate, folder, *sizes, args.memory_limit)
            stamp.write_text(json.dumps(generated))
        result["generate_s"] = round(generated["generate_s"], 1)
        result["parquet_gb"] = _disk_gb(folder)
        loaded = bench_run._in_child(bench_run.load, folder, args.memory_limit)
        result["import_s"] = round(sum(loaded["import_s"].values()), 1)
        result["import_by_table_s"] = {k: round(v, 1) for k, v in loaded["import_s"].items()}
        result["rows"] = {k: v["loaded"] for k, v in loaded["rows"].items()}
        result["import_peak_rss_mb"] = loaded["peak_rss_mb"]
        ran = bench_run._in_child(run_only, folder, args.repeat)
        result["runs"] = ran["runs"]
        result["run_s"] = min(r["seconds"] for r in ran["runs"])
        result["run_peak_rss_mb"] = ran["peak_rss_mb"]
        result["workspace_gb"] = _disk_gb(folder / "ws")
        if millions <= args.pandas_up_to:
            pandas = bench_run._in_child(bench_run.run_pandas, folder, 1)
            result["pandas_traits_s"] = round(min(pandas["traits_seconds"]), 1)
            result["pandas_same_work_s"] = round(min(pandas["seconds"]), 1)
            result["pandas_peak_rss_mb"] = pandas["peak_rss_mb"]
            result["pandas_check"] = bench_run._in_child(bench_run.compare, folder)
        if millions in args.live:
            result["live"] = bench_run._in_child(live, folder, args.probes)
        if millions > args.pandas_up_to and args.pandas_cap:
            try:
                capped = bench_run._in_child(pandas_capped, folder, args.pandas_cap)
            except Exception as error:  # the child died (an allocator that aborts)
                capped = {"cap_gib": args.pandas_cap, "died": f"{type(error).__name__}: {error}"}
            result["pandas_capped"] = capped
    # A failed size (memory, disk) is a result: recorded, and the next size runs.
    except Exception as error:
        result["failed"] = f"{type(error).__name__}: {error}"
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def _generate(
    folder: Path, customers: int, orders: int, events: int, memory_limit: str
) -> dict[str, Any]:
    return bench_run.generate(folder, customers, orders, events, memory_limit=memory_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10,100", help="millions of orders")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pandas-up-to", type=float, default=10)
    parser.add_argument(
        "--pandas-cap", type=float, default=20, help="GiB for pandas above --pandas-up-to; 0: none"
    )
    parser.add_argument("--live", default="", help="sizes with live probes")
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--folder", type=Path, default=Path("bench-data/scale"))
    parser.add_argument("--keep", action="store_true", help="keep each size's files")
    parser.add_argument("--reuse", action="store_true", help="reuse files kept by --keep")
    args = parser.parse_args()
    args.live = {float(s) for s in args.live.split(",") if s}
    args.folder.mkdir(parents=True, exist_ok=True)
    for millions in (float(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        result = measure_size(args, millions)
        result["total_s"] = round(time.perf_counter() - started, 1)
        line = json.dumps(result)
        print(line, flush=True)
        with (args.folder / "results.jsonl").open("a") as out:
            out.write(line + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
