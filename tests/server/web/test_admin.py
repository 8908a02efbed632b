"""The admin pages in-process: jobs with progress, the audit log, tokens, the rights."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cible.access.roles import Role
from cible.domain.errors import CibleError
from cible.server.app import create_app
from cible.server.deps import ServerState
from cible.workspace import Workspace
from tests.server.web.shop import csrf_of, make_shop, sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[Role, str]]:
    return make_shop(tmp_path_factory.mktemp("admin"))


@pytest.fixture
def client(shop: tuple[Path, dict[Role, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(shop[0])) as opened:
        yield opened


def _state(client: TestClient) -> ServerState:
    state: ServerState = client.app.state.cible  # type: ignore[attr-defined]
    return state


def _on_database(client: TestClient, work: Any) -> Any:
    """Run ``work(ws)`` on the served workspace's database thread."""
    return client.portal.call(_state(client).db.call, work)  # type: ignore[union-attr]


def _api(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _wait_until_ended(client: TestClient, job_id: int) -> dict[str, Any]:
    for _ in range(200):
        jobs = {j["job_id"]: j for j in client.get("/admin/jobs.json").json()["jobs"]}
        if jobs[job_id]["state"] in ("succeeded", "failed"):
            return jobs[job_id]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def test_jobs_show_progress_while_running_and_polling_stops_when_done(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ANALYST])
    release = threading.Event()

    def waits(ws: Workspace, progress: Any) -> dict[str, Any]:
        progress("scoring", 1, 3)
        release.wait(10)
        return {"customers": 6, "file": "a.csv", "merged": True}

    def fails(ws: Workspace, progress: Any) -> None:
        raise CibleError("The file has no customer_id column.")

    jobs = _state(client).jobs
    slow = client.portal.call(jobs.start, "run", waits)  # type: ignore[union-attr]
    broken = client.portal.call(jobs.start, "import", fails)  # type: ignore[union-attr]
    try:
        # The first job holds the database: the page is read from memory all the same.
        running = client.get("/admin/jobs")
        assert running.status_code == 200
        assert 'hx-trigger="every 2s"' in running.text
        assert '<progress value="1" max="3"' in running.text and "scoring" in running.text
        listed = client.get("/admin/jobs.json").json()
        assert listed["running"] is True
        assert [j["job_id"] for j in listed["jobs"]] == [broken.job_id, slow.job_id]
        shown = listed["jobs"][1]
        assert (shown["state"], shown["step"], shown["done"], shown["total"]) == (
            "running",
            "scoring",
            1,
            3,
        )
    finally:
        release.set()
    assert _wait_until_ended(client, slow.job_id)["result"]["customers"] == 6
    assert _wait_until_ended(client, broken.job_id)["error"] == (
        "The file has no customer_id column."
    )
    done = client.get("/admin/jobs", headers=HTMX)
    assert done.text.lstrip().startswith('<div id="jobs"')  # the table alone for htmx
    assert "hx-trigger" not in done.text and "<html" not in done.text
    assert "customers: 6" in done.text and "The file has no customer_id column." in done.text
    assert client.get("/admin/jobs.json").json()["running"] is False


def test_admin_pages_refuse_lower_roles_and_the_refusals_are_audited(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.VIEWER])
    assert client.get("/admin/jobs").status_code == 403
    assert client.get("/admin/jobs.json").status_code == 403
    sign_in(client, shop[1][Role.EDITOR])
    assert client.get("/admin/jobs").status_code == 200
    for path in ("/admin/audit", "/admin/audit.json", "/admin/tokens", "/admin/tokens.json"):
        assert client.get(path).status_code == 403, path
    page = client.get("/admin/jobs").text
    assert 'href="/admin/tokens"' not in page  # an editor is not shown what is refused
    forged = client.post("/admin/tokens", data={"csrf_token": csrf_of(page), "name": "x"})
    assert forged.status_code == 403
    found = client.get(
        "/api/audit", params={"action": "auth"}, headers=_api(shop[1][Role.ADMIN])
    ).json()
    refused = {(e["actor"], e["target"]): e["detail"] for e in found["entries"]}
    needed = {"status": 403, "role": "editor", "required": "admin"}
    assert refused[("editor-web", "GET /admin/audit")] == needed
    assert refused[("editor-web", "POST /admin/tokens")] == needed
    assert refused[("viewer-web", "GET /admin/jobs")]["required"] == "analyst"


