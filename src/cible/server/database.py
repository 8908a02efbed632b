"""The served workspace behind one thread: every database call, one at a time.

A DuckDB file has one writing process, and one connection must not be used by two
threads at once. The server therefore opens the workspace once and runs every piece
of work that touches it — reads, writes, whole jobs — on a single dedicated thread,
in the order it was asked for (background work, the sweep, gives way to the rest).
Async request handlers ``await`` that work without
blocking the event loop; ingestion batches many requests into one call (group
commit), so one thread is not the bottleneck it looks like.

Examples
--------
>>> import asyncio, tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp()) / "shop"
>>> Workspace.create(folder).close()
>>> async def main():
...     async with Database.open(folder) as db:
...         return await db.call(lambda ws: ws.counts()["customers"])
>>> asyncio.run(main())
0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from cible.workspace import Workspace

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: Background work starts once no other work was asked for during this many seconds...
IDLE_SECONDS = 0.02
#: ...or after waiting this long, so that a busy server still sweeps.
MAX_DEFERRAL_SECONDS = 5.0


class Database:
    """A workspace opened on its own thread; :meth:`call` runs work there.

    Use :meth:`open`; the workspace is closed, on the same thread, when the block ends,
    after the work already asked for has finished.
    """

    def __init__(self, executor: ThreadPoolExecutor, workspace: Workspace) -> None:
        self._executor = executor
        self._workspace = workspace
        self._foreground = 0
        self._last_foreground = 0.0
        self._idle = asyncio.Event()
        self._idle.set()
        #: How many times DuckDB's fatal error made the workspace open again.
        self.reopened = 0

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[Database]:
        """Open the workspace at ``path`` (writable) on a new thread, for the block."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cible-db")
        loop = asyncio.get_running_loop()
        try:
            workspace = await loop.run_in_executor(executor, Workspace.open, path)
            database = cls(executor, workspace)
            try:
                yield database
            finally:
                # The workspace of now: a fatal error may have opened another one.
                await loop.run_in_executor(executor, lambda: database._workspace.close())
        finally:
            executor.shutdown(wait=True)

    @property
    def path(self) -> Path:
        """The workspace folder."""
        return self._workspace.path

    async def call(self, work: Callable[[Workspace], T], *, background: bool = False) -> T:
        """Run ``work(workspace)`` on the database thread and return its result.

        ``background`` work (the sweep's pages) waits until no other work has been
        asked for during :data:`IDLE_SECONDS`, or for :data:`MAX_DEFERRAL_SECONDS` at
        most: requests and live refreshes then wait for one background piece at
        most, not for a queue of them. Exceptions raised by ``work`` propagate to the
        caller unchanged; when DuckDB invalidated the database (a fatal error, such
        as running out of memory while a commit writes), the workspace is opened
        again before the error (or the result of work that caught it) is returned,
        and later calls work on it.
        """
        loop = asyncio.get_running_loop()
        if background:
            await self._wait_until_idle()
            return await loop.run_in_executor(self._executor, self._run, work)
        self._foreground += 1
        self._idle.clear()
        try:
            return await loop.run_in_executor(self._executor, self._run, work)
        finally:
            self._foreground -= 1
            self._last_foreground = time.monotonic()
            if not self._foreground:
                self._idle.set()

    def _run(self, work: Callable[[Workspace], T]) -> T:
        # On the database thread. After DuckDB's fatal error every later statement
        # fails: the work's error (or result) is answered, and the workspace opened
        # again, so that the server goes on with what was committed before the error.
        # Checked after every piece of work, failed or not: a job catches its errors.
        try:
            return work(self._workspace)
        finally:
            if self._workspace.store.invalidated():
                self._reopen()

    def _reopen(self) -> None:
        path = self._workspace.path
        _log.error("DuckDB invalidated the workspace after a fatal error: opening it again")
        with contextlib.suppress(Exception):
            self._workspace.close()
        try:
            self._workspace = Workspace.open(path)
        except Exception:
            # The closed workspace stays, invalidated: the next call tries again.
            _log.exception("Opening the workspace again failed")
            return
        self.reopened += 1
        if self._workspace.store.invalidated():
            _log.error("The workspace opened again failed at once; the next call tries again")
        else:
            _log.warning("Workspace opened again; work committed before the error is kept")

    async def _wait_until_idle(self) -> None:
        deadline = time.monotonic() + MAX_DEFERRAL_SECONDS
        while time.monotonic() < deadline:
            if self._foreground:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), deadline - time.monotonic())
                continue
            # A batch's live refresh follows its write at once: leave it the turn.
            quiet = time.monotonic() - self._last_foreground
            if quiet >= IDLE_SECONDS:
                return
            await asyncio.sleep(IDLE_SECONDS - quiet)
