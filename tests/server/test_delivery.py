"""Delivery through a real `cible serve`: killed mid-flight, e-mail and unsubscribe, the API.

Real processes and servers: `cible serve` on 127.0.0.1, an HTTP receiver, an SMTP
server (aiosmtpd). A webhook in flight when the server is killed with SIGKILL is
delivered after the restart with the same ``webhook-id``; an e-mail's one-click
unsubscribe link withdraws the consent through the served workspace.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from cible import Workspace
from cible.access.roles import Role
from cible.server import delivery as worker_module
from cible.server.app import create_app
from cible.server.database import Database
from cible.server.delivery import DeliveryWorker
from cible.store.deliveries import NewDelivery
from tests.activation.receivers import SECRET, SECRET_ENV, Mailbox, Receiver, configure, webhook
from tests.server.conftest import make_workspace
from tests.server.processes import free_port, serving, start, wait_for

pytestmark = pytest.mark.slow
T0 = datetime(2025, 3, 3, 12, 0)


def test_a_webhook_in_flight_when_the_server_is_killed_is_delivered_after_restart(
    tmp_path: Path,
):
    secrets = make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    release = threading.Event()

    def answer(number: int) -> tuple[int, dict[str, str]]:
        if number == 0:
            release.wait(30)  # the first call hangs until the server is dead
        return 200, {}

    receiver = Receiver(answer)
    log = tmp_path / "serve.log"
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"], "timeout_seconds": 60},
            webhooks={"sales": webhook(receiver.url + "/sales")},
        )
        with Workspace.open(shop) as ws:
            body = json.dumps({"type": "segment.entered", "customer_id": "a"})
            ws.store.enqueue_deliveries(
                [NewDelivery("auto-1:run-1:0", "webhook", "a", "sales", body)], at=T0
            )
        process, _ = start(shop, log)
        try:
            wait_for(lambda: receiver.received, "the first call")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
        with serving(shop, log) as url:
            wait_for(lambda: len(receiver.received) >= 2, "the call after the restart")
            headers = {"Authorization": f"Bearer {secrets[Role.ANALYST]}"}

            def delivered() -> list[dict[str, Any]]:
                found = httpx.get(
                    url + "/api/deliveries", params={"status": "delivered"}, headers=headers
                )
                return list(found.json())

            [delivery] = wait_for(delivered, "the delivery recorded")
    assert len(receiver.received) == 2
    assert [r.headers["webhook-id"] for r in receiver.received] == ["auto-1:run-1:0"] * 2
    for request in receiver.received:
        assert Webhook(SECRET).verify(request.body, request.headers)["customer_id"] == "a"
    assert delivery["idempotency_key"] == "auto-1:run-1:0"
    assert delivery["attempts"] == 1  # the killed attempt was never recorded


def test_an_email_unsubscribe_link_withdraws_consent_on_the_served_workspace(tmp_path: Path):
    secrets = make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    port = free_port()
    mailbox = Mailbox()
    with mailbox.running():
        configure(
            shop,
            email={"host": "127.0.0.1", "port": mailbox.port},
            activation={"public_url": f"http://127.0.0.1:{port}"},
        )
        with Workspace.open(shop) as ws:
            payload = {"to": "a@example.com", "subject": "Guide", "text": "Hi", "html": "<p>Hi</p>"}
            ws.store.enqueue_deliveries(
                [
                    NewDelivery(
                        "auto-2:run-1:1",
                        "email",
                        "a",
                        "a@example.com",
                        json.dumps(payload),
                        consent_channel="email",
                        consent_purpose="marketing",
                        cap_channel="email",
                    )
                ],
                at=T0,
            )
        with serving(shop, tmp_path / "serve.log", port) as url:
            [(_, message)] = wait_for(lambda: mailbox.messages, "the e-mail")
            link = message["List-Unsubscribe"].strip().strip("<>")
            assert link.startswith(url + "/u/")
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            # What a mail client's one-click button sends (RFC 8058).
            answer = httpx.post(
                link,
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 200, answer.text
            profile = httpx.get(
                url + "/api/customers/a",
                headers={"Authorization": f"Bearer {secrets[Role.ANALYST]}"},
            ).json()
    consents = {(c["channel"], c["purpose"]): c["status"] for c in profile["consents"]}
    assert consents[("email", "marketing")] == "withdrawn"


def test_the_deliveries_api(tmp_path: Path):
    secrets = make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries([NewDelivery("k-1", "webhook", "a", "nobody", "{}")], at=T0)
    as_ = {role: {"Authorization": f"Bearer {secret}"} for role, secret in secrets.items()}
    with TestClient(create_app(shop)) as client:

        def failed() -> list[dict[str, Any]]:
            return list(
                client.get("/api/deliveries?status=failed", headers=as_[Role.ANALYST]).json()
            )

        [row] = wait_for(failed, "the failure")
        assert "payload" not in row
        assert client.get("/api/deliveries", headers=as_[Role.VIEWER]).status_code == 403
        assert (
            client.get("/api/deliveries?status=sent", headers=as_[Role.ANALYST]).status_code == 422
        )
        shown = client.get(f"/api/deliveries/{row['delivery_id']}", headers=as_[Role.ANALYST])
        assert shown.json()["payload"] == "{}"
        assert [a["outcome"] for a in shown.json()["attempts"]] == ["failed"]
        assert client.get("/api/deliveries/999", headers=as_[Role.ANALYST]).status_code == 404
        retry = f"/api/deliveries/{row['delivery_id']}/retry"
        assert client.post(retry, headers=as_[Role.ANALYST]).status_code == 403
        answer = client.post(retry, headers=as_[Role.EDITOR])
        assert answer.status_code == 200 and answer.json()["status"] == "pending"
        # The worker was woken: the delivery is tried again at once (and fails again).
        wait_for(
            lambda: client.get(
                f"/api/deliveries/{row['delivery_id']}", headers=as_[Role.ANALYST]
            ).json()["attempts"][1:],
            "the second attempt",
        )
    with Workspace.open(shop) as ws:
        entries = ws.audit_log.entries(limit=5, action="delivery.retry")
    assert entries and entries[-1].outcome == "ok" and entries[-1].actor == Role.EDITOR.value


def test_wake_from_the_database_thread_sends_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An automation enqueues on the database thread, then wakes the worker from there."""
    make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    # Without wake() nothing would be looked for in the next 60 s.
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 60.0)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    receiver = Receiver()
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"]},
            webhooks={"sales": webhook(receiver.url)},
        )

        async def main() -> float:
            async with Database.open(shop) as db, DeliveryWorker.running(db) as worker:
                await asyncio.sleep(0.5)  # the first look, at start, found nothing

                def enqueue_and_wake(ws: Workspace) -> None:
                    ws.store.enqueue_deliveries(
                        [NewDelivery("k-wake", "webhook", "a", "sales", "{}")], at=T0
                    )
                    worker.wake()  # on the database thread, not the event loop's

                started = time.monotonic()
                await db.call(enqueue_and_wake)
                while worker.sent < 1:
                    assert time.monotonic() - started < 10, "not sent within 10 s"
                    await asyncio.sleep(0.01)
                return time.monotonic() - started

        took = asyncio.run(main())
    assert [r.headers["webhook-id"] for r in receiver.received] == ["k-wake"]
    assert took < 10
