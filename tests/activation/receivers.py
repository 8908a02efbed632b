"""Real HTTP receivers on 127.0.0.1 and a workspace set up for deliveries, for the tests."""

from __future__ import annotations

import asyncio
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

from cible import Workspace
from cible.activation.deliveries import Sent
from cible.activation.sender import Sender
from cible.domain.clock import utc_now

#: A Standard Webhooks secret for the tests (whsec_ + base64 of 24 bytes).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_ENV = "CIBLE_TEST_WEBHOOK_SECRET"


@dataclass
class Received:
    """One request a receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering each POST with ``answer(number)``.

    ``answer(n)`` (n from 0) gives ``(status, headers)``; it may block (a slow receiver).
    """

    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
    received: list[Received] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        outer = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with lock:
                    number = len(outer.received)
                    outer.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                status, headers = outer.answer(number)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


def configure(shop: Path, **sections: dict[str, Any]) -> None:
    """Merge ``sections`` (``activation={...}``, ``webhooks={...}``) into ``cible.toml``."""
    path = shop / "cible.toml"
    settings = tomllib.loads(path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        settings[name] = {**settings.get(name, {}), **values}
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")


def webhook(url: str, **options: Any) -> dict[str, Any]:
    """A ``[webhooks.NAME]`` table calling ``url`` signed with :data:`SECRET`."""
    return {"url": url, "secret_env": SECRET_ENV, **options}


async def deliver_once(ws: Workspace, sender: Sender, now: datetime | None = None) -> int:
    """One round of the worker, in-process: claim, send all, record; how many were sent."""
    moment = utc_now() if now is None else now
    claimed = ws.deliveries.claim(now=moment)
    attempts = await asyncio.gather(*(sender.send(d) for d in claimed))
    ws.deliveries.record([Sent(d, a, moment) for d, a in zip(claimed, attempts, strict=True)])
    return len(claimed)


def run_rounds(ws: Workspace, moments: list[datetime], **sender_options: Any) -> None:
    """:func:`deliver_once` at each of ``moments``, with one sender."""

    async def main() -> None:
        async with Sender(ws.config, ws.store.signing_secret(), **sender_options) as sender:
            for moment in moments:
                await deliver_once(ws, sender, moment)

    asyncio.run(main())


@dataclass
class Mailbox:
    """A real SMTP server (``aiosmtpd``) on 127.0.0.1 keeping what it receives."""

    messages: list[Any] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    @contextmanager
    def running(self) -> Iterator[Mailbox]:
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        try:
            yield self
        finally:
            controller.stop()
