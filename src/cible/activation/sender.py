"""Sending one claimed delivery: a webhook call, an e-mail, a team notification.

A ``deliveries`` row says what to send: ``kind`` ``webhook`` (``target`` names a
``[webhooks.NAME]``, ``payload`` is the JSON body), ``email`` (``target`` is the
address, ``payload`` holds ``to``, ``subject``, ``html``, ``text``, ``lang``) or
``notify`` (a team: a chat webhook by name, whose body is ``{"text": ...}``, or an
e-mail address). :class:`Sender` holds what every send shares — HTTP clients
(connections kept alive, redirects never followed), the SSRF guard, the settings —
and never raises for a delivery: each ends as an
:class:`~cible.activation.webhooks.Attempt`.

Examples
--------
>>> import asyncio
>>> from datetime import datetime
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.store.deliveries import DeliveryRow
>>> row = DeliveryRow(1, "k", "webhook", "c1", "nowhere", "{}", None, None, None,
...                   "pending", 0, None, datetime(2024, 5, 1), None, None, None)
>>> async def main():
...     async with Sender(WorkspaceConfig(), bytes(32)) as sender:
...         return await sender.send(row)
>>> asyncio.run(main()).error
'no webhook is named nowhere in cible.toml ([webhooks.nowhere])'
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from cible.activation.mail import send_email
from cible.activation.network import Guard, Resolver, system_resolver
from cible.activation.unsubscribe import unsubscribe_link
from cible.activation.webhooks import Attempt, call_webhook
from cible.domain.config import WorkspaceConfig
from cible.store.deliveries import DeliveryRow


class Sender:
    """Sends claimed deliveries; use as ``async with Sender(...) as sender``.

    Parameters
    ----------
    config : WorkspaceConfig
        ``[activation]``, ``[email]`` and ``[webhooks]``.
    signing_secret : bytes
        The workspace's secret (unsubscribe links).
    resolver : callable, optional
        Host name resolution for the SSRF guard (tests give their own).
    environ : mapping, optional
        Where secrets and the SMTP password are read (``os.environ`` by default).
    """

    def __init__(
        self,
        config: WorkspaceConfig,
        signing_secret: bytes,
        *,
        resolver: Resolver = system_resolver,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.signing_secret = signing_secret
        self.guard = Guard(config.activation.allow_hosts, resolver=resolver)
        self.environ = environ
        self._lanes: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()

    async def __aenter__(self) -> Sender:
        settings = self.config.activation
        # One small client per concurrent call, not one client with a big pool: httpcore
        # looks at every connection of its pool for every request (quadratic), so 64
        # connections in one pool send 5 times fewer webhooks per second than 64 pools
        # of one. A call takes a free lane and gives it back; keep-alive is per lane.
        self._lanes = asyncio.LifoQueue()
        # One TLS context for all (loading the CA bundle takes about 25 ms each).
        tls = ssl.create_default_context()
        for _ in range(settings.concurrency):
            self._lanes.put_nowait(
                httpx.AsyncClient(
                    follow_redirects=False,
                    timeout=settings.timeout_seconds,
                    verify=tls,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    # The guard decides where a call goes: no proxy from the environment.
                    trust_env=False,
                )
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        while not self._lanes.empty():
            await self._lanes.get_nowait().aclose()

    async def send(self, delivery: DeliveryRow) -> Attempt:
        """Try ``delivery`` once; how it went (never raises for the delivery's sake)."""
        try:
            return await self._send(delivery)
        except Exception as exc:  # a bug must not stop the worker: log it on the delivery
            return Attempt("retry", error=f"unexpected error: {type(exc).__name__}: {exc}")

    async def _send(self, d: DeliveryRow) -> Attempt:
        if d.kind == "webhook" or (d.kind == "notify" and "@" not in d.target):
            return await self._webhook(d)
        if d.kind in ("email", "notify"):
            return await self._email(d)
        return Attempt("failed", error=f"unknown delivery kind {d.kind!r}")

    async def _webhook(self, d: DeliveryRow) -> Attempt:
        endpoint = self.config.webhooks.get(d.target)
        if endpoint is None:
            return Attempt(
                "failed",
                error=f"no webhook is named {d.target} in cible.toml ([webhooks.{d.target}])",
            )
        client = await self._lanes.get()
        try:
            return await call_webhook(
                client,
                self.guard,
                d.target,
                endpoint,
                webhook_id=d.idempotency_key,
                body=d.payload.encode("utf-8"),
                timeout=self.config.activation.timeout_seconds,
                environ=self.environ,
            )
        finally:
            self._lanes.put_nowait(client)

    async def _email(self, d: DeliveryRow) -> Attempt:
        try:
            payload: Any = json.loads(d.payload)
        except ValueError:
            return Attempt("failed", error="the e-mail's payload is not JSON")
        if not isinstance(payload, dict):
            return Attempt("failed", error="the e-mail's payload is not a JSON object")
        payload.setdefault("to", d.target)
        link = None
        if d.kind == "email" and d.customer_id is not None:
            link = unsubscribe_link(
                self.config.activation.public_url,
                self.signing_secret,
                d.customer_id,
                d.consent_channel or "email",
            )
        return await send_email(
            self.config.email, d.idempotency_key, payload, unsubscribe=link, environ=self.environ
        )
