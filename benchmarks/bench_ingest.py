"""Live ingestion through the Segment-compatible API, on loopback, against the obvious way.

Two measures, each beside its alternative in the same run:

1. ``/v1/batch``: events per second durably stored (each request answered after
   its micro-batch committed), from concurrent httpx clients sending batches of 500
   track events; beside it, the same events written straight into DuckDB with one
   ``INSERT`` per event against a primary key on ``message_id`` (what a first server
   would do), no HTTP at all.
2. ``/v1/track``: single requests per second from concurrent clients, with group
   commit; beside it, the same server with one transaction per request
   (``batch_max_messages = 1``).

The server runs in its own process (uvicorn, 127.0.0.1), so the client's work does
not share its interpreter. After each run the script checks that every event was
stored once.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--events N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx

from cible import Workspace

KEY = "bench-key"
BATCH = 500


def serve(folder: Path, port: int, max_messages: int, max_wait: float) -> None:
    """The server process: the ingestion router on a workspace, until terminated."""
    import uvicorn
    from fastapi import FastAPI

    from cible.server.batcher import Batcher
    from cible.server.database import Database
    from cible.server.ingest import Ingestion, ingest_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            Database.open(folder) as db,
            Batcher.running(db, max_messages=max_messages, max_wait=max_wait) as batcher,
        ):
            app.include_router(ingest_router(Ingestion(batcher, {KEY}.__contains__)))
            yield

    app = FastAPI(lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def track(i: int) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"m{i:09d}",
        "userId": f"c{i % 50_000}",
        "event": "Product Viewed",
        "timestamp": "2024-05-01T12:00:00Z",
        "properties": {"product_id": f"p{i % 997}", "price": 19.9, "category": "shoes"},
        "context": {"ip": "10.0.0.1", "library": {"name": "bench"}},
    }


async def _send(url: str, bodies: list[tuple[str, bytes]], concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        queue = list(reversed(bodies))

        async def worker() -> None:
            while queue:
                path, body = queue.pop()
                response = await client.post(
                    path, content=body, auth=(KEY, ""), headers={"content-type": "application/json"}
                )
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def through_server(
    bodies: list[tuple[str, bytes]], concurrency: int, *, max_messages: int, max_wait: float
) -> tuple[float, int]:
    """Seconds to send ``bodies``, and the events stored (read after the server stops)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ws"
        Workspace.create(folder).close()
        port = _port()
        context = multiprocessing.get_context("spawn")
        process = context.Process(target=serve, args=(folder, port, max_messages, max_wait))
        process.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{url}/v1/track", json={}, auth=(KEY, ""))
                break
            except httpx.TransportError:
                time.sleep(0.1)
        try:
            seconds = asyncio.run(_send(url, bodies, concurrency))
        finally:
            process.terminate()
            process.join(30)
        with Workspace.open(folder) as ws:
            stored = int(ws.table("events").count().execute())
    return seconds, stored


def direct_inserts(events: list[dict[str, Any]]) -> float:
    """One INSERT per event into a DuckDB events table keyed by message_id."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "direct.duckdb"))
        con.execute(
            "CREATE TABLE events (message_id VARCHAR PRIMARY KEY, customer_id VARCHAR, "
            "anonymous_id VARCHAR, type VARCHAR, event VARCHAR, properties JSON, "
            "timestamp TIMESTAMP, received_at TIMESTAMP, context JSON)"
        )
        start = time.perf_counter()
        for e in events:
            con.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                [
                    e["messageId"],
                    e["userId"],
                    e["type"],
                    e["event"],
                    json.dumps(e["properties"]),
                    datetime(2024, 5, 1, 12),
                    datetime.now(),
                    json.dumps(e["context"]),
                ],
            )
        seconds = time.perf_counter() - start
        con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    events = [track(i) for i in range(args.events)]
    batches = [
        ("/v1/batch", json.dumps({"batch": events[i : i + BATCH]}).encode())
        for i in range(0, len(events), BATCH)
    ]
    seconds, stored = through_server(batches, 4, max_messages=5_000, max_wait=0.005)
    assert stored == args.events, (stored, args.events)
    direct_n = min(args.events, 50_000)
    direct = direct_inserts(events[:direct_n])
    batch_rate, direct_rate = args.events / seconds, direct_n / direct
    print(f"/v1/batch ({BATCH} events a request): {batch_rate:,.0f} events/s stored")
    print(f"one INSERT per event into DuckDB:    {direct_rate:,.0f} events/s")
    print(f"ratio: {batch_rate / direct_rate:.1f}x")

    singles = [("/v1/track", json.dumps(track(i)).encode()) for i in range(args.requests)]
    grouped, stored = through_server(singles, args.concurrency, max_messages=5_000, max_wait=0.002)
    assert stored == args.requests, (stored, args.requests)
    one_each_n = min(args.requests, 3_000)
    one_each, stored = through_server(
        singles[:one_each_n], args.concurrency, max_messages=1, max_wait=0.0
    )
    assert stored == one_each_n, (stored, one_each_n)
    grouped_rate, one_rate = args.requests / grouped, one_each_n / one_each
    print(f"/v1/track, group commit:            {grouped_rate:,.0f} requests/s")
    print(f"/v1/track, one transaction each:    {one_rate:,.0f} requests/s")
    print(f"ratio: {grouped_rate / one_rate:.1f}x")


if __name__ == "__main__":
    main()
