"""Unsubscribe tokens and links: signed, read back, and the consent withdrawn through them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cible import Workspace
from cible.activation.unsubscribe import (
    InvalidTokenError,
    make_token,
    read_token,
    unsubscribe_url,
)
from cible.server.app import create_app
from tests.server.conftest import make_workspace

SECRET = b"k" * 32


@given(st.text(min_size=1, max_size=200), st.sampled_from(["email", "sms", "push"]))
def test_a_token_reads_back_what_it_names(customer_id: str, channel: str):
    token = make_token(SECRET, customer_id, channel)
    assert read_token(SECRET, token) == (customer_id, channel)
    assert unsubscribe_url("https://x.test/", token) == f"https://x.test/u/{token}"
    # URL-safe: nothing to escape in a path segment.
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_an_altered_token_is_refused():
    token = make_token(SECRET, "a", "email")
    body, mac = token.split(".")
    other = make_token(SECRET, "b", "email").split(".")[0]
    for forged in (
        f"{other}.{mac}",  # another customer with a's signature
        f"{body}.{mac[:-2]}",  # truncated
        token + ".x",
        "",
        "not-a-token",
        "!!!.???",
    ):
        with pytest.raises(InvalidTokenError):
            read_token(SECRET, forged)
    with pytest.raises(InvalidTokenError):
        read_token(b"another workspace" * 2, token)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    make_workspace(tmp_path / "data")
    return tmp_path / "data" / "shop"


def email_consent(ws: Workspace, customer: str) -> str:
    consents = ws.customers.profile(customer)["consents"]
    return next(
        c["status"] for c in consents if (c["channel"], c["purpose"]) == ("email", "marketing")
    )


def test_unsubscribe_appends_a_withdrawn_record_to_the_ledger(shop: Path):
    with Workspace.open(shop) as ws:
        link = ws.deliveries.unsubscribe_link("a")
        assert email_consent(ws, "a") == "granted"
        assert ws.deliveries.unsubscribe(link.rsplit("/", 1)[1]) == ("a", "email")
        assert email_consent(ws, "a") == "withdrawn"
        ledger = ws.table("consents").filter(lambda t: t.customer_id == "a").to_pandas()
    assert len(ledger) == 2  # the grant is kept: the ledger only grows
    [record] = ledger[ledger.status == "withdrawn"].to_dict("records")
    assert (record["source"], record["purpose"]) == ("unsubscribe", "marketing")


def test_the_unsubscribe_page_and_one_click_post(shop: Path):
    with Workspace.open(shop) as ws:
        path = "/u/" + ws.deliveries.unsubscribe_link("c").rsplit("/u/", 1)[1]
    with TestClient(create_app(shop)) as client:
        page = client.get(path)
        assert page.status_code == 200
        assert "Unsubscribe me" in page.text and "Me désinscrire" in page.text
        assert 'value="One-Click"' in page.text
        # A visit (a mail scanner following links) changes nothing.
        assert client.get(path).status_code == 200
        no_body = client.post(path)
        assert no_body.status_code == 400
        forged = client.post(path[:-3] + "AAA", data={"List-Unsubscribe": "One-Click"})
        assert forged.status_code == 400 and "Invalid link" in forged.text
        done = client.post(path, content=b"List-Unsubscribe=One-Click")
        assert done.status_code == 200 and "You are unsubscribed" in done.text
    with Workspace.open(shop) as ws:
        assert email_consent(ws, "c") == "withdrawn"
        entries = ws.audit_log.entries(limit=10, action="consent.unsubscribe")
    assert [(e.actor, e.target, e.outcome) for e in entries] == [
        ("unsubscribe", "customer:c", "ok"),
        ("unsubscribe", "token", "refused"),
        ("unsubscribe", "token", "refused"),
    ]
