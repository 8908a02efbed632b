"""The database thread: background work (the sweep) gives way to requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from cible import Workspace
from cible.server.database import Database


def test_background_work_waits_for_the_foreground(tmp_path: Path):
    Workspace.create(tmp_path / "shop").close()
    order: list[str] = []

    def slow(name: str) -> Callable[[Workspace], None]:
        def work(ws: Workspace) -> None:
            time.sleep(0.05)
            order.append(name)

        return work

    async def main() -> None:
        async with Database.open(tmp_path / "shop") as db:
            first = asyncio.create_task(db.call(slow("request 1")))
            await asyncio.sleep(0.01)
            sweep = asyncio.create_task(db.call(slow("sweep page"), background=True))
            await asyncio.sleep(0.01)
            second = asyncio.create_task(db.call(slow("request 2")))
            await asyncio.gather(first, sweep, second)

    asyncio.run(main())
    assert order == ["request 1", "request 2", "sweep page"]
