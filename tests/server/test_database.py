"""The database thread: background work (the sweep) gives way to requests; after
DuckDB's fatal error the workspace is opened again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from cible import Workspace
from cible.server.database import Database
from tests.store.test_store import invalidate


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


def test_a_fatal_error_opens_the_workspace_again_with_what_was_committed(tmp_path: Path):
    Workspace.create(tmp_path / "shop").close()

    def commit_then_fail(ws: Workspace) -> None:
        ws.store.connection.execute("CREATE TABLE kept (x INTEGER)")
        ws.store.connection.execute("INSERT INTO kept VALUES (1)")
        invalidate(ws.store)
        ws.store.connection.execute("SELECT 1")  # what the failing work saw next

    async def main() -> tuple[int, list[tuple[int]], int]:
        async with Database.open(tmp_path / "shop") as db:
            with pytest.raises(duckdb.FatalException, match="invalidated"):
                await db.call(commit_then_fail)
            kept = await db.call(lambda ws: ws.store.connection.sql("FROM kept").fetchall())
            customers = await db.call(lambda ws: ws.counts()["customers"])
            return db.reopened, kept, customers

    assert asyncio.run(main()) == (1, [(1,)], 0)


def test_an_ordinary_error_keeps_the_workspace_open(tmp_path: Path):
    Workspace.create(tmp_path / "shop").close()

    def fail(ws: Workspace) -> None:
        raise ValueError("a request's own error")

    async def main() -> int:
        async with Database.open(tmp_path / "shop") as db:
            with pytest.raises(ValueError, match="own error"):
                await db.call(fail)
            await db.call(lambda ws: ws.counts())
            return db.reopened

    assert asyncio.run(main()) == 0


def test_a_fatal_error_caught_by_the_work_still_opens_the_workspace_again(tmp_path: Path):
    """A job catches every error of its work: the failure is still noticed, at once."""
    Workspace.create(tmp_path / "shop").close()

    def job(ws: Workspace) -> str:
        try:
            invalidate(ws.store)
            ws.store.connection.execute("SELECT 1")
        except duckdb.Error:
            return "failed"
        return "done"

    async def main() -> tuple[str, int, int]:
        async with Database.open(tmp_path / "shop") as db:
            outcome = await db.call(job)
            customers = await db.call(lambda ws: ws.counts()["customers"])
            return outcome, customers, db.reopened

    assert asyncio.run(main()) == ("failed", 0, 1)


def test_a_failed_reopen_is_tried_again_and_the_last_workspace_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    Workspace.create(tmp_path / "shop").close()
    real_open = Workspace.open
    tries: list[int] = []

    def open_fails_once(path: Path, **options: bool) -> Workspace:
        tries.append(1)
        if len(tries) == 2:  # the first reopen
            raise OSError("disk busy")
        return real_open(path, **options)

    monkeypatch.setattr(Workspace, "open", open_fails_once)
    kept: list[Workspace] = []

    async def main() -> tuple[int, int]:
        async with Database.open(tmp_path / "shop") as db:
            await db.call(lambda ws: invalidate(ws.store))
            with pytest.raises(duckdb.ConnectionException):
                await db.call(lambda ws: ws.counts())  # the closed workspace, once
            customers = await db.call(lambda ws: kept.append(ws) or ws.counts()["customers"])
            return customers, db.reopened

    assert asyncio.run(main()) == (0, 1)
    assert len(tries) == 3
    # The workspace opened last was closed with the server: the file opens again.
    assert kept[0].store.invalidated()
    Workspace.open(tmp_path / "shop").close()
