"""10,000 malformed requests, generated from a seed: each gets a 4xx and nothing is stored."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from cible import Workspace
from cible.server.database import Database
from tests.server.test_ingest import KEY, run

COUNT = 10_000
#: The run stops generating after this many seconds (it takes a few on a laptop).
TIME_LIMIT_S = 120
ENDPOINTS = ("identify", "track", "page", "screen", "group", "alias")
NOT_STRINGS: list[Any] = [True, False, 1.5, [], {}, ["a"], {"a": 1}]
NOT_OBJECTS: list[Any] = [1, "text", [], [1], True, 2.5]


def valid(rng: random.Random, kind: str) -> dict[str, Any]:
    """A valid message of ``kind`` (the fuzzer then breaks it)."""
    message: dict[str, Any] = {"type": kind, "messageId": f"m{rng.random()}"}
    message["userId" if rng.random() < 0.5 else "anonymousId"] = f"u{rng.randrange(100)}"
    if kind == "track":
        message["event"] = "Clicked"
    if kind == "group":
        message["groupId"] = "g1"
    if kind == "alias":
        message["userId"], message["previousId"] = "u1", "a1"
    if rng.random() < 0.5:
        message["timestamp"] = "2024-05-01T12:00:00Z"
    return message


def _drop_ids(rng: random.Random, m: dict[str, Any]) -> None:
    for key in ("userId", "anonymousId"):
        if rng.random() < 0.5:
            m.pop(key, None)
        else:
            m[key] = rng.choice([None, "", "   "])


def _bad_id(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["userId", "anonymousId", "messageId"])] = rng.choice([*NOT_STRINGS, "x" * 2000])


def _bad_required(rng: random.Random, m: dict[str, Any]) -> None:
    field = {"track": "event", "group": "groupId", "alias": "previousId"}.get(m["type"])
    if field is None:  # the other types require nothing more: break the ids instead
        _drop_ids(rng, m)
    elif rng.random() < 0.5:
        del m[field]
    else:
        m[field] = rng.choice([None, *NOT_STRINGS[:-2], ""]) if field == "event" else None


def _bad_object(rng: random.Random, m: dict[str, Any]) -> None:
    m[rng.choice(["context", "properties", "traits", "integrations"])] = rng.choice(NOT_OBJECTS)
    if m["type"] == "alias":  # alias has neither properties nor traits: make sure
        m["context"] = rng.choice(NOT_OBJECTS)
    elif m["type"] in ("identify", "group"):
        m["traits"] = rng.choice(NOT_OBJECTS)
    elif m["type"] != "alias":
        m["properties"] = rng.choice(NOT_OBJECTS)


def _bad_timestamp(rng: random.Random, m: dict[str, Any]) -> None:
    m["timestamp"] = rng.choice(
        ["yesterday", "2024-13-01T00:00:00Z", "1500-01-01T00:00:00Z", [], {}, True, "9999-12-31"]
    )


def _wrong_type(rng: random.Random, m: dict[str, Any]) -> None:
    m["type"] = rng.choice(["tracks", "", 3, None, "Identify"])


MUTATIONS: list[Callable[[random.Random, dict[str, Any]], None]] = [
    _drop_ids,
    _bad_id,
    _bad_required,
    _bad_object,
    _bad_timestamp,
    _wrong_type,
]


def malformed(rng: random.Random) -> tuple[str, bytes, dict[str, str]]:
    """One malformed request: endpoint, body, headers."""
    headers = {"content-type": "application/json"}
    roll = rng.random()
    if roll < 0.1:  # bytes that are not a JSON object
        body = rng.choice(
            [
                b"",
                b"{",
                b"[1, 2]",
                b"null",
                b'"text"',
                b"\xff\xfe{}",
                b'{"userId": "a", "event": "e", "properties": {"x": NaN}}',
                b'{"userId": "\\ud800", "event": "e"}',
                b"[" * 20_000 + b"]" * 20_000,
                json.dumps({"batch": [{"type": "track"}] * 3}).encode()[: rng.randrange(1, 40)],
            ]
        )
        return rng.choice([*ENDPOINTS, "batch"]), body, headers
    if roll < 0.15:  # compressed badly or too large
        body = rng.choice(
            [gzip.compress(b"{" * 10), b"\x1f\x8b garbage", gzip.compress(b" " * 600_000)]
        )
        return "batch", body, {**headers, "content-encoding": "gzip"}
    if roll < 0.2:
        message = valid(rng, "track")
        message["properties"] = {"pad": "x" * (33 * 1024)}
        return "track", json.dumps(message).encode(), headers
    kind = rng.choice(ENDPOINTS)
    broken = valid(rng, kind)
    rng.choice(MUTATIONS)(rng, broken)
    if rng.random() < 0.5:  # alone
        return kind, json.dumps(broken).encode(), headers
    # In a batch among valid messages: the whole batch is refused.
    batch = [valid(rng, rng.choice(ENDPOINTS)) for _ in range(rng.randrange(0, 20))]
    batch.insert(rng.randrange(len(batch) + 1), broken)
    if rng.random() < 0.1:
        return "batch", json.dumps({"batch": {"0": broken}}).encode(), headers
    return "batch", json.dumps({"batch": batch}).encode(), headers


def test_malformed_requests_get_a_4xx_and_store_nothing(tmp_path: Path):
    rng = random.Random(20240501)
    deadline = time.monotonic() + TIME_LIMIT_S

    async def work(client: httpx.AsyncClient, db: Database) -> tuple[int, list[str]]:
        sent, wrong = 0, []
        while sent < COUNT and time.monotonic() < deadline:
            requests = [malformed(rng) for _ in range(100)]
            responses = await asyncio.gather(
                *(
                    client.post(f"/v1/{e}", content=b, headers=h, auth=(KEY, ""))
                    for e, b, h in requests
                )
            )
            for (endpoint, body, _), response in zip(requests, responses, strict=True):
                if not 400 <= response.status_code < 500 or "message" not in response.json():
                    wrong.append(f"{endpoint} {body[:200]!r} -> {response.status_code}")
            sent += len(requests)
        return sent, wrong

    sent, wrong = run(tmp_path, work)
    assert sent == COUNT, f"only {sent} requests within {TIME_LIMIT_S} s"
    assert wrong == []
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.counts()["events"] == 0 and ws.counts()["customers"] == 0
        assert int(ws.table("event_ids").count().execute()) == 0
