"""Webhooks to a real receiver on 127.0.0.1: signatures, retries, verdicts, secrets."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from cible import Workspace
from cible.store.deliveries import NewDelivery
from tests.activation.receivers import (
    SECRET,
    SECRET_ENV,
    Receiver,
    configure,
    run_rounds,
    webhook,
)
from tests.server.conftest import make_workspace

T0 = datetime(2025, 3, 3, 12, 0)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_workspace(tmp_path / "data")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return tmp_path / "data" / "shop"


def enqueue(ws: Workspace, key: str = "run-1:0", target: str = "sales") -> None:
    body = json.dumps({"type": "segment.entered", "customer_id": "a", "segment": "vip"})
    ws.store.enqueue_deliveries([NewDelivery(key, "webhook", "a", target, body)], at=T0)


def test_three_failures_then_success_is_one_delivery_with_four_attempts(shop: Path):
    receiver = Receiver(lambda n: (500, {}) if n < 3 else (200, {}))
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"], "retry_base_seconds": 1, "max_attempts": 8},
            webhooks={"sales": webhook(receiver.url + "/hooks/sales")},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            # Each round an hour later: any backoff (at most 8 s here) has passed.
            run_rounds(ws, [T0 + timedelta(hours=h) for h in range(6)])
            [delivery] = ws.deliveries.list()
            log = ws.deliveries.log(delivery.delivery_id)
    accepted = [r for n, r in enumerate(receiver.received) if n >= 3]
    assert len(receiver.received) == 4 and len(accepted) == 1
    assert {r.headers["webhook-id"] for r in receiver.received} == {"run-1:0"}
    for request in receiver.received:
        # Verifies with the official package: the signature is Standard Webhooks'.
        assert Webhook(SECRET).verify(request.body, request.headers)["segment"] == "vip"
        assert request.path == "/hooks/sales"
    assert delivery.status == "delivered" and delivery.attempts == 4
    assert [a.outcome for a in log.attempts] == ["retry", "retry", "retry", "delivered"]
    assert [a.status_code for a in log.attempts] == [500, 500, 500, 200]
    assert log.attempts[0].error and log.attempts[0].error.startswith("HTTP 500")


def test_retries_wait_for_their_backoff(shop: Path):
    receiver = Receiver(lambda n: (503, {}))
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"], "retry_base_seconds": 60},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            # Right after the failure the retry is not due yet (0 to 60 s of jitter).
            run_rounds(ws, [T0, T0])
            [delivery] = ws.deliveries.list()
    assert len(receiver.received) == 1
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
    assert T0 <= delivery.next_attempt_at <= T0 + timedelta(seconds=60)


def test_gives_up_after_max_attempts(shop: Path):
    receiver = Receiver(lambda n: (429, {}))
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"], "max_attempts": 3},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            run_rounds(ws, [T0 + timedelta(hours=h) for h in range(5)])
            [delivery] = ws.deliveries.list()
    assert len(receiver.received) == 3
    assert delivery.status == "failed"
    assert delivery.last_error is not None and "given up after 3 attempts" in delivery.last_error


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_a_client_error_fails_without_retry(shop: Path, status: int):
    receiver = Receiver(lambda n: (status, {}))
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"]},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            run_rounds(ws, [T0 + timedelta(hours=h) for h in range(3)])
            [delivery] = ws.deliveries.list()
    assert len(receiver.received) == 1
    assert delivery.status == "failed" and delivery.last_error == f"HTTP {status}: ok"


def test_a_timeout_is_retried(shop: Path):
    receiver = Receiver(lambda n: (time.sleep(1.0 if n == 0 else 0), (200, {}))[1])
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"], "timeout_seconds": 0.2},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            run_rounds(ws, [T0, T0 + timedelta(hours=1)])
            log = ws.deliveries.log(ws.deliveries.list()[0].delivery_id)
    assert [a.outcome for a in log.attempts] == ["retry", "delivered"]
    assert log.attempts[0].error == "timed out after 0.2 s"


def test_a_missing_secret_fails_with_the_variable_named(
    shop: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(SECRET_ENV)
    receiver = Receiver()
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"]},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            run_rounds(ws, [T0])
            [delivery] = ws.deliveries.list()
    assert receiver.received == []
    assert delivery.status == "failed"
    assert delivery.last_error == (
        f"webhook sales: the environment variable {SECRET_ENV} holding its signing secret "
        "is not set"
    )


def test_an_unknown_webhook_name_fails(shop: Path):
    with Workspace.open(shop) as ws:
        enqueue(ws, target="nobody")
        run_rounds(ws, [T0])
        [delivery] = ws.deliveries.list()
    assert delivery.status == "failed"
    assert delivery.last_error == "no webhook is named nobody in cible.toml ([webhooks.nobody])"


def test_a_failed_delivery_retried_by_hand_keeps_its_key(shop: Path):
    receiver = Receiver(lambda n: (404, {}) if n == 0 else (200, {}))
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"]},
            webhooks={"sales": webhook(receiver.url)},
        )
        with Workspace.open(shop) as ws:
            enqueue(ws)
            run_rounds(ws, [T0])
            [failed] = ws.deliveries.list(status="failed")
            again = ws.deliveries.retry(failed.delivery_id, now=T0)
            run_rounds(ws, [T0 + timedelta(minutes=1)])
            [done] = ws.deliveries.list()
    assert again.status == "pending"
    assert done.status == "delivered" and done.attempts == 2
    assert [r.headers["webhook-id"] for r in receiver.received] == ["run-1:0", "run-1:0"]
