"""Webhook delivery through a real ``cible serve``, against the obvious way, same run.

10,000 customers enter a segment and an automation enqueues one signed webhook each
(consent checked at send time: every customer has granted it). The deliveries are
written before the server starts, due a few seconds after it listens; the clock
starts when they fall due. The receiver is a small asyncio HTTP server in its own
process on 127.0.0.1 that answers 200 at once and notes when each ``webhook-id``
arrived. Measured:

- deliveries per second: 10,000 over the time from "due" to the last arrival;
- the delay from "due" to arrival (p50, p99): in a burst, the queue's length;
- then a trickle, one delivery falling due every 50 ms, nobody calling ``wake()``:
  the delay from "due" to arrival is the worker's polling (every 200 ms) and a call;
- afterwards, with the server stopped: every delivery ``delivered`` once in the
  database, one attempt each, and the receiver saw each id exactly once.

Beside it, the obvious alternative: one synchronous ``httpx.post`` at a time (a new
client and connection each, as the function does), and the same with one
``httpx.Client`` reused (keep-alive), signed the same way, to the same receiver, for
``--baseline`` deliveries each (recording nothing in a database: their rates are
upper bounds of that way).

``--delay-ms`` makes the receiver take that long to answer, as a real one across a
network does (tens of milliseconds): then calls in parallel are what matters.

Run: ``make bench-webhooks``, or ``.venv/bin/python benchmarks/bench_webhooks.py
[--deliveries N] [--baseline N] [--delay-ms MS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import tomli_w

from cible import Workspace
from cible.activation.webhooks import signed_headers
from cible.server.served import read_served
from cible.store.deliveries import NewDelivery

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_ENV = "BENCH_WEBHOOK_SECRET"
#: Seconds between the bench's enqueue and the deliveries falling due (server start-up).
LEAD_SECONDS = 12.0
#: Deliveries falling due one at a time after the burst, and how many per second.
TRICKLE, TRICKLE_RATE = 300, 20.0


# -- the receiver (its own process) ---------------------------------------------------


async def _receive(port: int, delay: float) -> None:
    arrivals: list[tuple[str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                if lines[0].startswith("GET /stats"):
                    body = json.dumps(arrivals).encode()
                else:
                    arrivals.append((headers.get("webhook-id", ""), time.time()))
                    body = b""
                    if delay:
                        await asyncio.sleep(delay)  # a receiver that takes its time
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# -- the bench --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _arrivals(url: str) -> list[tuple[str, float]]:
    return [(str(i), float(t)) for i, t in httpx.get(url + "/stats", timeout=60).json()]


def _workspace(folder: Path, count: int, receiver: str) -> None:
    with Workspace.create(folder) as ws:
        customers = folder.parent / "customers.csv"
        customers.write_text(
            "customer_id,email\n" + "".join(f"c{n},c{n}@example.com\n" for n in range(count))
        )
        consents = folder.parent / "consents.csv"
        consents.write_text(
            "customer_id,channel,purpose,status\n"
            + "".join(f"c{n},email,marketing,granted\n" for n in range(count))
        )
        ws.imports.load("customers", customers)
        ws.imports.load("consents", consents)
    path = folder / "cible.toml"
    settings = tomllib.loads(path.read_text())
    settings["activation"] = {**settings.get("activation", {}), "allow_hosts": ["127.0.0.1"]}
    settings["webhooks"] = {"crm": {"url": receiver + "/hooks/crm", "secret_env": SECRET_ENV}}
    settings["live"] = {**settings.get("live", {}), "sweep_interval_seconds": 0}
    path.write_text(tomli_w.dumps(settings))


def _payload(n: int) -> str:
    return json.dumps(
        {
            "type": "segment.entered",
            "segment": "hot-leads",
            "customer": {"id": f"c{n}", "email": f"c{n}@example.com"},
        }
    )


def through_server(count: int, receiver: str) -> dict[str, float]:
    """Deliveries/s and delays of ``count`` webhooks through ``cible serve``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shop"
        _workspace(folder, count, receiver)
        with Workspace.open(folder) as ws:
            started = time.perf_counter()
            ws.store.enqueue_deliveries(
                [
                    NewDelivery(
                        f"bench:{n}",
                        "webhook",
                        f"c{n}",
                        "crm",
                        _payload(n),
                        consent_channel="email",
                        consent_purpose="marketing",
                        source="automation:bench",
                    )
                    for n in range(count)
                ],
                at=datetime(2000, 1, 1),
            )
            print(f"enqueued {count:,} in {time.perf_counter() - started:.1f} s", flush=True)
            # Due once the server has started: the clock starts then.
            due = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=LEAD_SECONDS)
            ws.store.connection.execute(
                "UPDATE deliveries SET next_attempt_at = ?, created_at = ?", [due, due]
            )
            # After the burst, a trickle: one delivery falling due every 1/TRICKLE_RATE s.
            trickle_start = due + timedelta(seconds=max(30.0, count / 300))
            trickle = {
                f"trickle:{n}": trickle_start + timedelta(seconds=n / TRICKLE_RATE)
                for n in range(TRICKLE)
            }
            ws.store.enqueue_deliveries(
                [NewDelivery(key, "webhook", "c0", "crm", _payload(0)) for key in trickle],
                at=due,
            )
            for key, moment in trickle.items():
                ws.store.connection.execute(
                    "UPDATE deliveries SET next_attempt_at = ? WHERE idempotency_key = ?",
                    [moment, key],
                )
        due_epoch = due.replace(tzinfo=UTC).timestamp()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "cible"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--workspace",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            env={**os.environ, SECRET_ENV: SECRET},
        )
        try:
            while read_served(folder) is None:
                assert server.poll() is None, "cible serve stopped"
                time.sleep(0.05)
            assert time.time() < due_epoch, "the server took longer than LEAD_SECONDS to start"
            deadline = due_epoch + 600
            while True:
                arrived = _arrivals(receiver)
                got = [a for a in arrived if a[0].startswith("bench:")]
                trickled = [a for a in arrived if a[0].startswith("trickle:")]
                if len(got) + len(trickled) >= count + TRICKLE or time.time() > deadline:
                    break
                time.sleep(0.5)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        with Workspace.open(folder, read_only=True) as ws:
            delivered = ws.deliveries.list(status="delivered", limit=1)
            counts = ws.store.connection.execute(
                "SELECT status, count(*), sum(attempts) FROM deliveries GROUP BY status"
            ).fetchall()
    ids = [i for i, _ in got]
    assert len(ids) == count and len(set(ids)) == count, f"{len(ids)} arrivals"
    assert counts == [("delivered", count + TRICKLE, count + TRICKLE)], counts
    assert delivered
    delays = sorted(t - due_epoch for _, t in got)
    first = min(t for _, t in got)
    last = max(t for _, t in got)
    waits = sorted(t - trickle[key].replace(tzinfo=UTC).timestamp() for key, t in trickled)
    return {
        "trickle_p50_s": statistics.median(waits),
        "trickle_p99_s": waits[int(0.99 * (len(waits) - 1))],
        "per_second": count / (last - due_epoch),
        "per_second_from_first": count / (last - first),
        "first_s": first - due_epoch,
        "p50_s": statistics.median(delays),
        "p99_s": delays[int(0.99 * (len(delays) - 1))],
    }


