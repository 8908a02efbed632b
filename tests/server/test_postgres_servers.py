"""Two real `cible serve` processes on one workspace held in PostgreSQL.

Each server has its own folder with the same ``cible.toml`` (``[engine] backend`` on
the local server), as two machines behind one address would. The official Segment
client sends every page view to both servers (a retried request reaching the other
one) and other events to either; an automation on the pricing page tags the
customer, the tag puts them in the hot-leads segment, and the automation on that
segment sends one e-mail (a real SMTP server) and one signed webhook. Each event is
stored once, the customer enters the segment once, and exactly one e-mail and one
webhook leave, whichever server took what.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from segment.analytics.client import Client
from standardwebhooks import Webhook

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from tests.activation.conftest import make_shop
from tests.activation.receivers import SECRET, Mailbox, Receiver
from tests.backends.engines import postgres_address
from tests.server.processes import free_port, serving, wait_for
from tests.server.test_activation_e2e import set_up_pricing_loop

pytestmark = pytest.mark.slow

OTHER_EVENTS = 60


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_address("cible_serve") as address:
        yield address


def _client(key: str, url: str, errors: list[Exception]) -> Client:
    return Client(
        key,
        host=url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )


def test_two_servers_store_each_event_once_and_send_once(tmp_path: Path, postgres_url: str) -> None:
    config = WorkspaceConfig.model_validate({"engine": {"backend": postgres_url}})
    shop = make_shop(tmp_path, config=config)
    ports = free_port(), free_port()
    with Receiver().running() as sales, Mailbox().running() as mailbox:
        key = set_up_pricing_loop(shop, ports[0], mailbox, sales)
        with Workspace.open(shop) as ws:
            assert ws.store.engine == "postgres"
        # The second machine: its own folder, the same settings, the same database.
        other = tmp_path / "other"
        other.mkdir()
        shutil.copy(shop / "cible.toml", other / "cible.toml")
        errors: list[Exception] = []
        with (
            serving(shop, tmp_path / "one.log", ports[0]) as one,
            serving(other, tmp_path / "two.log", ports[1]) as two,
        ):
            clients = _client(key, one, errors), _client(key, two, errors)
            page = {
                "user_id": "a",
                "name": "Tarifs",
                "properties": {"url": "https://shop.example/fr/tarifs"},
                "message_id": "pricing-a-1",
            }
            for client in clients:  # the same message through both servers
                client.page(**page)
            for number in range(OTHER_EVENTS):
                client = clients[number % 2]
                client.track(
                    user_id="a",
                    event="Product Viewed",
                    properties={"product_id": f"p{number}"},
                    message_id=f"view-a-{number}",
                )
                client.track(  # and a retry that reached the other server
                    user_id="a",
                    event="Product Viewed",
                    properties={"product_id": f"p{number}"},
                    message_id=f"view-a-{number}",
                ) if number % 5 == 0 else None
            for client in clients:
                client.flush()
            assert errors == []
            wait_for(lambda: mailbox.messages, "the e-mail")
            wait_for(lambda: sales.received, "the webhook")
            time.sleep(2.0)  # both servers' workers have passed again: nothing more leaves
    assert len(mailbox.messages) == 1 and len(sales.received) == 1
    body = Webhook(SECRET).verify(sales.received[0].body, sales.received[0].headers)
    assert body["type"] == "hot_lead" and body["data"]["customer_id"] == "a"
    with Workspace.open(shop) as ws:
        events = ws.table("events")
        live = events.filter(
            events.message_id.isin(["pricing-a-1", *(f"view-a-{n}" for n in range(OTHER_EVENTS))])
        )
        assert live.count().execute() == OTHER_EVENTS + 1
        assert live.message_id.nunique().execute() == OTHER_EVENTS + 1
        history = ws.table("segment_memberships")
        entered = history.filter((history.segment_id == "hot-leads") & (history.customer_id == "a"))
        assert entered.count().execute() == 1
        assert ws.tags.of(["a"]) == {"a": ["hot-lead"]}
        log = ws.automations.log("hot-leads-follow-up", customer_id="a")
        assert sorted(r.action for r in log if r.outcome == "queued") == ["email", "webhook"]
