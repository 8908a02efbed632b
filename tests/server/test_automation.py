"""Tags and automations through the API, and the worker chaining event, tag and segment."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cible.access.roles import Role
from cible.server.app import create_app
from tests.server.conftest import Served, make_workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("automation") / "data"
    secrets = make_workspace(folder)
    with TestClient(create_app(folder / "shop")) as client:
        yield Served(client, folder / "shop", secrets)


def _wait_for(read: Any, *, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_tags_are_created_by_editors_and_read_by_everyone(served: Served) -> None:
    client = served.client
    body = {"colour": "#d9480f", "description": "Saw the pricing page"}
    assert (
        client.put("/api/tags/hot-lead", json=body, headers=served.as_(Role.ANALYST)).status_code
        == 403
    )
    created = client.put("/api/tags/hot-lead", json=body, headers=served.as_(Role.EDITOR))
    assert created.status_code == 200 and created.json()["customers"] == 0
    tagged = client.post(
        "/api/tags/hot-lead/customers",
        json={"customer_ids": ["a", "b"]},
        headers=served.as_(Role.EDITOR),
    )
    assert tagged.json() == {"name": "hot-lead", "added": 2}
    refused = client.post(
        "/api/tags/hot-lead/customers",
        json={"customer_ids": ["zz"]},
        headers=served.as_(Role.EDITOR),
    )
    assert refused.status_code == 400 and "No customer 'zz'" in refused.json()["detail"]
    shown = client.get("/api/tags/hot-lead", headers=served.as_(Role.VIEWER)).json()
    assert shown["customers"] == 2 and {h["actor"] for h in shown["history"]} == {"editor"}
    assert client.get("/api/tags/nope", headers=served.as_(Role.VIEWER)).status_code == 404
    untagged = client.request(
        "DELETE",
        "/api/tags/hot-lead/customers",
        json={"customer_ids": ["a", "b"]},
        headers=served.as_(Role.EDITOR),
    )
    assert untagged.json()["removed"] == 2
    audit = client.get("/api/audit", headers=served.as_(Role.ADMIN)).json()
    assert {"tag.save", "tag.add", "tag.remove"} <= {e["action"] for e in audit["entries"]}


def test_a_page_view_tags_the_customer_who_enters_a_segment_which_starts_another(
    served: Served,
) -> None:
    client, editor = served.client, served.as_(Role.EDITOR)
    client.put("/api/tags/hot-lead", json={}, headers=editor)
    client.put("/api/tags/called", json={}, headers=editor)
    segment = {"name": "Hot leads", "where": {"tag": "hot-lead"}}
    assert client.put("/api/segments/hot-leads", json=segment, headers=editor).status_code in (
        200,
        201,
    )
    pricing = {
        "trigger": {
            "event": {
                "type": "page",
                "where": [{"property": "url", "op": "contains", "value": "/tarifs"}],
            }
        },
        "steps": [{"add_tag": "hot-lead"}],
    }
    follow = {"trigger": {"segment": "hot-leads"}, "steps": [{"add_tag": "called"}]}
    # The new segment is evaluated by a run first: until then its members are found,
    # not entering, and the follow-up automation says so.
    job = client.post("/api/runs", headers=editor).json()["job"]
    while client.get(f"/api/jobs/{job['job_id']}", headers=editor).json()["state"] in (
        "queued",
        "running",
    ):
        time.sleep(0.05)
    assert client.put("/api/automations/pricing", json=pricing, headers=editor).status_code == 201
    assert client.put("/api/automations/follow", json=follow, headers=editor).status_code == 201
    key = client.post(
        "/api/tokens", json={"name": "site", "role": "ingest"}, headers=served.as_(Role.ADMIN)
    ).json()["token"]
    sent = client.post(
        "/v1/page",
        json={"userId": "c", "properties": {"url": "https://x.example/tarifs"}},
        auth=(key, ""),
    )
    assert sent.status_code == 200

    def called() -> list[Any]:
        tag = client.get("/api/tags/called", headers=editor).json()
        return tag["history"]

    history = _wait_for(called)
    assert [(h["customer_id"], h["source"]) for h in history] == [("c", "automation")]
    runs = client.get("/api/automations/follow/runs", headers=editor).json()
    assert [(r["customer_id"], r["status"], r["trigger"]) for r in runs] == [
        ("c", "done", "segment hot-leads entered")
    ]
    log = client.get("/api/automations/pricing/log?customer_id=c", headers=editor).json()
    assert [(r["action"], r["outcome"]) for r in log] == [("add_tag", "done"), ("end", "done")]


def test_automations_are_validated_paused_and_dry_run(served: Served) -> None:
    client, editor = served.client, served.as_(Role.EDITOR)
    bad = {"trigger": {"segment": "nope"}, "steps": [{"end": True}]}
    answer = client.put("/api/automations/bad", json=bad, headers=editor)
    assert (
        answer.status_code == 400
        and "trigger.segment: unknown segment 'nope'" in answer.json()["detail"]
    )
    body = {"trigger": {"tag": "hot-lead"}, "steps": [{"wait": {"days": 1}}, {"end": True}]}
    assert client.put("/api/automations/slow", json=body, headers=editor).status_code == 201
    paused = client.post("/api/automations/slow/pause", headers=editor).json()
    assert paused["status"] == "paused"
    assert client.post("/api/automations/slow/resume", headers=editor).json()["status"] == "active"
    dry = client.post(
        "/api/automations/slow/dry-run?customer_id=a", headers=served.as_(Role.ANALYST)
    ).json()
    assert [s["outcome"] for s in dry["steps"]] == ["would wait", "done"]
    assert client.get("/api/automations/nope", headers=editor).status_code == 404
    listed = client.get("/api/automations", headers=served.as_(Role.VIEWER)).json()
    assert {"pricing", "follow", "slow"} <= {a["id"] for a in listed}
