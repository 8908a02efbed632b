"""The delivery worker: sends the deliveries automations wrote, at least once.

One task in the server's lifespan loops: claim the due deliveries on the database
thread (``ws.deliveries.claim``: consent, frequency caps and quiet hours decided
there), send them concurrently (``[activation] concurrency`` at once, one shared HTTP
client), and record what happened in one transaction per batch. It claims again as
soon as there is room, without waiting for the whole batch: a slow receiver does not
hold the others back. It wakes when :meth:`DeliveryWorker.wake` is called (after an
automation enqueued something) and every :data:`POLL_SECONDS` otherwise (retries that
became due).

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
#: Deliveries claimed at most, per unit of ``[activation] concurrency``: enough queued
#: that senders never wait for a claim, few enough that a claim stays short.
QUEUE_FACTOR = 4
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
        self._wake = asyncio.Event()
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
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def in_flight(self) -> int:
        """Deliveries being sent now."""
        return len(self._in_flight)

    async def _run(self) -> None:
        woken = True
        while True:
            self._wake.clear()
            try:
                claimed = await self._claim(urgent=woken)
                await self._record()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is busy or failing: try again shortly
                _log.exception("Delivery worker: claiming or recording failed")
                claimed = []
                await asyncio.sleep(POLL_SECONDS)
            room = self._concurrency * QUEUE_FACTOR - len(self._in_flight)
            if claimed and room > 0 and not self._finished:
                woken = True  # more may be due right away
                continue
            if self._finished:
                woken = False
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                woken = True
            except TimeoutError:
                woken = False

    async def _claim(self, *, urgent: bool) -> list[DeliveryRow]:
        room = self._concurrency * QUEUE_FACTOR - len(self._in_flight)
        if room <= 0:
            return []
        exclude = list(self._in_flight)
        # A look after wake() is for fresh deliveries (latency counts); a periodic look
        # for retries gives way to ingestion and requests.
        claimed = await self._db.call(
            partial(_claim, limit=room, in_flight=exclude), background=not urgent
        )
        for delivery in claimed:
            self._in_flight[delivery.delivery_id] = asyncio.create_task(self._send(delivery))
        return claimed

    async def _send(self, delivery: DeliveryRow) -> None:
        async with self._slots:
            attempt = await self._sender.send(delivery)
        self._finished.append(Sent(delivery, attempt, utc_now()))
        self._wake.set()

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
