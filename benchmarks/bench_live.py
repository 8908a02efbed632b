"""Time from an event submitted to its recorded segment transition, against a full run.

Usage: ``python benchmarks/bench_live.py WORKSPACE [--events 200]`` on a workspace that
has had a run (``cible demo``). Each event is a ``product_viewed`` of one customer,
submitted alone through the group-commit batcher on the database thread, as the
``/v1`` routes do; the time measured runs from the submission to the end of the live
refresh that wrote its transitions (history and outbox committed). The obvious
alternative, a full ``ws.run`` after the event, is timed once beside it. The
workspace is copied first: the original is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from cible import Workspace
from cible.ingest.payloads import Track
from cible.server.batcher import Batcher
from cible.server.database import Database


async def _latencies(folder: Path, ids: list[str], count: int) -> list[float]:
    times = []
    async with Database.open(folder) as db, Batcher.running(db) as batcher:
        for n in range(count):
            event = Track.model_validate(
                {"userId": random.choice(ids), "event": "product_viewed", "messageId": f"b{n}"}
            )
            start = time.perf_counter()
            done = batcher.refreshes
            await batcher.submit([event])
            while batcher.refreshes == done:  # the refresh follows the acknowledgement
                await asyncio.sleep(0.0005)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "copy"
        shutil.copytree(args.workspace, folder)
        with Workspace.open(folder) as ws:
            counts = ws.counts()
            ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        print(
            f"{counts['customers']:,} customers, {counts['orders']:,} orders, "
            f"{counts['events']:,} events"
        )
        times = sorted(asyncio.run(_latencies(folder, ids, args.events)))
        p50 = statistics.median(times)
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(
            f"live refresh: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms ({len(times)} events)"
        )
        with Workspace.open(folder) as ws:
            start = time.perf_counter()
            ws.run()
            full = time.perf_counter() - start
        print(f"full run after the event: {full:.1f} s ({full / p50:.0f}x the live p50)")


if __name__ == "__main__":
    main()
