"""The delivery worker: sends the deliveries automations wrote, at least once.

One task in the server's lifespan loops: claim the due deliveries on the database
thread (``ws.deliveries.claim``: consent, frequency caps and quiet hours decided
there; a delivery that then waits more than :data:`RECHECK_SECONDS` for its turn has
its consent read again just before it is sent), send them concurrently
(``[activation] concurrency`` at once, one shared HTTP client), and record what
happened in one transaction per batch. It claims again as soon as there is room,
without waiting for the whole batch: a slow receiver does not hold the others back.
It wakes when :meth:`DeliveryWorker.wake` is called (after an automation enqueued
something) and every :data:`POLL_SECONDS` otherwise (retries that became due).

Nothing is lost on restart: claiming writes nothing, the worker only remembers in
memory which deliveries it is sending. A delivery sent but not yet recorded when the
process dies is still ``pending`` and is sent again after the restart, with the same
idempotency key (``webhook-id``, ``Message-ID``): receivers drop the repeat.

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db, DeliveryWorker.running(db) as worker:
...         worker.wake()
...         await asyncio.sleep(0.05)
...         return worker.sent
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

from cible.activation.deliveries import Sent
from cible.activation.network import Resolver, system_resolver
from cible.activation.sender import Sender
from cible.domain.clock import utc_now
from cible.server.database import Database
from cible.store.deliveries import DeliveryRow
from cible.workspace import Workspace

_log = logging.getLogger(__name__)

#: Seconds between two looks for due deliveries when nobody calls ``wake()``.
POLL_SECONDS = 0.2
#: Deliveries claimed and not yet recorded, at most, per unit of ``[activation]
#: concurrency``: enough queued that senders never wait for a claim...
QUEUE_FACTOR = 16
#: ...and claim again when fewer than this many (per unit) are left: each claim costs
#: the same Python work (consent read through Ibis) whether it brings 10 rows or 1,000.
REFILL_FACTOR = 4
#: Seconds finished sends wait to be recorded together (one transaction for them all).
RECORD_SECONDS = 0.05
#: A delivery that waited longer than this since its claim (a backlog, a slow
#: receiver) has its consent read again just before it is sent.
RECHECK_SECONDS = 1.0
#: Seconds the worker waits, when the server stops, for the sends under way.
DRAIN_SECONDS = 5.0


class DeliveryWorker:
    """Claims, sends and records deliveries while the server runs (see the module).

    Use :meth:`running`. ``wake()`` may be called from any thread.
    """

    def __init__(self, db: Database, sender: Sender, *, concurrency: int) -> None:
        self._db = db
        self._sender = sender
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._loop = asyncio.get_running_loop()
        #: Set by wake() and by each finished send: the loop has something to do.
        self._signal = asyncio.Event()
        self._poked = False
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._finished: list[Sent] = []
        #: Deliveries whose outcome was recorded since the worker started.
        self.sent = 0

    @classmethod
    @asynccontextmanager
    async def running(
        cls, db: Database, *, resolver: Resolver = system_resolver
    ) -> AsyncIterator[DeliveryWorker]:
        """Run a worker during the block; on exit, wait a little for sends under way."""
        config, secret = await db.call(lambda ws: (ws.config, ws.store.signing_secret()))
        async with Sender(config, secret, resolver=resolver) as sender:
            worker = cls(db, sender, concurrency=config.activation.concurrency)
            task = asyncio.create_task(worker._run(), name="cible-delivery")
            try:
                yield worker
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await worker._drain()

    def wake(self) -> None:
        """Look for due deliveries now (after an enqueue); safe from any thread."""
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is self._loop:
            self._poke()
        else:
            self._loop.call_soon_threadsafe(self._poke)

    def _poke(self) -> None:
        self._poked = True
        self._signal.set()

    @property
    def in_flight(self) -> int:
        """Deliveries being sent now."""
        return len(self._in_flight)

    async def _run(self) -> None:
        backlog = True  # the first look may find many
        next_poll = 0.0
        high = self._concurrency * QUEUE_FACTOR
        low = self._concurrency * REFILL_FACTOR
        while True:
            self._signal.clear()
            now = time.monotonic()
            poked, self._poked = self._poked, False
            room = high - len(self._in_flight)
            due_poll = now >= next_poll
            look = room > 0 and (poked or due_poll or (backlog and len(self._in_flight) < low))
            try:
                if look:
                    # After wake() or with a backlog, latency counts; a periodic look
                    # (retries that became due) gives way to ingestion and requests.
                    claimed = await self._claim(room, urgent=poked or backlog)
                    backlog = len(claimed) == room
                    if due_poll:
                        next_poll = now + POLL_SECONDS
                if self._finished:
                    await asyncio.sleep(RECORD_SECONDS)
                    await self._record()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is busy or failing: try again shortly
                _log.exception("Delivery worker: claiming or recording failed")
                await asyncio.sleep(POLL_SECONDS)
                continue
            if self._finished or self._poked:
                continue
            if backlog and len(self._in_flight) < low:
                continue
            # Full (no room), nothing finished yet: only a finished send or wake() matters.
            wait = POLL_SECONDS if room <= 0 else next_poll - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), max(wait, 0.01))

    async def _claim(self, room: int, *, urgent: bool) -> list[DeliveryRow]:
        exclude = list(self._in_flight)
        claimed = await self._db.call(
            partial(_claim, limit=room, in_flight=exclude), background=not urgent
        )
        claimed_at = time.monotonic()
        for delivery in claimed:
            self._in_flight[delivery.delivery_id] = asyncio.create_task(
                self._send(delivery, claimed_at)
            )
        return claimed

    async def _send(self, delivery: DeliveryRow, claimed_at: float) -> None:
        async with self._slots:
            if delivery.consent_channel and time.monotonic() - claimed_at > RECHECK_SECONDS:
                kept = await self._db.call(lambda ws: ws.deliveries.recheck([delivery]))
                if not kept:  # withdrawn while it waited: recorded as skipped
                    self._in_flight.pop(delivery.delivery_id, None)
                    self._signal.set()
                    return
            attempt = await self._sender.send(delivery)
        self._finished.append(Sent(delivery, attempt, utc_now()))
        self._signal.set()

    async def _record(self) -> None:
        if not self._finished:
            return
        batch, self._finished = self._finished, []
        try:
            await self._db.call(lambda ws: ws.deliveries.record(batch))
        except BaseException:
            self._finished = batch + self._finished
            raise
        for result in batch:
            self._in_flight.pop(result.delivery.delivery_id, None)
        self.sent += len(batch)

    async def _drain(self) -> None:
        """Record the sends that end within :data:`DRAIN_SECONDS`; the rest stay pending."""
        tasks = list(self._in_flight.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
            for task in late:
                task.cancel()
        try:
            await self._record()
        except Exception:  # they stay pending: sent again after the restart
            _log.exception("Delivery worker: recording the last outcomes failed")


def _claim(ws: Workspace, *, limit: int, in_flight: list[int]) -> list[DeliveryRow]:
    return ws.deliveries.claim(limit=limit, in_flight=in_flight)
