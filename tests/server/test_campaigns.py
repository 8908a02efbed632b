"""Campaigns through the API: viewers read, editors write, every change audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cible.access.roles import Role
from cible.domain.clock import utc_now
from cible.server.app import create_app
from tests.server.conftest import Served, make_workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("campaigns") / "data"
    secrets = make_workspace(folder)
    with TestClient(create_app(folder / "shop")) as client:
        yield Served(client, folder / "shop", secrets)


def _campaign(id: str, offer: dict[str, Any], priority: int) -> dict[str, Any]:
    today = utc_now().date()
    return {
        "id": id,
        "segments": ["lifecycle-new"],
        "channel": "email",
        "variants": [{"id": "main", "share": 0.5, "message": "crm:x", "offer": offer}],
        "holdout": 0.5,
        "priority": priority,
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=10)).isoformat(),
    }


def test_campaigns_round_trip_with_roles_conflicts_and_audit(served: Served) -> None:
    client = served.client
    editor, viewer = served.as_(Role.EDITOR), served.as_(Role.VIEWER)
    full = _campaign("full", {"kind": "full_price", "category": "shoes"}, 1)
    sale = _campaign("sale", {"kind": "discount", "value": 30}, 5)
    assert client.put("/api/campaigns/full", json=full, headers=viewer).status_code == 403
    bad = client.post("/api/campaigns/validate", json=full | {"channel": "emial"}, headers=viewer)
    assert bad.status_code == 400 and bad.json()["detail"].startswith("channel: unknown channel")
    assert client.post("/api/campaigns/validate", json=full, headers=viewer).json()["valid"]
    created = client.put("/api/campaigns/full", json=full, headers=editor)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert client.put("/api/campaigns/sale", json=sale, headers=editor).status_code == 201
    assert client.put("/api/campaigns/sale", json=sale, headers=editor).status_code == 200
    listed = client.get("/api/campaigns", headers=viewer).json()
    assert [(c["id"], c["version"]) for c in listed] == [("full", 1), ("sale", 1)]
    found = client.get("/api/campaigns/conflicts", headers=viewer).json()
    assert [(c["campaigns"], c["category"], c["customers"], c["keeps"]) for c in found] == [
        (["full", "sale"], "shoes", 2, "sale")
    ]
    assert client.post("/api/campaigns/full/launch", headers=viewer).status_code == 403
    assert client.post("/api/campaigns/full/launch", headers=editor).json()["eligible"] == 2
    refused = client.post("/api/campaigns/sale/launch", headers=editor)
    assert refused.status_code == 400 and "--resolve-by-priority" in refused.json()["detail"]
    launched = client.post(
        "/api/campaigns/sale/launch", params={"resolve_by_priority": True}, headers=editor
    )
    assert launched.status_code == 200 and launched.json()["moved"] == {"full": 2}
    mine = client.get(
        "/api/campaigns/full/assignments", params={"customer_id": "a"}, headers=viewer
    ).json()
    assert mine["customer"]["reason"] == "conflict" and mine["excluded"]["conflict"] == 2
    assert client.post("/api/campaigns/sale/pause", headers=editor).json()["status"] == "paused"
    assert client.post("/api/campaigns/full/end", headers=editor).json()["status"] == "ended"
    shown = client.get("/api/campaigns/sale", headers=viewer).json()
    assert shown["status"] == "paused" and sum(a["eligible"] for a in shown["arms"]) == 2
    assert client.get("/api/campaigns/nope", headers=viewer).status_code == 404
    assert client.post("/api/campaigns/nope/launch", headers=editor).status_code == 404
    entries = client.get("/api/audit", params={"limit": 50}, headers=served.as_(Role.ADMIN))
    actions = [e["action"] for e in entries.json()["entries"]]
    assert {"campaign.save", "campaign.launch", "campaign.pause", "campaign.end"} <= set(actions)


def test_sending_through_the_api_is_for_editors_audited_and_counted(served: Served) -> None:
    client = served.client
    editor, viewer = served.as_(Role.EDITOR), served.as_(Role.VIEWER)
    template = {"id": "hello", "name": "Hello", "subject": {"en": "Hi"}, "html": {"en": "Hi"}}
    assert client.put("/api/templates/hello", json=template, headers=editor).status_code == 201
    mail = _campaign("mail", {"kind": "gift", "category": "bags"}, 0)
    mail["variants"] = [{"id": "main", "share": 1, "template": "hello"}]
    mail["holdout"] = 0
    assert client.put("/api/campaigns/mail", json=mail, headers=editor).status_code == 201
    draft = client.post("/api/campaigns/mail/send", headers=editor)
    assert draft.status_code == 400 and "is a draft: launch it first" in draft.json()["detail"]
    assert client.post("/api/campaigns/mail/launch", headers=editor).status_code == 200
    assert client.post("/api/campaigns/mail/send", headers=viewer).status_code == 403
    dry = client.post("/api/campaigns/mail/send", params={"dry_run": True}, headers=editor)
    assert dry.status_code == 200 and dry.json()["dry_run"]
    assert (
        client.get("/api/campaigns/mail/sends", headers=viewer).json()["arms"]["main"]["queued"]
        == 0
    )
    sent = client.post("/api/campaigns/mail/send", headers=editor).json()
    assert {k: sent[k] for k in ("queued", "already_sent", "no_address", "holdout")} == {
        k: dry.json()[k] for k in ("queued", "already_sent", "no_address", "holdout")
    }
    assert sent["queued"] + sent["no_address"] == 2  # a and c consent; b withdrew
    again = client.post("/api/campaigns/mail/send", headers=editor).json()
    assert again["queued"] == 0 and again["already_sent"] == sent["queued"]
    sends = client.get("/api/campaigns/mail/sends", headers=viewer).json()
    assert sends["arms"]["main"]["queued"] == sent["queued"]
    assert (
        sum(sends["arms"]["main"][s] for s in ("pending", "delivered", "failed", "skipped"))
        == (sent["queued"])
    )
    assert client.get("/api/campaigns/nope/sends", headers=viewer).status_code == 404
    assert client.post("/api/campaigns/nope/send", headers=editor).status_code == 404
    entries = client.get("/api/audit", params={"limit": 50}, headers=served.as_(Role.ADMIN))
    sends_logged = [e for e in entries.json()["entries"] if e["action"] == "campaign.send"]
    # Two sends and the refused draft; the dry run changed nothing and is not logged.
    assert len(sends_logged) == 3
