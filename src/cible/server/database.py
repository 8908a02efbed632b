"""The served workspace behind one thread: every database call, one at a time.

A DuckDB file has one writing process, and one connection must not be used by two
threads at once. The server therefore opens the workspace once and runs every piece
of work that touches it — reads, writes, whole jobs — on a single dedicated thread,
in the order it was asked for. Async request handlers ``await`` that work without
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
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from cible.workspace import Workspace

T = TypeVar("T")


class Database:
    """A workspace opened on its own thread; :meth:`call` runs work there.

    Use :meth:`open`; the workspace is closed, on the same thread, when the block ends,
    after the work already asked for has finished.
    """

    def __init__(self, executor: ThreadPoolExecutor, workspace: Workspace) -> None:
        self._executor = executor
        self._workspace = workspace

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
                await loop.run_in_executor(executor, workspace.close)
        finally:
            executor.shutdown(wait=True)

    @property
    def path(self) -> Path:
        """The workspace folder."""
        return self._workspace.path

    async def call(self, work: Callable[[Workspace], T]) -> T:
        """Run ``work(workspace)`` on the database thread and return its result.

        Exceptions raised by ``work`` propagate to the caller unchanged.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, self._workspace)
