"""The automation worker: runs ``ws.automations.process`` while the server serves.

Each pass reads the outbox (segment transitions, tag changes, events that matched a
trigger), starts and moves runs, and queues deliveries, all in one transaction
(:mod:`cible.activation.automations`). A pass runs as soon as something may have
arrived — the batcher and the tag routes :meth:`AutomationWorker.wake` it — and at
least every ``idle`` seconds, for runs whose wait is over; the first pass of each
hour checks date triggers (birthdays, expected next orders). Passes follow each other
while they find work: tags set by a pass re-evaluate their customers, whose
transitions the next pass reads. ``after_pass`` is called when a pass queued
deliveries (the delivery worker's wake-up).

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db, AutomationWorker.running(db) as worker:
...         worker.wake()
...         await asyncio.sleep(0.05)
...         return worker.passes >= 1
>>> asyncio.run(main())
True
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from cible.activation.automations import Pass
from cible.domain.clock import utc_now
from cible.server.database import Database

_log = logging.getLogger(__name__)

#: Seconds between passes when nothing wakes the worker (waits that end).
IDLE_SECONDS = 1.0
#: Passes in a row before the worker lets other work through (a long chain).
_MAX_CHAIN = 50


class AutomationWorker:
    """Runs automation passes on the database thread. Use :meth:`running`."""

    def __init__(
        self,
        database: Database,
        *,
        after_pass: Callable[[], object] | None = None,
        idle: float = IDLE_SECONDS,
    ) -> None:
        self.database = database
        self.after_pass = after_pass
        self.idle = idle
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        # Date triggers are checked on the first pass of each hour: a customer starts
        # once per day of the workspace's time zone, whenever that day begins.
        self._dates_checked: datetime | None = None
        #: Passes run, and those that failed (for tests and the status).
        self.passes = 0
        self.failures = 0

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        database: Database,
        *,
        after_pass: Callable[[], object] | None = None,
        idle: float = IDLE_SECONDS,
    ) -> AsyncIterator[AutomationWorker]:
        """Run the worker for the block; on exit, let the pass under way end."""
        worker = cls(database, after_pass=after_pass, idle=idle)
        task = asyncio.create_task(worker._loop(), name="cible-automations")
        try:
            yield worker
        finally:
            worker._stop.set()
            worker._wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Run a pass soon: something may have reached the outbox."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle)
            self._wake.clear()
            if self._stop.is_set():
                return
            for _ in range(_MAX_CHAIN):
                done = await self._pass()
                if done is None or not (done.handled or done.advanced):
                    break

    async def _pass(self) -> Pass | None:
        hour = utc_now().replace(minute=0, second=0, microsecond=0)
        dates = self._dates_checked != hour
        try:
            done: Pass = await self.database.call(lambda ws: ws.automations.process(dates=dates))
        except Exception:  # the outbox rows stay: the next pass tries them again
            self.failures += 1
            _log.exception("Automation pass failed")
            await asyncio.sleep(self.idle)
            return None
        self.passes += 1
        if dates and done.led:
            # Checked by this process: a server that only waits to lead checks the
            # dates of the hour itself once it does.
            self._dates_checked = hour
        if done.deliveries and self.after_pass is not None:
            self.after_pass()
        return done
