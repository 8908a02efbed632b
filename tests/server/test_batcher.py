"""Group commit: one faulty request does not fail the others of its micro-batch."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from cible.ingest.events import IngestResult
from cible.ingest.payloads import Message, PayloadError, parse_request
from cible.server.batcher import Batcher


class FakeDatabase:
    """Appends like the workspace, but refuses any batch holding a ``boom`` event."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.workspace = SimpleNamespace(
            events=SimpleNamespace(append=self.append),
            config=SimpleNamespace(live=SimpleNamespace(refresh=False)),
        )

    def append(self, messages: Sequence[Message]) -> IngestResult:
        if any(m.event_name == "boom" for m in messages):
            raise ValueError("this message cannot be written")
        self.stored.extend(m.event_name or "" for m in messages)
        return IngestResult(len(messages), 0, (True,) * len(messages), 0, 0)

    async def call(self, work: Callable[[Any], Any]) -> Any:
        return work(self.workspace)


def track(name: str) -> list[Message]:
    body = json.dumps({"userId": "u1", "event": name}).encode()
    return list(parse_request("track", body, encoding=None).messages)


def test_a_faulty_request_fails_alone_and_the_others_of_its_batch_are_stored():
    database = FakeDatabase()

    async def main() -> list[Any]:
        # A long wait gathers the three requests into one micro-batch.
        async with Batcher.running(database, max_messages=100, max_wait=0.2) as batcher:  # type: ignore[arg-type]
            return await asyncio.gather(
                *(batcher.submit(track(name)) for name in ("first", "boom", "last")),
                return_exceptions=True,
            )

    first, boom, last = asyncio.run(main())
    assert isinstance(boom, ValueError)
    assert (first.accepted, last.accepted) == (1, 1)
    assert sorted(database.stored) == ["first", "last"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"userId": "u1", "event": "e", "properties": {"x": 1e999}}',
        b'{"userId": "u1", "event": "e", "timestamp": "0001-01-01T00:00:00+14:00"}',
        b'{"userId": "u1", "event": "e", "timestamp": "9999-12-31T23:59:59-14:00"}',
    ],
)
def test_numbers_and_moments_no_store_can_hold_are_refused_as_payload_errors(body: bytes):
    with pytest.raises(PayloadError):
        parse_request("track", body, encoding=None)


def test_the_collector_is_as_it_was_once_the_batcher_stops():
    before = (gc.get_threshold(), gc.get_freeze_count())

    async def main() -> tuple[int, int]:
        async with Batcher.running(FakeDatabase()) as batcher:  # type: ignore[arg-type]
            during = (gc.get_threshold()[0], gc.get_freeze_count())
            await batcher.submit(track("click"))
        return during

    threshold, frozen = asyncio.run(main())
    assert threshold == 50_000 and frozen > 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
