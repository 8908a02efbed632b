"""The official segment-analytics-python client against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import uvicorn
from fastapi import FastAPI
from segment.analytics.client import Client

from cible import Workspace
from cible.server.batcher import Batcher
from cible.server.database import Database
from cible.server.ingest import Ingestion, ingest_router

KEY = "wk-client"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI]]:
    """One uvicorn server for the module, in a thread; yields its URL and app."""
    folder = tmp_path_factory.mktemp("client") / "ws"
    Workspace.create(folder).close()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Database.open(folder) as db, Batcher.running(db) as batcher:
            app.include_router(ingest_router(Ingestion(batcher, {KEY}.__contains__)))
            app.state.database = db
            app.state.loop = asyncio.get_running_loop()
            yield

    app = FastAPI(lifespan=lifespan)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    uv.should_exit = True
    thread.join(timeout=20)


def _read_events(app: FastAPI) -> dict[str, dict[str, object]]:
    """Stored events by message id, read on the running server's database thread."""
    database: Database = app.state.database
    loop: asyncio.AbstractEventLoop = app.state.loop
    read = database.call(lambda ws: ws.table("events").to_pyarrow().to_pylist())
    rows = asyncio.run_coroutine_threadsafe(read, loop).result(timeout=20)
    return {str(row["message_id"]): row for row in rows}


def test_the_official_client_delivers_track_and_identify_unchanged(
    server: tuple[str, FastAPI],
) -> None:
    url, app = server
    errors: list[Exception] = []
    client = Client(
        KEY, host=url, sync_mode=True, max_retries=0, on_error=lambda e, batch: errors.append(e)
    )
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    client.track(
        user_id="c42",
        event="Order Completed",
        properties={"revenue": 42.5, "products": [{"id": "p1", "price": 9.99}], "note": "é"},
        timestamp=when,
        message_id="track-1",
    )
    client.identify(
        user_id="c42",
        anonymous_id="cookie-7",
        traits={"email": "c42@example.com", "plan": "pro"},
        timestamp=when,
        message_id="identify-1",
    )
    client.flush()
    assert errors == []
    rows = _read_events(app)
    track, identify = rows["track-1"], rows["identify-1"]
    assert (track["customer_id"], track["type"], track["event"]) == (
        "c42",
        "track",
        "Order Completed",
    )
    assert json.loads(str(track["properties"])) == {
        "revenue": 42.5,
        "products": [{"id": "p1", "price": 9.99}],
        "note": "é",
    }
    assert track["timestamp"] == datetime(2024, 5, 1, 12, 30)
    assert json.loads(str(track["context"]))["library"]["name"] == "analytics-python"
    assert (identify["customer_id"], identify["anonymous_id"]) == ("c42", "cookie-7")
    assert json.loads(str(identify["properties"])) == {"email": "c42@example.com", "plan": "pro"}


def test_the_official_client_sees_a_bad_key_refused(server: tuple[str, FastAPI]) -> None:
    url, _ = server
    errors: list[Exception] = []
    client = Client(
        "not-the-key",
        host=url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda e, batch: errors.append(e),
    )
    with pytest.raises(Exception, match="401"):
        client.track(user_id="c1", event="Clicked")