def one_at_a_time(count: int, receiver: str, *, keep_alive: bool) -> float:
    """Deliveries/s of ``count`` signed synchronous posts, one after the other.

    ``keep_alive`` False: ``httpx.post`` (a new client, TLS context and connection
    each time, what the function does); True: one ``httpx.Client`` reused.
    """
    client = httpx.Client() if keep_alive else None
    started = time.perf_counter()
    for n in range(count):
        body = _payload(n).encode()
        headers = signed_headers(SECRET, f"base:{keep_alive}:{n}", datetime.now(UTC), body)
        post = client.post if client is not None else httpx.post
        answer = post(
            receiver + "/hooks/crm",
            content=body,
            headers={**headers, "content-type": "application/json"},
            follow_redirects=False,
        )
        assert answer.status_code == 200
    took = time.perf_counter() - started
    if client is not None:
        client.close()
    return count / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument(
        "--delay-ms", type=float, default=0.0, help="The receiver answers after this long."
    )
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.receiver:
        asyncio.run(_receive(options.receiver, options.delay_ms / 1000))
        return
    port = _free_port()
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(port), "--delay-ms", str(options.delay_ms)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                _arrivals(url)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        served = through_server(options.deliveries, url)
        baseline = one_at_a_time(options.baseline, url, keep_alive=False)
        reused = one_at_a_time(options.baseline, url, keep_alive=True)
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)
    print(f"receiver answering after {options.delay_ms:g} ms")
    print(f"cible serve: {options.deliveries:,} webhooks")
    print(f"  {served['per_second']:,.0f} deliveries/s from due to the last arrival")
    print(f"  {served['per_second_from_first']:,.0f} deliveries/s from the first arrival")
    print(
        f"  first after {served['first_s']:.2f} s; delay p50 {served['p50_s']:.2f} s, "
        f"p99 {served['p99_s']:.2f} s"
    )
    print(
        f"  one at a time ({TRICKLE} due {TRICKLE_RATE:g}/s, no wake()): due to arrival "
        f"p50 {served['trickle_p50_s'] * 1000:.0f} ms, p99 {served['trickle_p99_s'] * 1000:.0f} ms"
    )
    print(f"one httpx.post at a time: {options.baseline:,} webhooks, {baseline:,.0f}/s")
    print(f"one httpx.Client reused, one post at a time: {reused:,.0f}/s")
    print(f"ratio: {served['per_second'] / baseline:.1f}x and {served['per_second'] / reused:.1f}x")


if __name__ == "__main__":
    main()
