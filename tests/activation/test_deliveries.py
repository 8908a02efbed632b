"""Rules at send time: consent read when sending, frequency caps, quiet hours; the log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cible import Workspace
from cible.activation.deliveries import DeliveryNotFoundError, Sent
from cible.activation.webhooks import Attempt
from cible.domain.errors import CibleError
from cible.store.deliveries import NewDelivery
from tests.activation.receivers import configure
from tests.server.conftest import make_workspace

T0 = datetime(2025, 3, 3, 12, 0)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    make_workspace(tmp_path / "data")
    return tmp_path / "data" / "shop"


def email(key: str, customer: str, *, cap: str | None = "email") -> NewDelivery:
    payload = {"to": f"{customer}@example.com", "subject": "Hi", "text": "Hi", "lang": "en"}
    return NewDelivery(
        key,
        "email",
        customer,
        f"{customer}@example.com",
        json.dumps(payload),
        consent_channel="email",
        consent_purpose="marketing",
        cap_channel=cap,
    )


def statuses(ws: Workspace) -> dict[str, tuple[str, str | None]]:
    return {d.idempotency_key: (d.status, d.last_error) for d in ws.deliveries.list()}


def load_consents(ws: Workspace, folder: Path, text: str) -> None:
    path = folder / "more-consents.csv"
    # No date: the import time, later than every earlier record.
    path.write_text("customer_id,channel,purpose,status\n" + text)
    assert ws.imports.load("consents", path).rejected == 0


def test_consent_is_read_when_sending_not_when_enqueued(shop: Path, tmp_path: Path):
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries(
            [email("to-a", "a"), email("to-b", "b"), email("to-c", "c"), email("to-x", "x")],
            at=T0,
        )
        # Between enqueue and send: a withdraws, c denies.
        load_consents(
            ws,
            tmp_path,
            "a,email,marketing,withdrawn\nc,email,marketing,denied\n",
        )
        ready = ws.deliveries.claim(now=T0 + timedelta(minutes=1))
        found = statuses(ws)
        log = ws.deliveries.log(ws.deliveries.list(customer="a")[0].delivery_id)
    assert ready == []
    assert found == {
        "to-a": ("skipped", "withdrawn"),
        "to-b": ("skipped", "withdrawn"),
        "to-c": ("skipped", "denied"),
        "to-x": ("skipped", "no_consent"),
    }
    assert [(a.outcome, a.error) for a in log.attempts] == [("skipped", "withdrawn")]


def test_a_claimed_delivery_is_checked_again_before_a_late_send(shop: Path, tmp_path: Path):
    with Workspace.open(shop) as ws:
        load_consents(ws, tmp_path, "a,email,marketing,granted\n")
        ws.store.enqueue_deliveries([email("late", "a")], at=T0)
        claimed = ws.deliveries.claim(now=T0 + timedelta(minutes=1))
        assert [d.idempotency_key for d in claimed] == ["late"]
        # It waits for its turn; meanwhile the customer unsubscribes.
        assert ws.deliveries.recheck(claimed) == claimed
        load_consents(ws, tmp_path, "a,email,marketing,withdrawn\n")
        assert ws.deliveries.recheck(claimed) == []
        assert statuses(ws)["late"] == ("skipped", "withdrawn")


def test_granted_consent_is_claimed_and_a_team_notification_needs_none(shop: Path):
    with Workspace.open(shop) as ws:
        team = NewDelivery("to-sales", "notify", None, "sales@example.com", "{}")
        ws.store.enqueue_deliveries([email("to-a", "a"), team], at=T0)
        ready = ws.deliveries.claim(now=T0)
        # Claiming writes nothing: the same rows are due again (a restart sends them).
        again = ws.deliveries.due(now=T0)
        left_out = ws.deliveries.claim(now=T0, in_flight=[d.delivery_id for d in ready])
    assert sorted(d.idempotency_key for d in ready) == ["to-a", "to-sales"]
    assert sorted(d.idempotency_key for d in again) == ["to-a", "to-sales"]
    assert left_out == []


def test_frequency_cap_counts_delivered_and_in_flight(shop: Path):
    configure(shop, activation={"frequency": {"email": {"max": 2, "days": 7}}})
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries([email(f"a-{n}", "a") for n in range(3)], at=T0)
        first = ws.deliveries.claim(now=T0, limit=1)
        # The first is being sent: it counts, so only one more passes the cap of two.
        second = ws.deliveries.claim(now=T0, in_flight=[first[0].delivery_id])
        ws.deliveries.record([Sent(d, Attempt("delivered", 250), T0) for d in (*first, *second)])
        # A day later the two delivered still count; eight days later they do not.
        ws.store.enqueue_deliveries([email("a-later", "a")], at=T0 + timedelta(days=1))
        ws.deliveries.claim(now=T0 + timedelta(days=1))
        ws.store.enqueue_deliveries([email("a-week", "a")], at=T0 + timedelta(days=8))
        week = ws.deliveries.claim(now=T0 + timedelta(days=8))
        found = statuses(ws)
    assert len(first) == 1 and len(second) == 1
    assert found["a-2"] == ("skipped", "frequency_cap")
    assert found["a-later"] == ("skipped", "frequency_cap")
    assert [d.idempotency_key for d in week] == ["a-week"]


def test_quiet_hours_delay_customer_messages_to_the_end_of_the_period(shop: Path):
    configure(
        shop,
        workspace={"timezone": "Europe/Paris"},
        activation={"quiet_hours": {"start": "21:00", "end": "08:00"}},
    )
    late = datetime(2025, 1, 15, 22, 30)  # 23:30 in Paris
    with Workspace.open(shop) as ws:
        team = NewDelivery("to-sales", "notify", None, "sales@example.com", "{}")
        ws.store.enqueue_deliveries([email("to-a", "a"), team], at=late)
        at_night = ws.deliveries.claim(now=late)
        [waiting] = ws.deliveries.list(customer="a")
        before = ws.deliveries.claim(now=datetime(2025, 1, 16, 6, 59))
        morning = ws.deliveries.claim(now=datetime(2025, 1, 16, 7, 0))
        log = ws.deliveries.log(waiting.delivery_id)
    # Team notifications do not wait; the customer's e-mail waits until 08:00 in Paris.
    assert [d.idempotency_key for d in at_night] == ["to-sales"]
    assert waiting.status == "pending" and waiting.attempts == 0
    assert waiting.next_attempt_at == datetime(2025, 1, 16, 7, 0)
    assert waiting.last_error == "quiet_hours: waits until 2025-01-16 07:00 UTC"
    assert log.attempts == []
    assert [d.idempotency_key for d in before] == ["to-sales"]
    assert sorted(d.idempotency_key for d in morning) == ["to-a", "to-sales"]


def test_list_filters_and_errors(shop: Path):
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries([email("to-a", "a"), email("to-x", "x")], at=T0)
        ws.deliveries.claim(now=T0)
        assert [d.idempotency_key for d in ws.deliveries.list(status="pending")] == ["to-a"]
        assert [d.idempotency_key for d in ws.deliveries.list(status="skipped")] == ["to-x"]
        assert [d.customer_id for d in ws.deliveries.list(customer="x")] == ["x"]
        assert ws.deliveries.list(kind="webhook") == []
        with pytest.raises(CibleError, match="Unknown delivery status 'sent'"):
            ws.deliveries.list(status="sent")
        with pytest.raises(DeliveryNotFoundError, match="No delivery 99"):
            ws.deliveries.log(99)
        pending = ws.deliveries.list(status="pending")[0].delivery_id
        with pytest.raises(CibleError, match=f"Delivery {pending} is pending: only a failed"):
            ws.deliveries.retry(pending)
