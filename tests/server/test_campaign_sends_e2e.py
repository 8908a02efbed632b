"""A campaign sent through a real `cible serve` to a real SMTP server (aiosmtpd): each
variant customer gets one e-mail carrying the campaign and variant, the holdout none."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from cible import Workspace
from cible.activation.campaign_assignment import assign_arms
from tests.activation.receivers import Mailbox, configure
from tests.activation.test_campaign_sends import _campaign, make_shop
from tests.server.processes import free_port, serving, wait_for

pytestmark = pytest.mark.slow

IDS = [f"s{i:02d}" for i in range(24)]
ARMS = [("a", 0.3), ("b", 0.3), ("holdout", 0.4)]


def test_variant_emails_arrive_with_the_campaign_header_and_the_holdout_gets_none(
    tmp_path: Path,
) -> None:
    shop = make_shop(tmp_path, IDS)
    port = free_port()
    arms = dict(zip(IDS, assign_arms("spring", IDS, ARMS), strict=True))
    treated = {c for c, arm in arms.items() if arm != "holdout"}
    with Mailbox().running() as mailbox:
        configure(
            shop,
            activation={"public_url": f"http://127.0.0.1:{port}"},
            email={"host": "127.0.0.1", "port": mailbox.port, "sender": "Shop <shop@example.com>"},
        )
        with Workspace.open(shop) as ws:
            ws.campaigns.add(_campaign())
            ws.campaigns.launch("spring")
        with serving(shop, tmp_path / "serve.log", port) as url:
            headers = {
                "Authorization": f"Bearer {(shop / 'cible.serve.token').read_text().strip()}"
            }
            sent = httpx.post(f"{url}/api/campaigns/spring/send", headers=headers)
            assert sent.status_code == 200, sent.text
            queued = sent.json()["queued"]
            wait_for(lambda: len(mailbox.messages) >= queued, "the campaign's e-mails")
            time.sleep(0.5)  # nothing more may arrive
            again = httpx.post(f"{url}/api/campaigns/spring/send", headers=headers).json()

            def delivered() -> dict[str, int]:
                found = httpx.get(f"{url}/api/campaigns/spring/sends", headers=headers).json()
                counts = {arm: n["delivered"] for arm, n in found["arms"].items()}
                return counts if sum(counts.values()) == queued else {}

            outcome = wait_for(delivered, "the deliveries recorded")
            time.sleep(0.5)
    assert queued == len(treated) and sent.json()["holdout"] == len(IDS) - len(treated)
    assert again["queued"] == 0 and again["already_sent"] == queued
    received = {tuple(rcpt): message for rcpt, message in mailbox.messages}
    assert len(mailbox.messages) == queued
    assert set(received) == {(f"{c}@example.com",) for c in treated}
    for (address,), message in received.items():
        customer = address.split("@")[0]
        assert message["X-Cible-Campaign"] == "spring"
        assert message["X-Cible-Variant"] == arms[customer]
        assert message["Subject"] == f"Spring for {customer.upper()}"
        assert message["List-Unsubscribe"].strip().startswith(f"<http://127.0.0.1:{port}/u/")
    assert outcome == {arm: sum(1 for c in treated if arms[c] == arm) for arm in ("a", "b")}
