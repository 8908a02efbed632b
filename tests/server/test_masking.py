"""Masking by role through the HTTP API of a served workspace (issue 16).

Viewers and analysts read e-mails and phones masked unless their token carries the
``unmask`` grant; editors and admins read them in clear. One test drives a real
`cible serve` process with the CLI acting on behalf of a token.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cible import Workspace
from cible.server.app import create_app
from cible.store.deliveries import NewDelivery
from tests.server.processes import CIBLE, serving

CUSTOMERS = (
    "customer_id,email,phone,first_name\n"
    "a,jeanne.martin@example.com,+33612345678,Jeanne\n"
    "b,paul@example.org,+33698765432,Paul\n"
)
ORDERS = "order_id,customer_id,ordered_at,amount\n1,a,2025-01-02,30\n2,b,2025-01-03,700\n"
CONSENTS = "customer_id,channel,purpose,status\na,email,marketing,granted\n"
CLEAR = ("jeanne.martin@example.com", "+33612345678", "paul@example.org", "+33698765432")
MASKED_EMAIL = "j***@example.com"
MASKED_PHONE = "+33 6 ** ** ** 78"
TEMPLATE = {
    "id": "hello",
    "name": "Hello",
    "subject": {"en": "Hi {{ customer.first_name }}"},
    "html": {"en": "<p>We write to {{ customer.email }}.</p>"},
}
EVERYONE = {"trait": "monetary_value", "op": ">=", "value": 0}
#: Who asks: (role, unmask grant).
TOKENS = {
    "viewer": ("viewer", False),
    "analyst": ("analyst", False),
    "granted": ("analyst", True),
    "editor": ("editor", False),
    "admin": ("admin", False),
}


@dataclass
class Served:
    client: TestClient
    shop: Path
    secrets: dict[str, str]

    def get(self, who: str, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers=self._auth(who), **kwargs)

    def post(self, who: str, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers=self._auth(who), **kwargs)

    def _auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[who]}"}


def make_shop(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True)
    with Workspace.create(folder / "shop") as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("consents", CONSENTS)):
            (folder / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, folder / f"{kind}.csv")
        ws.run(as_of=datetime(2025, 2, 1))
        ws.templates.add(TEMPLATE)
        payload = json.dumps({"html": "<p>We write to jeanne.martin@example.com.</p>"})
        ws.store.enqueue_deliveries(
            [NewDelivery("t:a", "email", "a", "jeanne.martin@example.com", payload)],
            at=datetime(2025, 2, 1),
        )
        return {
            who: ws.tokens.create(who, role, unmask=unmask)[0]
            for who, (role, unmask) in TOKENS.items()
        }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("masking") / "data"
    secrets = make_shop(folder)
    with TestClient(create_app(folder / "shop")) as client:
        yield Served(client, folder / "shop", secrets)


def _clear_in(text: str) -> list[str]:
    return [value for value in CLEAR if value in text]


@pytest.mark.parametrize(
    ("who", "masked"), [("analyst", True), ("granted", False), ("editor", False), ("admin", False)]
)
def test_customer_profile_is_masked_below_the_grant(served: Served, who: str, masked: bool) -> None:
    answer = served.get(who, "/api/customers/a")
    assert answer.status_code == 200, answer.text
    profile = answer.json()["profile"]
    if masked:
        assert (profile["email"], profile["phone"]) == (MASKED_EMAIL, MASKED_PHONE)
        assert _clear_in(answer.text) == []
    else:
        assert (profile["email"], profile["phone"]) == ("jeanne.martin@example.com", "+33612345678")
    # Nothing else in the profile changes.
    assert profile["first_name"] == "Jeanne"


def test_no_read_surface_shows_a_viewer_or_analyst_clear_contacts(served: Served) -> None:
    segments = served.get("viewer", "/api/segments").json()
    filled = next(s["id"] for s in segments if s.get("size"))
    surfaces = [
        ("viewer", "get", f"/api/segments/{filled}/members", None),
        ("viewer", "get", "/api/segments", None),
        ("viewer", "get", "/api/tags", None),
        ("analyst", "get", "/api/customers/b", None),
        ("analyst", "get", "/api/deliveries", None),
        ("analyst", "get", "/api/deliveries/1", None),
        ("analyst", "post", "/api/templates/hello/preview", {"customer_id": "a", "lang": "en"}),
        ("analyst", "post", "/api/segments/preview", {"name": "All", "where": EVERYONE}),
        ("analyst", "get", "/api/exports/lifecycle-new", None),
    ]
    for who, method, url, body in surfaces:
        answer = getattr(served, method)(who, url, **({} if body is None else {"json": body}))
        assert answer.status_code == 200, (url, answer.text)
        assert _clear_in(answer.text) == [], url


def test_deliveries_and_previews_mask_the_customers_address(served: Served) -> None:
    listed = served.get("analyst", "/api/deliveries").json()
    assert listed[0]["target"] == MASKED_EMAIL
    shown = served.get("analyst", "/api/deliveries/1").json()
    assert MASKED_EMAIL in shown["payload"] and shown["target"] == MASKED_EMAIL
    clear = served.get("granted", "/api/deliveries/1").json()
    assert clear["target"] == "jeanne.martin@example.com"
    body = {"customer_id": "a", "lang": "en"}
    masked = served.post("analyst", "/api/templates/hello/preview", json=body).json()
    html = masked["previews"][0]["messages"]["en"]["html"]
    assert html == f"<p>We write to {MASKED_EMAIL}.</p>"
    granted = served.post("granted", "/api/templates/hello/preview", json=body).json()
    assert "jeanne.martin@example.com" in granted["previews"][0]["messages"]["en"]["html"]


def test_a_channel_export_with_contacts_needs_the_grant_and_is_audited(served: Served) -> None:
    segment = "/api/exports/lifecycle-new"
    refused = served.get("analyst", segment, params={"channel": "email"})
    assert refused.status_code == 403
    assert "--unmask" in refused.json()["detail"]
    granted = served.get("granted", segment, params={"channel": "email"})
    assert granted.status_code == 200, granted.text
    assert "jeanne.martin@example.com" in granted.text
    hashed = served.get("analyst", segment, params={"platform": "google-ads"})
    assert hashed.status_code == 200 and _clear_in(hashed.text) == []
    entries = served.get("admin", "/api/audit", params={"action": "export"}).json()["entries"]
    seen = {(e["actor"], e["outcome"], e["detail"]["contacts"]) for e in entries}
    assert {
        ("analyst", "refused", "clear"),
        ("granted", "ok", "clear"),
        ("analyst", "ok", "hashed"),
    } <= seen


def test_tokens_carry_the_grant_through_the_api(served: Served) -> None:
    created = served.post(
        "admin", "/api/tokens", json={"name": "crm", "role": "viewer", "unmask": True}
    )
    assert created.status_code == 201 and created.json()["unmask"] is True
    listed = {t["name"]: t["unmask"] for t in served.get("admin", "/api/tokens").json()}
    assert listed["crm"] is True and listed["analyst"] is False
    refused = served.post(
        "admin", "/api/tokens", json={"name": "site", "role": "ingest", "unmask": True}
    )
    assert refused.status_code == 400


def test_the_cli_through_a_served_workspace_masks_for_its_token(tmp_path: Path) -> None:
    secrets = make_shop(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    with serving(shop, tmp_path / "serve.log"):
        shown = {}
        for who in ("analyst", "granted", None):
            env = {**os.environ, "LANG": "C.UTF-8"}
            env.pop("CIBLE_TOKEN", None)
            if who is not None:
                env["CIBLE_TOKEN"] = secrets[who]
            done = subprocess.run(
                [*CIBLE, "customers", "show", "a", "--json", "--workspace", str(shop)],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            shown[who] = json.loads(done.stdout)["profile"]["email"]
    # Without CIBLE_TOKEN the CLI acts as the local user, an admin.
    assert shown == {
        "analyst": MASKED_EMAIL,
        "granted": "jeanne.martin@example.com",
        None: "jeanne.martin@example.com",
    }
