"""The served workspace keeps segments current: after each micro-batch, and by sweeps."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.ingest.payloads import Track
from cible.server.batcher import Batcher
from cible.server.database import Database
from cible.server.sweep import sweep_once, sweeping

CUSTOMERS = "customer_id,email,city\nA,a@x.fr,Lyon\nB,b@x.fr,Paris\nL,l@x.fr,Lyon\n"
ORDERS = "order_id,customer_id,ordered_at,amount\n1,A,2024-01-05,600\n2,B,2024-01-10,50\n"
VIEWERS = """
id: viewers
name: Viewers
where: {event: product_viewed, count: {op: ">=", value: 2}, within_days: 1}
"""


def _shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    with Workspace.create(folder) as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
            (tmp_path / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, tmp_path / f"{kind}.csv")
        ws.segments.add(VIEWERS)
        ws.run()
    return folder


def _views(customer: str, ago: timedelta, n: int = 2) -> list[Track]:
    stamp = (utc_now() - ago).isoformat()
    return [
        Track.model_validate(
            {
                "userId": customer,
                "event": "product_viewed",
                "timestamp": stamp,
                "messageId": f"{customer}-{ago}-{i}",
            }
        )
        for i in range(n)
    ]


def test_each_committed_batch_refreshes_its_customers(tmp_path: Path):
    folder = _shop(tmp_path)

    async def main() -> tuple[int, list[tuple[str, str, str]]]:
        async with Database.open(folder) as db, Batcher.running(db) as batcher:
            await batcher.submit(_views("L", timedelta(minutes=5)))
            # The refresh follows the acknowledgement; a next call waits for it.
            rows = await db.call(lambda ws: ws.store.pending_transitions())
            return batcher.refreshes, [(r.customer_id, r.segment_id, r.transition) for r in rows]

    refreshes, rows = asyncio.run(main())
    assert refreshes == 1
    assert ("L", "viewers", "entered") in rows


def test_a_sweep_moves_customers_time_made_leave(tmp_path: Path):
    folder = _shop(tmp_path)

    async def main() -> tuple[int, int, list[tuple[str, str, str, str]]]:
        async with Database.open(folder) as db:
            # Views of 23 hours ago: in the one-day window now, out of it at the sweep
            # once the clock has moved past it (the refresh is at `now`, the sweep later).
            await db.call(lambda ws: ws.events.append(_views("A", timedelta(hours=23))))
            await db.call(lambda ws: ws.segments.refresh(["A"]))
            quiet = await sweep_once(db, chunk=2)
            await db.call(lambda ws: ws.events.append(_views("B", timedelta(days=1, seconds=-1))))
            await db.call(lambda ws: ws.segments.refresh(["B"]))
            await asyncio.sleep(1.5)
            moved = await sweep_once(db, chunk=2)
            rows = await db.call(lambda ws: ws.store.pending_transitions())
            return (
                quiet,
                moved,
                [(r.customer_id, r.segment_id, r.transition, r.source) for r in rows],
            )

    quiet, moved, rows = asyncio.run(main())
    assert quiet == 0  # nothing changed between the refresh and the first sweep
    assert ("B", "viewers", "entered", "live") in rows
    assert ("B", "viewers", "exited", "sweep") in rows
    assert moved >= 1


def test_sweeping_runs_every_interval_and_stops(tmp_path: Path):
    folder = _shop(tmp_path)
    settings = folder / "cible.toml"
    text = settings.read_text()
    assert "sweep_interval_seconds = 300" in text
    settings.write_text(text.replace("sweep_interval_seconds = 300", "sweep_interval_seconds = 1"))

    async def main() -> list[str]:
        async with Database.open(folder) as db:
            await db.call(lambda ws: ws.events.append(_views("B", timedelta(days=1, seconds=-1))))
            await db.call(lambda ws: ws.segments.refresh(["B"]))
            async with sweeping(db):
                await asyncio.sleep(2.5)
            rows = await db.call(lambda ws: ws.store.pending_transitions())
            return [r.source for r in rows if r.transition == "exited"]

    assert asyncio.run(main()) == ["sweep"]


def test_no_sweep_when_live_refresh_is_off(tmp_path: Path):
    folder = _shop(tmp_path)
    settings = folder / "cible.toml"
    text = settings.read_text().replace(
        "sweep_interval_seconds = 300", "sweep_interval_seconds = 1"
    )
    settings.write_text(text.replace("refresh = true", "refresh = false"))

    async def main() -> int:
        async with Database.open(folder) as db:
            # B now views twice: a sweep would make B enter `viewers`.
            await db.call(lambda ws: ws.events.append(_views("B", timedelta(hours=1))))
            async with sweeping(db):
                await asyncio.sleep(1.5)
            return len(await db.call(lambda ws: ws.store.pending_transitions()))

    assert asyncio.run(main()) == 0


def test_sweep_pages_shrink_to_stay_short_and_grow_back(monkeypatch: pytest.MonkeyPatch):
    from cible.server import sweep

    everyone = [f"c{i:05d}" for i in range(5_000)]
    sizes: list[int] = []
    slow = {"pages": 3}

    def page(ws: object, *, after: str | None, chunk: int) -> tuple[list[str], int, float]:
        sizes.append(chunk)
        start = 0 if after is None else everyone.index(after) + 1
        # The first pages are slow (a large workspace), the next ones fast.
        took = sweep.PAGE_SECONDS * 1.2 if slow["pages"] else 0.0
        slow["pages"] = max(0, slow["pages"] - 1)
        return everyone[start : start + chunk], 0, took

    class Busy:
        async def call(self, work: Any, *, background: bool = False) -> Any:
            # Waiting for a turn (other work) must not count as the page's time.
            await asyncio.sleep(0.01)
            return work(None)

    monkeypatch.setattr(sweep, "_page", page)
    assert asyncio.run(sweep.sweep_once(Busy(), chunk=2_000, page_seconds=0.005)) == 0  # type: ignore[arg-type]
    assert sizes[:4] == [10, 10, 10, 10]
    assert max(sizes[4:]) == 2_000  # grown back, never past the setting
    assert sum(sizes[:-1]) < len(everyone) <= sum(sizes)  # every customer, once


def test_the_server_starts_when_preparing_live_refreshes_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from fastapi.testclient import TestClient

    from cible.segments.catalog import Segments
    from cible.server.app import create_app

    folder = _shop(tmp_path)

    def broken(self: Segments) -> bool:
        raise CibleError("A stored segment no longer parses.")

    monkeypatch.setattr(Segments, "prepare_live", broken)
    with TestClient(create_app(folder)) as client:
        assert client.get("/openapi.json").status_code == 200
