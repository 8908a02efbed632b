"""Group commit: many ingestion requests, one transaction, every request acknowledged after it.

A DuckDB commit costs about the same for one event as for thousands, and the served
workspace has one writer thread (:mod:`cible.server.database`). Request handlers
therefore do not write: they :meth:`Batcher.submit` their checked messages and wait.
One task takes what is waiting — at most ``max_messages``, gathered for at most
``max_wait`` seconds after the first arrival — and stores it with one
``ws.events.append`` call; while that call runs, the next requests queue up, so the
batches grow with the load. Each request's future is resolved only after the
transaction holding its messages has committed: an acknowledged event is durable.

Once the batch is acknowledged, the customers it names are re-evaluated live
(``ws.segments.refresh``, docs/realtime.md) when ``[live] refresh`` is on; the next
batch is written after that refresh, so refreshes grow with the load as batches do.
A failed refresh is logged and does not fail the batch: the events are stored, and
the sweep (:mod:`cible.server.sweep`) or the next run re-evaluates those customers.

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.ingest.payloads import Track
>>> from cible.server.database import Database
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db, Batcher.running(db) as batcher:
...         clicks = [Track(userId="c1", event="Clicked", messageId=f"m{i}") for i in range(3)]
...         done = await asyncio.gather(batcher.submit(clicks), batcher.submit(clicks[:1]))
...         return done, await db.call(lambda ws: ws.counts()["events"])
>>> asyncio.run(main())
([Submission(accepted=3, duplicates=0), Submission(accepted=0, duplicates=1)], 3)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from cible.domain.errors import CibleError
from cible.ingest.events import IngestResult
from cible.ingest.payloads import Alias, Message
from cible.server.database import Database
from cible.workspace import Workspace

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """What became of one request's messages: stored, or duplicates of stored ones."""

    accepted: int
    duplicates: int


class ShuttingDownError(CibleError):
    """The server is stopping and takes no more events; the client should retry later."""


@dataclass
class _Pending:
    messages: Sequence[Message]
    future: asyncio.Future[Submission] = field(repr=False)


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """Collect garbage less often while the batcher runs (a third of ingestion's time).

    Parsing a batch allocates tens of objects per event, most of them alive until its
    micro-batch is written: with Python's default thresholds a young collection ran
    every few dozen events, and each full one also scanned the few hundred thousand
    objects that the server's modules and open workspace hold for good. Those are
    frozen (left out of collections) and young collections wait for 50,000
    allocations; both are undone when the batcher stops.
    """
    global _collecting_less, _thresholds
    if not _collecting_less:  # several batchers in one process (tests): the first sets
        _thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, *_thresholds[1:])
    _collecting_less += 1
    try:
        yield
    finally:
        _collecting_less -= 1
        if not _collecting_less:  # ...and the last one restores
            gc.set_threshold(*_thresholds)
            gc.unfreeze()


#: Batchers running with fewer collections, and the thresholds to restore after them.
_collecting_less = 0
_thresholds: tuple[int, ...] = gc.get_threshold()


class Batcher:
    """Gathers submitted messages into micro-batches written by one task.

    Use :meth:`running`. ``max_messages`` and ``max_wait`` (seconds) bound a batch;
    a request is never split, so a batch may exceed ``max_messages`` by one request.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_messages: int = 5_000,
        max_wait: float = 0.005,
        after_write: Callable[[], object] | None = None,
    ) -> None:
        self.database = database
        # Called when a stored batch reached the outbox (the automation worker's wake-up).
        self.after_write = after_write
        self.max_messages = max_messages
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._waiting = 0
        self._full = asyncio.Event()
        self._closed = False
        #: Micro-batches written so far (for tests and the benchmark).
        self.batches = 0
        #: Live refreshes done after them, and those that failed.
        self.refreshes = 0
        self.failed_refreshes = 0
        #: Refreshes left to the sweep while another server ran (PostgreSQL).
        self.deferred_refreshes = 0

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        database: Database,
        *,
        max_messages: int = 5_000,
        max_wait: float = 0.005,
        after_write: Callable[[], object] | None = None,
    ) -> AsyncIterator[Batcher]:
        """Run the writing task for the block; on exit, write what was submitted, then stop."""
        batcher = cls(
            database, max_messages=max_messages, max_wait=max_wait, after_write=after_write
        )
        task = asyncio.create_task(batcher._drain(), name="cible-ingest-batcher")
        try:
            with _few_collections():
                yield batcher
        finally:
            batcher._closed = True
            batcher._queue.put_nowait(None)
            batcher._full.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(self, messages: Sequence[Message]) -> Submission:
        """Queue ``messages`` and return once the batch holding them has committed.

        Raises
        ------
        ShuttingDownError
            When the server is stopping.
        Exception
            Whatever the write raised (the whole batch failed; nothing is acknowledged).
        """
        if self._closed:
            raise ShuttingDownError("The server is shutting down; send the events again later.")
        future: asyncio.Future[Submission] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(messages, future))
        self._waiting += len(messages)
        if self._waiting >= self.max_messages:
            self._full.set()
        return await future

    async def _drain(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            if self.max_wait > 0 and self._waiting < self.max_messages:
                # Let requests that arrive within max_wait join the batch.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.max_wait)
            batch, count, stop = [first], len(first.messages), False
            while count < self.max_messages and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
                count += len(item.messages)
            self._waiting -= count
            if self._waiting < self.max_messages:
                self._full.clear()
            await self._write(batch)
            if stop:
                # Closing: what was queued behind the marker is written too.
                rest = []
                while not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is not None:
                        rest.append(item)
                if rest:
                    await self._write(rest)
                return

    async def _write(self, batch: list[_Pending]) -> None:
        messages = [message for pending in batch for message in pending.messages]
        try:
            result: IngestResult = await self.database.call(lambda ws: ws.events.append(messages))
        except Exception as error:
            if len(batch) > 1:
                # One request must not fail the others it shares a batch with: each is
                # written again on its own, and only the faulty one learns it failed.
                for pending in batch:
                    await self._write([pending])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        self.batches += 1
        start = 0
        for pending in batch:
            stored = result.stored[start : start + len(pending.messages)]
            start += len(pending.messages)
            accepted = sum(stored)
            if not pending.future.done():  # a client that went away needs no answer
                pending.future.set_result(Submission(accepted, len(stored) - accepted))
        if result.accepted:
            moved = await self._refresh(messages)
            # Automations need a look only when this batch reached the outbox.
            if self.after_write is not None and (moved or result.triggered):
                self.after_write()

    async def _refresh(self, messages: Sequence[Message]) -> int:
        customers = {m.user_id for m in messages if m.user_id is not None}
        # An anonymous event of a linked id is stored as its customer's.
        anonymous = {m.anonymous_id for m in messages if m.anonymous_id is not None}
        anonymous.update(
            m.previous_id for m in messages if isinstance(m, Alias) and m.previous_id is not None
        )

        def refresh(ws: Workspace) -> int:
            if not ws.config.live.refresh:
                return 0
            done = ws.segments.refresh(customers, anonymous_ids=anonymous)
            if done.deferred:
                # Another server's run holds the history (PostgreSQL): the sweep
                # brings these customers up to date.
                self.deferred_refreshes += 1
                _log.info("Live refresh of %d customers deferred to the sweep", len(customers))
            return done.entered + done.exited

        try:
            moved: int = await self.database.call(refresh)
        except Exception:  # the events are stored; the sweep catches these customers up
            self.failed_refreshes += 1
            _log.exception("Live refresh of %d customers failed", len(customers))
            return 0
        self.refreshes += 1
        return moved
