"""Time from an event posted to ``cible serve`` to its segment transition, on loopback.

A real ``cible serve`` process on 127.0.0.1 serves a copy of a workspace that has had
a run, with one more rule segment, ``live-viewers`` (a ``product_viewed`` event in the
last day). Each probe posts one ``product_viewed`` event of a customer outside that
segment to ``/v1/track``, then reads ``GET /api/customers/{id}`` every few
milliseconds until the customer is shown in ``live-viewers``: the time measured runs
from the post to that read, as a marketer's tool would see it. Probes run one after
the other, first on a quiet server, then while background clients post events of
other customers at a steady rate (``--rates``), and with ``--sweep`` once more while
the sweep re-evaluates every customer page after page. The obvious alternative, a full run
(``POST /api/runs``) after the event, is timed once beside them.

The workspace is the shop of ``bench_run.py`` (deterministic, hashed row numbers),
generated, imported and run once into ``--folder`` and reused while its recipe is
unchanged; the served copy is deleted at the end.

Run: ``.venv/bin/python benchmarks/bench_live.py [--customers N --orders N --events N]
[--probes 100] [--rates 0,20] [--folder DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import bench_run
from cible import Workspace

CIBLE = str(Path(sys.executable).parent / "cible")
SEGMENT = """
id: live-viewers
name: {en: Viewed a product today, fr: A vu un produit aujourd'hui}
where: {event: product_viewed, within_days: 1}
"""


def prepare(folder: Path, customers: int, orders: int, events: int) -> Path:
    """The generated shop's workspace, imported and run once (reused when unchanged)."""
    recipe = inspect.getsource(bench_run.generate) + inspect.getsource(bench_run.load)
    recipe += repr((customers, orders, events, bench_run.AS_OF, bench_run.SEGMENTS))
    digest = hashlib.sha256(recipe.encode()).hexdigest()
    stamp = folder / "prepared-live.json"
    if not stamp.exists() or json.loads(stamp.read_text()).get("digest") != digest:
        shutil.rmtree(folder / "ws", ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating {customers:,} customers, {orders:,} orders, {events:,} events")
        bench_run.generate(folder, customers, orders, events)
        loaded = bench_run.load(folder)
        print("import (s):", {k: round(v, 1) for k, v in loaded["import_s"].items()})
        with Workspace.open(folder / "ws") as ws:
            bench_run._quiet(ws)
            start = time.perf_counter()
            ws.run(as_of=bench_run.AS_OF)
            print(f"first run: {time.perf_counter() - start:.1f} s")
        stamp.write_text(json.dumps({"digest": digest}))
    return folder / "ws"


def serve(shop: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A ``cible serve`` process on a free loopback port, and its URL once it listens."""
    served = shop / "cible.serve.json"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [CIBLE, "serve", "--host", "127.0.0.1", "--port", "0", "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    deadline = time.monotonic() + 300
    while not served.exists() or json.loads(served.read_text())["pid"] != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process, str(json.loads(served.read_text())["url"])


def _event(customer: str, n: str) -> dict[str, Any]:
    return {
        "userId": customer,
        "event": "product_viewed",
        "messageId": f"live-{n}",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {"product_id": "P00001", "category": "books"},
    }


async def _probe(client: httpx.AsyncClient, keys: dict[str, str], customer: str) -> float:
    start = time.perf_counter()
    posted = await client.post(
        "/v1/track", json=_event(customer, f"p-{customer}"), auth=(keys["ingest"], "")
    )
    posted.raise_for_status()
    headers = {"Authorization": f"Bearer {keys['analyst']}"}
    while True:
        found = await client.get(f"/api/customers/{customer}", headers=headers)
        found.raise_for_status()
        if any(
            m["segment_id"] == "live-viewers" and m["current"] for m in found.json()["memberships"]
        ):
            return time.perf_counter() - start
        if time.perf_counter() - start > 60:
            raise SystemExit(f"{customer} never entered live-viewers")
        await asyncio.sleep(0.005)


async def _background(
    client: httpx.AsyncClient, key: str, customers: list[str], rate: float, stop: asyncio.Event
) -> int:
    """Post events of ``customers`` at ``rate`` a second, one request each, until ``stop``."""
    sent, start = 0, time.perf_counter()
    pending: set[asyncio.Task[Any]] = set()
    while not stop.is_set():
        due = start + sent / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = asyncio.create_task(
            client.post(
                "/v1/track",
                json=_event(customers[sent % len(customers)], f"b-{sent}"),
                auth=(key, ""),
            )
        )
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += 1
    await asyncio.gather(*pending)
    return sent


async def measure(
    url: str, keys: dict[str, str], probes: list[str], others: list[str], rate: float
) -> dict[str, Any]:
    """Latencies of ``probes``, one after the other, with background load at ``rate``."""
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        stop = asyncio.Event()
        load = (
            asyncio.create_task(_background(client, keys["ingest"], others, rate, stop))
            if rate
            else None
        )
        started = time.perf_counter()
        arrival = [await _probe(client, keys, customer) for customer in probes]
        times = sorted(arrival)
        slowest = sorted(range(len(arrival)), key=arrival.__getitem__)[-3:]
        elapsed = time.perf_counter() - started
        stop.set()
        sent = await load if load else 0
    return {
        "background_events_per_s": rate,
        "background_events": sent,
        "background_measured_per_s": round(sent / elapsed, 1),
        "probes": len(times),
        "p50_ms": round(statistics.median(times) * 1000),
        "p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))] * 1000),
        "max_ms": round(times[-1] * 1000),
        "slowest_probes": {n: round(arrival[n] * 1000) for n in reversed(slowest)},
    }


async def full_run(url: str, admin: str) -> float:
    """Seconds for ``POST /api/runs`` to finish (the alternative to a live refresh)."""
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        start = time.perf_counter()
        accepted = await client.post("/api/runs", headers=headers, json={})
        accepted.raise_for_status()
        while True:
            job = (await client.get(accepted.json()["url"], headers=headers)).json()
            if job["state"] in ("succeeded", "failed"):
                if job["state"] == "failed":
                    raise SystemExit(f"the run failed: {job}")
                return time.perf_counter() - start
            await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--rates", default="0,20", help="background events/s, comma-separated")
    parser.add_argument("--folder", type=Path, help="keep (and reuse) the workspace here")
    parser.add_argument("--sweep", action="store_true", help="measure again during a sweep")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="cible-live-")
    folder = args.folder or Path(scratch.name) / "shop"
    source = prepare(folder, args.customers, args.orders, args.events)
    shop = Path(scratch.name) / "served"
    shutil.copytree(source, shop)
    try:
        with Workspace.open(shop) as ws:
            counts = ws.counts()
            ws.segments.add(SEGMENT)
            keys = {
                role: ws.tokens.create(f"bench {role}", role)[0]
                for role in ("ingest", "analyst", "admin")
            }
            ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        print(
            f"{counts['customers']:,} customers, {counts['orders']:,} orders, "
            f"{counts['events']:,} events"
        )
        random.seed(7)
        picked = random.sample(ids, args.probes * 8 + 10_000)
        process, url = serve(shop, Path(scratch.name) / "serve.log")
        try:
            # The first refresh records the plan the others replay (store/prepared.py).
            asyncio.run(measure(url, keys, picked[:3], [], 0))
            results = []
            for n, rate in enumerate(float(r) for r in args.rates.split(",")):
                probes = picked[3 + n * args.probes : 3 + (n + 1) * args.probes]
                others = picked[args.probes * 8 :]
                results.append(asyncio.run(measure(url, keys, probes, others, rate)))
                print(json.dumps(results[-1]))
            run_s = asyncio.run(full_run(url, keys["admin"]))
            print(f"full run after the events: {run_s:.1f} s")
        finally:
            process.terminate()
            process.wait(timeout=120)
        if args.sweep:
            # Again while the sweep re-evaluates everyone, page after page, all along.
            settings = shop / "cible.toml"
            text = settings.read_text().replace("interval_seconds = 300", "interval_seconds = 1")
            settings.write_text(text)
            process, url = serve(shop, Path(scratch.name) / "serve.log")
            try:
                time.sleep(3)
                rate = float(args.rates.split(",")[-1])
                probes = picked[args.probes * 6 : args.probes * 7]
                result = asyncio.run(measure(url, keys, probes, picked[args.probes * 8 :], rate))
                print(json.dumps({"sweep_running": True, **result}))
            finally:
                process.terminate()
                process.wait(timeout=120)
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
