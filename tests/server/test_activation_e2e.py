"""The whole loop through a real `cible serve`: behaviour in, segment, message out, under consent.

The official Segment client sends a page view of the pricing page; an automation on
that event tags the customer; the tag puts them in the hot-leads segment; the
automation on that segment sends the pricing guide (its hot-leads block) to a real
SMTP server (aiosmtpd) and a signed notification to the sales webhook, verified with
the ``standardwebhooks`` package. The same page view from a customer who withdrew
e-mail consent sends nothing, and the delivery log says why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client
from standardwebhooks import Webhook

from cible import Workspace
from tests.activation.conftest import make_shop
from tests.activation.receivers import SECRET, Mailbox, Receiver, configure, webhook
from tests.server.processes import free_port, serving

pytestmark = pytest.mark.slow

TEMPLATE = """
id: pricing-guide
name: {en: Pricing guide, fr: Guide des tarifs}
default_language: en
subject: {en: "Your pricing guide, {{ customer.first_name | default('there') }}",
          fr: "Votre guide des tarifs"}
html: {en: "<p>Hello {{ customer.first_name }}</p>{{ block('offer') }}", fr: "<p>Bonjour</p>"}
blocks:
  offer:
    - {segment: hot-leads, html: {en: "<p>Book a demo with sales</p>", fr: "<p>Démo</p>"}}
    - {html: {en: "<p>Read our blog</p>", fr: "<p>Blog</p>"}}
"""
PRICING = {
    "id": "pricing-visitors",
    "trigger": {
        "event": {
            "type": "page",
            "where": [{"property": "url", "op": "contains", "value": "/tarifs"}],
        }
    },
    "steps": [{"add_tag": "hot-lead"}],
}
FOLLOW_UP = {
    "id": "hot-leads-follow-up",
    "trigger": {"segment": "hot-leads", "on": "entered"},
    "steps": [
        {"email": {"template": "pricing-guide"}},
        {"webhook": {"name": "sales", "event": "hot_lead"}},
    ],
}


def set_up_pricing_loop(shop: Path, port: int, mailbox: Mailbox, sales: Receiver) -> str:
    """The pricing page's automations, template, tag and segment, sending through
    ``mailbox`` and to ``sales`` for a server on ``port``; returns an ingest key."""
    configure(
        shop,
        activation={"allow_hosts": ["127.0.0.1"], "public_url": f"http://127.0.0.1:{port}"},
        email={"host": "127.0.0.1", "port": mailbox.port, "sender": "Shop <shop@example.com>"},
        webhooks={"sales": webhook(f"{sales.url}/hooks/sales")},
    )
    (shop.parent / "guide.yaml").write_text(TEMPLATE)
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead", description="Saw the pricing page")
        ws.segments.add({"id": "hot-leads", "name": "Hot leads", "where": {"tag": "hot-lead"}})
        ws.templates.add(shop.parent / "guide.yaml")
        ws.run()
        ws.automations.add(PRICING)
        ws.automations.add(FOLLOW_UP)
        key, _ = ws.tokens.create("website", "ingest")
    return key


def _eventually(found: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := found()):
        assert time.monotonic() < deadline, "nothing arrived in time"
        time.sleep(0.05)
    return result


def test_a_page_view_ends_in_an_email_and_a_signed_webhook_under_consent(
    tmp_path: Path,
) -> None:
    shop = make_shop(tmp_path)  # a: e-mail consent granted; b: withdrawn
    port = free_port()
    with Receiver().running() as sales, Mailbox().running() as mailbox:
        key = set_up_pricing_loop(shop, port, mailbox, sales)
        with serving(shop, tmp_path / "serve.log", port) as url:
            errors: list[Exception] = []
            client = Client(
                key,
                host=url,
                sync_mode=True,
                max_retries=0,
                on_error=lambda error, batch: errors.append(error),
            )
            client.page(
                user_id="a",
                name="Tarifs",
                properties={"url": "https://shop.example/fr/tarifs", "path": "/fr/tarifs"},
            )
            client.page(
                user_id="b", name="Tarifs", properties={"url": "https://shop.example/fr/tarifs"}
            )
            client.flush()
            assert errors == []

            recipients, message = _eventually(lambda: mailbox.messages)[0]
            hook = _eventually(lambda: sales.received)[0]
            # Whatever b's runs queued is settled (skipped) once both of a's arrived.
            token = (shop / "cible.serve.token").read_text().strip()

            def b_settled() -> list[dict[str, Any]]:
                rows = httpx.get(
                    f"{url}/api/deliveries",
                    params={"customer": "b"},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                return rows if rows and all(r["status"] == "skipped" for r in rows) else []

            skipped = _eventually(b_settled)
            time.sleep(0.5)  # nothing more may arrive for b

    assert recipients == ["a@example.com"]
    assert message["Subject"] == "Your pricing guide, Ann"
    assert "Book a demo with sales" in message.get_body(("html",)).get_content()
    assert (
        message["List-Unsubscribe"].startswith("<")
        and "List-Unsubscribe=One-Click" in (message["List-Unsubscribe-Post"])
    )
    body = Webhook(SECRET).verify(hook.body, hook.headers)
    assert body["type"] == "hot_lead" and body["data"]["customer_id"] == "a"
    assert "hot-leads" in body["data"]["segments"] and body["data"]["tags"] == ["hot-lead"]
    assert len(mailbox.messages) == 1 and len(sales.received) == 1
    assert {(r["kind"], r["last_error"]) for r in skipped} == {
        ("email", "withdrawn"),
        ("webhook", "withdrawn"),
    }
    with Workspace.open(shop) as ws:
        log = ws.automations.log("hot-leads-follow-up", customer_id="b")
        assert [(r.action, r.outcome) for r in log][:2] == [
            ("email", "queued"),
            ("webhook", "queued"),
        ]
        assert ws.tags.of(["a", "b"]) == {"a": ["hot-lead"], "b": ["hot-lead"]}
        attempts = json.dumps(ws.deliveries.log(skipped[0]["delivery_id"]).as_dict(), default=str)
        assert "withdrawn" in attempts
