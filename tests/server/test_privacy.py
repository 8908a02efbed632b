"""/api/privacy (admins only) and the live endpoints of a real `cible serve` after erasure."""

from __future__ import annotations

from pathlib import Path

import httpx

from cible import Workspace
from cible.access.roles import Role
from tests.server.conftest import Served
from tests.server.processes import serving

EMAIL = "ottoline.quixwarden@example.test"


def test_only_admins_reach_the_privacy_routes(served: Served) -> None:
    body = {"kind": "email", "value": "x@example.com"}
    for role in (Role.VIEWER, Role.ANALYST, Role.EDITOR):
        headers = served.as_(role)
        assert served.client.get("/api/privacy/suppressions", headers=headers).status_code == 403
        response = served.client.post("/api/privacy/suppressions", json=body, headers=headers)
        assert response.status_code == 403
        assert served.client.post("/api/privacy/erase/a", headers=headers).status_code == 403


def test_admins_suppress_and_erase_through_the_api(served: Served) -> None:
    admin = served.as_(Role.ADMIN)
    body = {"kind": "email", "value": "A@Example.com", "reason": "complaint"}
    added = served.client.post("/api/privacy/suppressions", json=body, headers=admin)
    assert added.status_code == 201 and added.json() == {"kind": "email", "added": True}
    bad = served.client.post(
        "/api/privacy/suppressions", json={**body, "kind": "fax"}, headers=admin
    )
    assert bad.status_code == 422
    erased = served.client.post(
        "/api/privacy/erase/b", json={"reason": "art. 17"}, headers=admin
    ).json()
    assert erased["deleted"]["customers"] == 1 and erased["tombstones"] == 2
    counts = served.client.get("/api/privacy/suppressions", headers=admin).json()
    assert counts == {
        "total": 3,
        "by_kind": {"customer_id": 1, "email": 2},
        "by_reason": {"complaint": 1, "erased": 2},
    }
    # Erased: no customer of that id any more, so 404 like every unknown customer.
    again = served.client.post("/api/privacy/erase/b", headers=admin)
    assert again.status_code == 404 and "nothing to erase" in again.json()["detail"]
    customer = served.client.get("/api/customers/b", headers=admin)
    assert customer.status_code == 404


def test_a_real_server_refuses_live_messages_of_an_erased_customer(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    (tmp_path / "c.csv").write_text(
        f"customer_id,email,last_name\ne1,{EMAIL},Quixwarden\nk1,k@example.com,Kept\n"
    )
    with Workspace.create(shop) as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        key, _ = ws.tokens.create("website", "ingest")
        admin, _ = ws.tokens.create("dpo", "admin")
    with serving(shop, tmp_path / "serve.log") as url, httpx.Client(base_url=url) as client:
        erased = client.post("/api/privacy/erase/e1", headers={"Authorization": f"Bearer {admin}"})
        assert erased.status_code == 200, erased.text
        messages = [
            {"userId": "new-1", "traits": {"email": EMAIL.upper()}, "messageId": "m1"},
            {"userId": "e1", "traits": {"city": "Lyon"}, "messageId": "m2"},
            {"userId": "k1", "traits": {"city": "Lyon"}, "messageId": "m3"},
        ]
        for message in messages:
            response = client.post("/v1/identify", json=message, auth=(key, ""))
            assert response.status_code == 200, response.text
    # An acknowledged message is committed; the server has stopped: read what it kept.
    with Workspace.open(shop) as ws:
        events = ws.table("events").message_id.to_pyarrow().to_pylist()
        customers = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    assert events == ["m3"]
    assert sorted(customers) == ["k1"]
    for path in shop.iterdir():
        if path.is_file():
            assert EMAIL.encode() not in path.read_bytes(), path.name
            assert b"Quixwarden" not in path.read_bytes(), path.name
