"""Long work through the API: imports, clusterings and deduplications as jobs, with roles."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cible.access.roles import Role
from cible.server.served import INCOMING, hand_over
from tests.server.conftest import Served


def follow(served: Served, url: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = served.client.get(url, headers=served.as_(Role.ANALYST)).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def ends(served: Served, action: str, job_id: int) -> list[str]:
    entries = served.client.get(
        "/api/audit", params={"action": action}, headers=served.as_(Role.ADMIN)
    ).json()["entries"]
    return [e["outcome"] for e in entries if e["target"] == f"job:{job_id}"]


def test_an_import_is_a_job_reading_a_file_handed_over(served: Served):
    more = served.folder.parent / "more.csv"
    more.write_text("customer_id,email\nd,d@example.com\ne,not-an-email\n")
    body = {"kind": "customers", "path": hand_over(served.folder, more)}
    for role in (Role.VIEWER, Role.ANALYST):
        refused = served.client.post("/api/imports", json=body, headers=served.as_(role))
        assert refused.status_code == 403
    started = served.client.post("/api/imports", json=body, headers=served.as_(Role.EDITOR))
    assert started.status_code == 202 and started.headers["location"] == started.json()["url"]
    job = follow(served, started.json()["url"])
    assert job["state"] == "succeeded", job
    assert (job["result"]["read"], job["result"]["inserted"]) == (2, 2)
    assert job["done"] == job["total"] > 0
    assert ends(served, "import.finish", job["job_id"]) == ["ok"]
    customer = served.client.get("/api/customers/d", headers=served.as_(Role.EDITOR))
    assert customer.status_code == 200 and customer.json()["profile"]["email"] == "d@example.com"
    assert not (served.folder / INCOMING / body["path"]).exists()  # the copy is gone


def test_an_import_reads_no_file_outside_the_incoming_folder(served: Served, tmp_path: Path):
    """A caller cannot name a server file: absolute paths, .., links and FIFOs are refused."""
    headers = served.as_(Role.EDITOR)
    secret = tmp_path / "app.env"
    secret.write_text("customer_id\nDB_PASSWORD=hunter2\n")
    incoming = served.folder / INCOMING
    incoming.mkdir(exist_ok=True)
    (incoming / "link.csv").symlink_to(secret)
    os.mkfifo(incoming / "fifo.csv")
    for name in (str(secret), "../cible.toml", "link.csv", "fifo.csv", "nowhere.csv"):
        answer = served.client.post(
            "/api/imports", json={"kind": "customers", "path": name}, headers=headers
        )
        assert answer.status_code == 400, name
        assert "incoming/" in answer.json()["detail"] and "hunter2" not in answer.text


def test_a_refused_import_fails_its_job_with_the_reason(served: Served):
    headers = served.as_(Role.EDITOR)
    wrong = {
        "kind": "planets",
        "path": hand_over(served.folder, served.folder.parent / "customers.csv"),
    }
    job = follow(
        served, served.client.post("/api/imports", json=wrong, headers=headers).json()["url"]
    )
    assert job["state"] == "failed" and "planets" in job["error"]
    extra = served.client.post(
        "/api/imports", json={"kind": "customers", "path": "x.csv", "sql": "1"}, headers=headers
    )
    assert extra.status_code == 422


def test_dedupe_needs_an_editor(served: Served):
    analyst = served.client.post(
        "/api/dedupe", json={"dry_run": True}, headers=served.as_(Role.ANALYST)
    )
    assert analyst.status_code == 403
    started = served.client.post(
        "/api/dedupe", json={"dry_run": True}, headers=served.as_(Role.EDITOR)
    )
    assert started.status_code == 202
    job = follow(served, started.json()["url"])
    assert job["state"] == "succeeded", job
    assert job["result"]["profiles"] >= 3 and job["result"]["merges"] == 0
    assert ends(served, "dedupe.finish", job["job_id"]) == ["ok"]


def test_a_clustering_is_a_job_and_its_options_are_checked(served: Served):
    headers = served.as_(Role.ANALYST)
    assert (
        served.client.post("/api/clusters", json={}, headers=served.as_(Role.VIEWER)).status_code
        == 403
    )
    assert (
        served.client.post("/api/clusters", json={"k": "many"}, headers=headers).status_code == 400
    )
    assert (
        served.client.post("/api/clusters", json={"k_min": 1}, headers=headers).status_code == 422
    )
    started = served.client.post(
        "/api/clusters", json={"k": 2, "bootstrap": 0, "random_state": 1}, headers=headers
    )
    assert started.status_code == 202
    job = follow(served, started.json()["url"])
    assert job["state"] == "succeeded", job
    assert job["result"]["segments"] == ["clusters-1", "clusters-2"] and job["result"]["model_id"]
    listed = served.client.get("/api/segments", headers=served.as_(Role.VIEWER)).json()
    assert {"clusters-1", "clusters-2"} <= {s["id"] for s in listed}
    assert ends(served, "cluster.finish", job["job_id"]) == ["ok"]
