"""The /v1 routes in-process: write keys, limits, all-or-nothing, group commit, dedupe."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cible import Workspace
from cible.server.batcher import Batcher
from cible.server.database import Database
from cible.server.ingest import Ingestion, ingest_router

KEY = "wk-test"


@asynccontextmanager
async def served(folder: Path, **batch: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """An app holding only the ingestion router, and a client talking to it in-process."""
    async with Database.open(folder) as db, Batcher.running(db, **batch) as batcher:
        app = FastAPI()
        app.include_router(ingest_router(Ingestion(batcher, {KEY}.__contains__)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cible") as client:
            yield client, db


def run(tmp_path: Path, work: Callable[..., Awaitable[Any]], **batch: Any) -> Any:
    folder = tmp_path / "ws"
    if not folder.exists():
        Workspace.create(folder).close()

    async def main() -> Any:
        async with served(folder, **batch) as (client, db):
            return await work(client, db)

    return asyncio.run(main())


def counts(tmp_path: Path) -> dict[str, int]:
    with Workspace.open(tmp_path / "ws") as ws:
        return ws.counts()


def track(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": f"c{i % 7}",
        "event": "Clicked",
        "messageId": f"m{i}",
        **extra,
    }


def test_write_key_as_basic_user_or_in_the_body(tmp_path: Path):
    async def work(client: httpx.AsyncClient, db: Database) -> list[int]:
        body = {"userId": "c1", "event": "Clicked"}
        return [
            (await client.post("/v1/track", json=body)).status_code,
            (await client.post("/v1/track", json=body, auth=("wrong", ""))).status_code,
            (await client.post("/v1/track", json={**body, "writeKey": "wrong"})).status_code,
            (await client.post("/v1/track", json=body, auth=(KEY, ""))).status_code,
            (await client.post("/v1/track", json={**body, "writeKey": KEY})).status_code,
            # No key: a malformed body gets 401 too, and teaches nothing.
            (await client.post("/v1/track", content=b"{not json")).status_code,
        ]

    assert run(tmp_path, work) == [401, 401, 401, 200, 200, 401]
    assert counts(tmp_path)["events"] == 2


def test_every_endpoint_stores_its_type(tmp_path: Path):
    bodies = {
        "identify": {"userId": "c1", "traits": {"city": "Lyon"}},
        "track": {"userId": "c1", "event": "Clicked"},
        "page": {"anonymousId": "a1", "name": "Home"},
        "screen": {"userId": "c1", "name": "Cart"},
        "group": {"userId": "c1", "groupId": "acme", "traits": {"size": 10}},
        "alias": {"userId": "c1", "previousId": "a1"},
    }

    async def work(client: httpx.AsyncClient, db: Database) -> list[Any]:
        for endpoint, body in bodies.items():
            response = await client.post(f"/v1/{endpoint}", json=body, auth=(KEY, ""))
            assert response.json() == {"success": True}
        return await db.call(
            lambda ws: ws.table("events").to_pyarrow().select(["type", "event"]).to_pylist()
        )

    stored = run(tmp_path, work)
    assert {(r["type"], r["event"]) for r in stored} == {
        ("identify", None),
        ("track", "Clicked"),
        ("page", "Home"),
        ("screen", "Cart"),
        ("group", "acme"),
        ("alias", None),
    }


def test_the_same_batch_posted_twice_and_concurrently_is_stored_once(tmp_path: Path):
    batch = {"batch": [track(i) for i in range(300)]}

    async def work(client: httpx.AsyncClient, db: Database) -> list[int]:
        post = lambda: client.post("/v1/batch", json=batch, auth=(KEY, ""))  # noqa: E731
        together = await asyncio.gather(*(post() for _ in range(8)))
        after = await post()
        return [r.status_code for r in [*together, after]]

    assert run(tmp_path, work, max_wait=0.02) == [200] * 9
    assert counts(tmp_path)["events"] == 300


def test_concurrent_requests_share_micro_batches_and_are_durable_when_answered(tmp_path: Path):
    async def work(client: httpx.AsyncClient, db: Database) -> tuple[int, int, int]:
        async def one(i: int) -> int:
            response = await client.post("/v1/track", json=track(i), auth=(KEY, ""))
            # Answered only once committed: the event is readable now.
            found = await db.call(
                lambda ws: (
                    ws.table("events").filter(lambda t: t.message_id == f"m{i}").count().execute()
                )
            )
            return response.status_code * 10 + int(found)

        results = await asyncio.gather(*(one(i) for i in range(200)))
        window_ids = await db.call(lambda ws: int(ws.table("event_ids").count().execute()))
        return min(results), max(results), window_ids

    assert run(tmp_path, work, max_wait=0.01) == (2001, 2001, 200)


def test_group_commit_writes_fewer_batches_than_requests(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()

    async def main() -> int:
        async with Database.open(folder) as db, Batcher.running(db, max_wait=0.01) as batcher:
            app = FastAPI()
            app.include_router(ingest_router(Ingestion(batcher, {KEY}.__contains__)))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                await asyncio.gather(
                    *(client.post("/v1/track", json=track(i), auth=(KEY, "")) for i in range(100))
                )
            return batcher.batches

    assert 1 <= asyncio.run(main()) < 50


def test_sizes_beyond_segment_limits_are_refused_whole(tmp_path: Path):
    big = {"blob": "x" * (33 * 1024)}

    async def work(client: httpx.AsyncClient, db: Database) -> list[tuple[int, str]]:
        answers = []
        for path, body in [
            ("/v1/track", {"userId": "c1", "event": "E", "properties": big}),
            ("/v1/batch", {"batch": [track(1), track(2, properties=big)]}),
            ("/v1/batch", {"batch": [track(i, properties={"b": "x" * 20_000}) for i in range(30)]}),
        ]:
            response = await client.post(path, json=body, auth=(KEY, ""))
            answers.append((response.status_code, response.json()["message"]))
        return answers

    answers = run(tmp_path, work)
    assert [status for status, _ in answers] == [400, 400, 400]
    assert "32 KB" in answers[0][1]
    assert answers[1][1].startswith("batch[1]: ") and "32 KB" in answers[1][1]
    assert "500 KB" in answers[2][1]
    assert counts(tmp_path)["events"] == 0


def test_a_batch_with_one_bad_message_stores_nothing(tmp_path: Path):
    async def work(client: httpx.AsyncClient, db: Database) -> tuple[int, str]:
        batch = [track(i) for i in range(10)]
        batch[7] = {"type": "track", "userId": "c1"}
        response = await client.post("/v1/batch", json={"batch": batch}, auth=(KEY, ""))
        return response.status_code, response.json()["message"]

    assert run(tmp_path, work) == (400, "batch[7].event: missing.")
    assert counts(tmp_path)["events"] == 0


def test_gzip_bodies_are_read_and_bombs_refused(tmp_path: Path):
    async def work(client: httpx.AsyncClient, db: Database) -> list[int]:
        body = json.dumps({"batch": [track(i) for i in range(50)]}).encode()
        bomb = gzip.compress(json.dumps({"batch": [], "pad": " " * 10_000_000}).encode())
        headers = {"content-encoding": "gzip", "content-type": "application/json"}
        return [
            (
                await client.post(
                    "/v1/batch", content=gzip.compress(body), headers=headers, auth=(KEY, "")
                )
            ).status_code,
            (
                await client.post("/v1/batch", content=bomb, headers=headers, auth=(KEY, ""))
            ).status_code,
            (
                await client.post("/v1/batch", content=b"not gzip", headers=headers, auth=(KEY, ""))
            ).status_code,
        ]

    assert run(tmp_path, work) == [200, 400, 400]
    assert counts(tmp_path)["events"] == 50


def test_openapi_describes_the_bodies(tmp_path: Path):
    async def work(client: httpx.AsyncClient, db: Database) -> dict[str, Any]:
        app = FastAPI()
        async with Batcher.running(db) as batcher:
            app.include_router(ingest_router(Ingestion(batcher, {KEY}.__contains__)))
        return app.openapi()

    spec = run(tmp_path, work)
    track_body = spec["paths"]["/v1/track"]["post"]["requestBody"]["content"]["application/json"]
    assert "event" in track_body["schema"]["required"]
    assert set(spec["paths"]) == {
        f"/v1/{e}" for e in ("identify", "track", "page", "screen", "group", "alias", "batch")
    }