def test_the_audit_log_filters_by_actor_action_and_outcome_and_pages(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    outcomes = ("ok", "refused", "failed")

    def record(ws: Workspace) -> None:
        for n in range(61):
            ws.audit_log.record("pager", "test.page", f"item:{n}", outcomes[n % 3], {"n": n})
        ws.audit_log.record("other", "test.page", "item:other", "ok")

    _on_database(client, record)
    sign_in(client, shop[1][Role.ADMIN])
    first = client.get("/admin/audit.json", params={"actor": "pager"}).json()
    assert len(first["entries"]) == 50 and first["has_next"]
    assert [e["detail"]["n"] for e in first["entries"][:2]] == [60, 59]  # newest first
    second = client.get("/admin/audit.json", params={"actor": "pager", "page": 2}).json()
    assert [e["detail"]["n"] for e in second["entries"]] == list(range(10, -1, -1))
    assert not second["has_next"]
    failed = client.get(
        "/admin/audit.json", params={"action": "test.page", "outcome": "failed"}
    ).json()
    assert {e["outcome"] for e in failed["entries"]} == {"failed"}
    assert [e["detail"]["n"] for e in failed["entries"]] == list(range(59, -1, -3))
    # The same entries as the API's.
    api = client.get(
        "/api/audit", params={"action": "test.page", "limit": 50}, headers=_api(shop[1][Role.ADMIN])
    ).json()
    everyone = client.get("/admin/audit.json", params={"action": "test.page"}).json()
    assert [e["entry_id"] for e in everyone["entries"]] == [e["entry_id"] for e in api["entries"]]
    page = client.get("/admin/audit", params={"actor": "pager", "outcome": "refused"}).text
    assert "item:58" in page and "item:60" not in page
    assert 'href="/admin/audit?actor=pager&amp;action=&amp;outcome=refused&amp;page=2"' not in page
    assert client.get("/admin/audit", params={"outcome": "maybe"}).status_code == 422
    older = client.get("/admin/audit", params={"actor": "pager"}).text
    assert 'href="/admin/audit?actor=pager&amp;action=&amp;outcome=&amp;page=2"' in older


def test_an_admin_creates_a_token_seen_once_and_revokes_it(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    sign_in(client, shop[1][Role.ADMIN])
    page = client.get("/admin/tokens").text
    form = {"csrf_token": csrf_of(page), "name": "crm sync", "role": "analyst", "unmask": "on"}
    created = client.post("/admin/tokens", data=form)
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    secret = created.text.split('id="new-secret" class="secret" value="')[1].split('"')[0]
    assert secret.startswith("cible_")
    listed = client.get("/admin/tokens.json").json()["tokens"]
    token = next(t for t in listed if t["name"] == "crm sync")
    assert (token["role"], token["unmask"], token["revoked_at"]) == ("analyst", True, None)
    assert secret not in client.get("/admin/tokens").text  # shown once
    assert secret not in client.get("/admin/tokens.json").text
    assert client.get("/api/segments", headers=_api(secret)).status_code == 200

    revoke = client.post(
        f"/admin/tokens/{token['token_id']}/revoke",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert revoke.status_code == 303 and revoke.headers["location"] == "/admin/tokens"
    assert client.get("/api/segments", headers=_api(secret)).status_code == 401
    again = client.post(
        f"/admin/tokens/{token['token_id']}/revoke", data={"csrf_token": csrf_of(page)}
    )
    assert again.status_code == 404

    bad = client.post("/admin/tokens", data={**form, "name": "<bad>"})
    assert bad.status_code == 422 and "Token name" in bad.text
    found = client.get(
        "/admin/audit.json", params={"actor": "admin-web", "action": "token.create"}
    ).json()
    assert [e["outcome"] for e in found["entries"][:2]] == ["failed", "ok"]
    assert found["entries"][1]["detail"] == {"name": "crm sync", "role": "analyst", "unmask": True}
    revoked = client.get(
        "/admin/audit.json", params={"actor": "admin-web", "action": "token.revoke"}
    ).json()
    assert revoked["entries"][-1]["target"] == f"token:{token['token_id']}"


@pytest.mark.parametrize("path", ["/admin/jobs", "/admin/audit", "/admin/tokens"])
def test_admin_pages_render_in_both_languages(
    client: TestClient, shop: tuple[Path, dict[Role, str]], path: str
) -> None:
    sign_in(client, shop[1][Role.ADMIN])
    english = client.get(f"{path}?lang=en")
    french = client.get(f"{path}?lang=fr")
    assert english.status_code == french.status_code == 200
    assert '<html lang="fr">' in french.text and "Se déconnecter" in french.text
