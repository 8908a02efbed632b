"""`cible serve` killed with SIGKILL while clients post /v1/batch: no acknowledged event lost.

Real processes: a server on 127.0.0.1, eight client threads posting batches of events
with unique message ids, SIGKILL after a while, then a second server on the same
workspace. Every batch answered 200 before the kill must be stored, each event once,
and posting those batches again after the restart stores nothing twice (the message
id window is in the database, not in the dead process). Bounded: about 3 s of load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from cible import Workspace
from cible.access.roles import Role
from tests.server.conftest import make_workspace

CIBLE = [str(Path(sys.executable).parent / "cible")]
pytestmark = pytest.mark.slow

#: Client threads posting at once, events per batch, seconds of load before the kill.
CLIENTS, PER_BATCH, LOAD_SECONDS = 8, 50, 3.0


def start(shop: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A `cible serve` process on a free loopback port, and its URL once it listens."""
    served = shop / "cible.serve.json"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--host", "127.0.0.1", "--port", "0", "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    deadline = time.monotonic() + 60
    while True:
        if served.exists():
            found = json.loads(served.read_text())
            if found["pid"] == process.pid:
                return process, str(found["url"])
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not start in 60 s"
        time.sleep(0.05)


def batch(client: int, number: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "track",
                "userId": f"u{client}",
                "event": "Viewed",
                "messageId": f"m-{client}-{number}-{i}",
                "timestamp": "2025-01-10T12:00:00Z",
            }
            for i in range(PER_BATCH)
        ]
    }


def test_sigkill_under_load_loses_no_acknowledged_event(tmp_path: Path):
    secrets = make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    key = secrets[Role.INGEST]
    log = tmp_path / "serve.log"
    process, url = start(shop, log)
    acknowledged: list[dict[str, object]] = []
    refused: list[int] = []
    stop = threading.Event()

    def post(client: int) -> None:
        with httpx.Client(base_url=url, auth=(key, ""), timeout=10) as http:
            number = 0
            while not stop.is_set():
                body = batch(client, number)
                number += 1
                try:
                    answer = http.post("/v1/batch", json=body)
                except httpx.HTTPError:
                    continue  # the server died under this request: not acknowledged
                if answer.status_code == 200:
                    acknowledged.append(body)
                else:
                    refused.append(answer.status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(LOAD_SECONDS)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if process.poll() is None:
            process.kill()
    assert not refused, refused
    assert len(acknowledged) >= CLIENTS, "too few batches were acknowledged to mean anything"
    sent = [event["messageId"] for body in acknowledged for event in body["batch"]]  # type: ignore[attr-defined]

    # The stale served file of the killed process is replaced by the new server.
    process, url = start(shop, log)
    try:
        with httpx.Client(base_url=url, auth=(key, ""), timeout=30) as http:
            for body in acknowledged[:20]:
                assert http.post("/v1/batch", json=body).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with Workspace.open(shop, read_only=True) as ws:
        stored = Counter(ws.table("events").message_id.to_pyarrow().to_pylist())
    missing = [m for m in sent if stored[m] == 0]
    doubled = [m for m, n in stored.items() if n > 1]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:3]}"
    assert not doubled, f"{len(doubled)} events stored twice, e.g. {doubled[:3]}"
