"""The sweep: memberships that change because time passes, kept current while serving.

Events move the customers they name at once (:mod:`cible.server.batcher`), but time
moves everyone: a view leaves a ``within_days`` window, recency grows, a customer
becomes ``at_risk`` without doing anything. Which customers will change by the next
sweep cannot be told cheaply in general (any trait of recency, any window, any
``count = 0`` condition, for customers with or without memberships), so the sweep
re-evaluates every customer of the ``customers`` table, in pages of ``[live]
sweep_chunk`` customers by id, every ``[live] sweep_interval_seconds`` seconds. Each
page is one ``ws.segments.refresh`` on the database thread: live refreshes of new
events take their turn between two pages. Transitions are written with source
``sweep``.

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db:
...         return await sweep_once(db, chunk=100)
>>> asyncio.run(main())
0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from cible.segments.live import customer_page
from cible.server.database import Database
from cible.workspace import Workspace

_log = logging.getLogger(__name__)


async def sweep_once(database: Database, *, chunk: int) -> int:
    """Re-evaluate every customer now, ``chunk`` at a time; return how many moved.

    A customer moved when the refresh wrote at least one transition for them; the
    count returned is of transitions (entered and exited).
    """
    after: str | None = None
    moved = 0
    while True:
        ids, transitions = await database.call(partial(_page, after=after, chunk=chunk))
        moved += transitions
        if len(ids) < chunk:
            return moved
        after = ids[-1]


def _page(ws: Workspace, *, after: str | None, chunk: int) -> tuple[list[str], int]:
    ids = customer_page(ws.table("customers"), after=after, limit=chunk)
    if not ids:
        return ids, 0
    done = ws.segments.refresh(ids, source="sweep")
    return ids, done.entered + done.exited


@asynccontextmanager
async def sweeping(database: Database) -> AsyncIterator[None]:
    """Sweep every ``[live] sweep_interval_seconds`` seconds during the block.

    Reads ``[live]`` from the workspace; an interval of 0 sweeps never. A sweep that
    fails is logged and tried again at the next interval. On exit the sweep under way
    stops between two pages.
    """
    settings = await database.call(lambda ws: ws.config.live)
    if settings.sweep_interval_seconds == 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.sweep_interval_seconds)
            try:
                await sweep_once(database, chunk=settings.sweep_chunk)
            except Exception:  # the next sweep tries again
                _log.exception("Sweep failed")

    task = asyncio.create_task(loop(), name="cible-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
