"""The sweep: memberships that change because time passes, kept current while serving.

Events move the customers they name at once (:mod:`cible.server.batcher`), but time
moves everyone: a view leaves a ``within_days`` window, recency grows, a customer
becomes ``at_risk`` without doing anything. Which customers will change by the next
sweep cannot be told cheaply in general (any trait of recency, any window, any
``count = 0`` condition, for customers with or without memberships), so the sweep
re-evaluates every customer of the ``customers`` table, in pages of at most ``[live]
sweep_chunk`` customers by id, every ``[live] sweep_interval_seconds`` seconds. Each
page is one ``ws.segments.refresh`` on the database thread, in the background: live
refreshes of new events and requests go first, and pages are sized to take about
``[live] sweep_page_seconds`` (a second by default; :func:`sweep_once`),
so that those wait little. Transitions are written with source ``sweep``.

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
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from cible.segments.live import customer_page
from cible.server.database import Database
from cible.workspace import Workspace

_log = logging.getLogger(__name__)


#: Seconds one page should take by default (``[live] sweep_page_seconds``): a live
#: refresh waiting behind a page waits this long at most (about).
PAGE_SECONDS = 1.0
#: The smallest page, so that a slow machine still moves forward.
MIN_PAGE = 10


async def sweep_once(database: Database, *, chunk: int, page_seconds: float = PAGE_SECONDS) -> int:
    """Re-evaluate every customer now, at most ``chunk`` at a time; return how many moved.

    The page size adapts: halved when a page took longer than ``page_seconds``,
    doubled (up to ``chunk``) when it took less than half of it. On a large workspace
    a page of ``chunk`` customers scans whole tables and would hold the database
    thread for seconds, while a few hundred are read through the customer indexes.

    A customer moved when the refresh wrote at least one transition for them; the
    count returned is of transitions (entered and exited).
    """
    after: str | None = None
    moved = 0
    size = min(chunk, MIN_PAGE)
    while True:
        # Timed on the database thread: waiting for a turn is not the page's cost.
        ids, transitions, took = await database.call(
            partial(_page, after=after, chunk=size), background=True
        )
        moved += transitions
        if len(ids) < size:
            return moved
        after = ids[-1]
        if took > page_seconds:
            size = max(min(MIN_PAGE, chunk), size // 2)
        elif took < page_seconds / 2:
            size = min(chunk, size * 2)


def _page(ws: Workspace, *, after: str | None, chunk: int) -> tuple[list[str], int, float]:
    """The page's ids, the transitions its refresh wrote, and the seconds it took."""
    started = time.monotonic()
    ids = customer_page(ws.table("customers"), after=after, limit=chunk)
    if not ids:
        return ids, 0, time.monotonic() - started
    done = ws.segments.refresh(ids, source="sweep")
    return ids, done.entered + done.exited, time.monotonic() - started


@asynccontextmanager
async def sweeping(database: Database) -> AsyncIterator[None]:
    """Sweep every ``[live] sweep_interval_seconds`` seconds during the block.

    Reads ``[live]`` from the workspace; an interval of 0, or ``refresh = false``
    (segments change only with runs), sweeps never. A sweep that
    fails is logged and tried again at the next interval. On exit the sweep under way
    stops between two pages.
    """
    settings = await database.call(lambda ws: ws.config.live)
    if settings.sweep_interval_seconds == 0 or not settings.refresh:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.sweep_interval_seconds)
            try:
                await sweep_once(
                    database,
                    chunk=settings.sweep_chunk,
                    page_seconds=settings.sweep_page_seconds,
                )
            except Exception:  # the next sweep tries again
                _log.exception("Sweep failed")

    task = asyncio.create_task(loop(), name="cible-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
