"""E-mails to a real SMTP server (aiosmtpd): headers, parts, unsubscribe link, failures."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.activation.mail import message_id
from cible.activation.unsubscribe import read_token
from cible.store.deliveries import NewDelivery
from tests.activation.receivers import Mailbox, configure, run_rounds
from tests.server.conftest import make_workspace

T0 = datetime(2025, 3, 3, 12, 0)
PAYLOAD = {
    "to": "Anne Martin <a@example.com>",
    "subject": "Votre guide tarifs",
    "html": "<p>Bonjour <b>Anne</b></p>",
    "text": "Bonjour Anne",
    "lang": "fr",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    make_workspace(tmp_path / "data")
    return tmp_path / "data" / "shop"


def test_an_email_arrives_with_one_click_unsubscribe(shop: Path):
    mailbox = Mailbox()
    with mailbox.running():
        configure(
            shop,
            email={"host": "127.0.0.1", "port": mailbox.port, "sender": "Shop <news@shop.test>"},
            activation={"public_url": "https://shop.test/cible/"},
        )
        with Workspace.open(shop) as ws:
            ws.store.enqueue_deliveries(
                [
                    NewDelivery(
                        "auto-1:run-7:2",
                        "email",
                        "a",
                        "a@example.com",
                        json.dumps(PAYLOAD),
                        consent_channel="email",
                        consent_purpose="marketing",
                        cap_channel="email",
                    )
                ],
                at=T0,
            )
            run_rounds(ws, [T0])
            [delivery] = ws.deliveries.list()
            secret = ws.store.signing_secret()
    assert delivery.status == "delivered", delivery.last_error
    [(recipients, message)] = mailbox.messages
    assert recipients == ["a@example.com"]
    assert message["Subject"] == "Votre guide tarifs"
    assert message["From"] == "Shop <news@shop.test>"
    assert message["Message-ID"] == message_id("auto-1:run-7:2", "news@shop.test")
    assert message["Content-Language"] == "fr"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith("https://shop.test/cible/u/")
    assert read_token(secret, link.rsplit("/", 1)[1]) == ("a", "email")
    assert message.get_body(("plain",)).get_content().strip() == "Bonjour Anne"
    assert "<b>Anne</b>" in message.get_body(("html",)).get_content()


def test_a_team_notification_by_email_has_no_unsubscribe_header(shop: Path):
    mailbox = Mailbox()
    with mailbox.running():
        configure(shop, email={"host": "127.0.0.1", "port": mailbox.port})
        with Workspace.open(shop) as ws:
            body = {"subject": "Hot lead", "text": "Customer a is hot", "html": ""}
            ws.store.enqueue_deliveries(
                [NewDelivery("n1", "notify", "a", "sales@shop.test", json.dumps(body))], at=T0
            )
            run_rounds(ws, [T0])
    [(recipients, message)] = mailbox.messages
    assert recipients == ["sales@shop.test"]
    assert message["List-Unsubscribe"] is None
    assert message.get_content_type() == "text/plain"


def test_an_unreachable_smtp_server_is_retried_and_a_missing_password_fails(
    shop: Path, monkeypatch: pytest.MonkeyPatch
):
    mailbox = Mailbox()
    with mailbox.running():
        port = mailbox.port
    configure(shop, email={"host": "127.0.0.1", "port": port})
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries(
            [NewDelivery("m1", "notify", None, "sales@shop.test", json.dumps(PAYLOAD))], at=T0
        )
        run_rounds(ws, [T0])
        [delivery] = ws.deliveries.list()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error is not None
    assert delivery.last_error.startswith(f"SMTP server 127.0.0.1:{port}:")
    monkeypatch.delenv("CIBLE_TEST_SMTP_PASSWORD", raising=False)
    configure(shop, email={"username": "shop", "password_env": "CIBLE_TEST_SMTP_PASSWORD"})
    with Workspace.open(shop) as ws:
        run_rounds(ws, [T0.replace(hour=18)])
        [delivery] = ws.deliveries.list()
    assert delivery.status == "failed"
    assert delivery.last_error == (
        "the environment variable CIBLE_TEST_SMTP_PASSWORD holding the SMTP password is not set"
    )


def test_a_payload_without_one_recipient_fails(shop: Path):
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries(
            [NewDelivery("m1", "notify", None, "a@x.test, b@x.test", json.dumps({"text": "x"}))],
            at=T0,
        )
        run_rounds(ws, [T0])
        [delivery] = ws.deliveries.list()
    assert delivery.status == "failed"
    assert delivery.last_error == "the e-mail's recipient 'a@x.test, b@x.test' is not one address"


def test_only_cible_headers_of_the_payload_reach_the_message():
    from cible.activation.mail import build_message
    from cible.domain.activation_settings import EmailSection

    headers = {"X-Cible-Campaign": "spring", "x-cible-variant": "a", "Bcc": "spy@evil.test"}
    message = build_message(
        EmailSection(sender="Shop <s@shop.example>"), "k", {**PAYLOAD, "headers": headers}
    )
    assert message["X-Cible-Campaign"] == "spring" and message["X-Cible-Variant"] == "a"
    assert message["Bcc"] is None
    with pytest.raises(ValueError):
        build_message(
            EmailSection(sender="s@shop.example"),
            "k",
            {**PAYLOAD, "headers": {"X-Cible-Campaign": "a\nBcc: spy@evil.test"}},
        )
