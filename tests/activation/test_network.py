"""The SSRF guard: non-public addresses refused unless allow-listed, redirects not followed."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.activation.network import Guard, RefusedAddressError, non_public_reason
from cible.store.deliveries import NewDelivery
from tests.activation.receivers import SECRET, SECRET_ENV, Receiver, configure, run_rounds, webhook
from tests.server.conftest import make_workspace

T0 = datetime(2025, 3, 3, 12, 0)


def resolver(table: dict[str, Sequence[str]]):
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def check(url: str, allow: Sequence[str] = (), **table: Sequence[str]):
    names = {k.replace("_", "."): v for k, v in table.items()}
    return asyncio.run(Guard(allow, resolver=resolver(names)).check(url))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://192.168.1.10/", "private"),
        ("http://100.64.0.1/", "non-global"),
        ("http://hooks.internal.example/", "private"),
    ],
)
def test_non_public_addresses_are_refused(url: str, reason: str):
    with pytest.raises(RefusedAddressError, match=f"a {reason} address"):
        check(url, localhost=["127.0.0.1"], hooks_internal_example=["10.20.30.40"])


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(RefusedAddressError, match=r"resolves to 10\.0\.0\.7"):
        check("https://mixed.example/", mixed_example=["93.184.215.14", "10.0.0.7"])


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(RefusedAddressError, match="does not resolve"):
        check("https://nowhere.example/")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///x"])
def test_only_http_urls_with_a_host(url: str):
    with pytest.raises(RefusedAddressError, match="not an http"):
        check(url)


@pytest.mark.parametrize("allow", [["127.0.0.1"], ["127.0.0.0/8"], ["localhost"], ["LOCALHOST."]])
def test_allow_hosts_accepts_names_addresses_and_networks(allow: list[str]):
    target = check("http://localhost:9000/in?a=1", allow, localhost=["127.0.0.1"])
    assert target.url == "http://127.0.0.1:9000/in?a=1"
    assert target.host_header == "localhost:9000"
    assert target.extensions == {}


def test_the_checked_address_is_called_and_the_name_kept_for_tls():
    target = check("https://hooks.example.com/in", hooks_example_com=["2606:4700::1111"])
    assert target.url == "https://[2606:4700::1111]/in"
    assert target.host_header == "hooks.example.com"
    assert target.extensions == {"sni_hostname": "hooks.example.com"}


def test_a_public_address_has_no_reason():
    assert non_public_reason(ipaddress.ip_address("93.184.215.14")) is None


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_workspace(tmp_path / "data")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return tmp_path / "data" / "shop"


def deliver(shop: Path, **sender_options: object):
    with Workspace.open(shop) as ws:
        ws.store.enqueue_deliveries(
            [NewDelivery("k1", "webhook", "a", "sales", json.dumps({"x": 1}))], at=T0
        )
        run_rounds(ws, [T0], **sender_options)
        [delivery] = ws.deliveries.list()
        return delivery


def test_a_loopback_receiver_is_refused_without_the_allow_list(shop: Path):
    receiver = Receiver()
    with receiver.running():
        configure(shop, webhooks={"sales": webhook(receiver.url)})
        delivery = deliver(shop)
    assert receiver.received == []
    assert delivery.status == "failed"
    assert delivery.last_error is not None
    assert "127.0.0.1, a loopback address" in delivery.last_error


def test_an_allow_listed_loopback_receiver_gets_the_call(shop: Path):
    receiver = Receiver()
    with receiver.running():
        configure(
            shop,
            activation={"allow_hosts": ["127.0.0.1"]},
            webhooks={"sales": webhook(receiver.url)},
        )
        delivery = deliver(shop)
    assert delivery.status == "delivered"
    assert len(receiver.received) == 1


def test_a_name_resolving_to_a_private_address_is_refused_through_the_sender(shop: Path):
    configure(shop, webhooks={"sales": webhook("https://crm.example.com/hook")})
    delivery = deliver(shop, resolver=resolver({"crm.example.com": ["10.1.2.3"]}))
    assert delivery.status == "failed"
    assert delivery.last_error == (
        "webhook sales: crm.example.com resolves to 10.1.2.3, a private address; add it to "
        "[activation] allow_hosts to allow it."
    )


def test_a_redirect_is_not_followed(shop: Path):
    elsewhere = Receiver()
    with elsewhere.running():
        redirecting = Receiver(lambda n: (302, {"location": elsewhere.url + "/other"}))
        with redirecting.running():
            configure(
                shop,
                activation={"allow_hosts": ["127.0.0.1"]},
                webhooks={"sales": webhook(redirecting.url)},
            )
            with Workspace.open(shop) as ws:
                ws.store.enqueue_deliveries(
                    [NewDelivery("k1", "webhook", "a", "sales", "{}")], at=T0
                )
                # Not retried either: later rounds send nothing.
                run_rounds(ws, [T0, T0.replace(hour=13), T0.replace(hour=14)])
                [delivery] = ws.deliveries.list()
    assert len(redirecting.received) == 1
    assert elsewhere.received == []
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.last_error == f"redirect not followed (HTTP 302 to {elsewhere.url}/other)"
