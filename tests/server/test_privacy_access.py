"""``/api/privacy/...``: roles, JSON and HTML, agreement with the CLI, a real `cible serve`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cible import Workspace
from cible.access.roles import Role
from cible.cli.app import app
from cible.server.app import create_app
from tests.activation.privacy_shop import build_shop
from tests.server.processes import CIBLE, serving

runner = CliRunner()


def _tokens(shop: Path) -> dict[Role, str]:
    with Workspace.open(shop) as ws:
        return {role: ws.tokens.create(f"{role.value}-key", role)[0] for role in Role}


def _cli(shop: Path, *args: str) -> Any:
    result = runner.invoke(app, ["privacy", *args, "--workspace", str(shop)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _stable(document: dict[str, Any]) -> dict[str, Any]:
    """The document without the moment it was made."""
    return {k: v for k, v in document.items() if k not in {"exported_at", "generated_at", "as_of"}}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("privacy-api"))


@pytest.fixture(scope="module")
def secrets(shop: Path) -> dict[Role, str]:
    return _tokens(shop)


@pytest.fixture
def client(shop: Path) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as served:
        yield served


def _follow(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(url, headers=headers).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _as(secrets: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets[role]}"}


def test_roles_are_enforced(client: TestClient, secrets: dict[Role, str]) -> None:
    admin_only = ["/api/privacy/customers/a", "/api/privacy/record", "/api/privacy/retention"]
    for path in [*admin_only, "/api/privacy/consents/a"]:
        assert client.get(path, headers=_as(secrets, Role.VIEWER)).status_code == 403, path
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=_as(secrets, Role.ADMIN)).status_code == 200, path
    for path in admin_only:
        assert client.get(path, headers=_as(secrets, Role.ANALYST)).status_code == 403, path
    assert client.get("/api/privacy/consents/a", headers=_as(secrets, Role.ANALYST)).is_success


def test_the_page_and_an_unknown_customer(client: TestClient, secrets: dict[Role, str]) -> None:
    admin = _as(secrets, Role.ADMIN)
    page = client.get("/api/privacy/customers/a?format=html&lang=fr", headers=admin)
    assert page.headers["content-type"].startswith("text/html")
    assert "Vos données" in page.text and "Acheteurs lyonnais" in page.text
    missing = client.get("/api/privacy/customers/nobody", headers=admin)
    assert missing.status_code == 404 and "'nobody'" in missing.json()["detail"]
    assert client.get("/api/privacy/customers/a?lang=de", headers=admin).status_code == 422


def test_cli_and_api_agree(shop: Path, secrets: dict[Role, str]) -> None:
    local = {
        "export": _cli(shop, "export", "a"),
        "consent": _cli(shop, "consent", "b", "--json"),
        "record": _cli(shop, "record", "--format", "json"),
        "retention": _cli(shop, "retention", "--json"),
    }
    admin = _as(secrets, Role.ADMIN)
    with TestClient(create_app(shop)) as client:
        served = {
            "export": client.get("/api/privacy/customers/a", headers=admin).json(),
            "consent": client.get("/api/privacy/consents/b", headers=admin).json(),
            "record": client.get("/api/privacy/record", headers=admin).json(),
            "retention": client.get("/api/privacy/retention", headers=admin).json(),
        }
    for name in local:
        assert _stable(local[name]) == _stable(served[name]), name
    assert [r["source"] for r in local["consent"]["ledger"]] == ["checkout", "checkout"]


def test_the_cli_writes_pages_and_documents(shop: Path, tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    options = ["--format", "html", "--lang", "en", "--output", str(page), "--workspace", str(shop)]
    result = runner.invoke(app, ["privacy", "export", "a", *options])
    assert result.exit_code == 0, result.output
    assert "Lyon buyers" in page.read_text(encoding="utf-8")
    record = runner.invoke(
        app, ["privacy", "record", "--lang", "fr", "--workspace", str(shop)], env={"COLUMNS": "200"}
    )
    assert record.stdout.startswith("# Registre des activités de traitement")
    listing = runner.invoke(
        app, ["privacy", "retention", "--workspace", str(shop)], env={"COLUMNS": "200"}
    )
    assert "1 prospects" in listing.stdout and "lapsed" in listing.stdout
    unknown = runner.invoke(app, ["privacy", "consent", "nobody", "--workspace", str(shop)])
    assert unknown.exit_code != 0 and "No customer 'nobody'" in unknown.output


def test_a_real_server_answers_the_cli_and_http(tmp_path: Path) -> None:
    shop = build_shop(tmp_path / "data")
    admin = _tokens(shop)[Role.ADMIN]
    with serving(shop, tmp_path / "serve.log") as url:
        answer = httpx.get(
            f"{url}/api/privacy/customers/b",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        # The CLI finds the server and sends its command through the API.
        through = subprocess.run(
            [*CIBLE, "privacy", "export", "b", "--workspace", str(shop)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # Erasing past retention is a job in the server, which the CLI follows.
        erased = subprocess.run(
            [*CIBLE, "privacy", "retention", "--delete", "--yes", "--json", "--workspace", shop],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["customers"] >= 2
    assert answer.status_code == 200
    assert through.returncode == 0, through.stderr
    cli, http = _stable(json.loads(through.stdout)), _stable(answer.json())
    # The server's worker may try the pending e-mail between the two calls.
    ids = [[d["delivery_id"] for d in found.pop("deliveries")] for found in (cli, http)]
    assert cli == http and ids[0] == ids[1] == [2]
    with Workspace.open(shop) as ws:
        exports = ws.audit_log.entries(action="privacy.export")
        ended = ws.audit_log.entries(action="retention.finish")
    assert {e.target for e in exports} == {"b"} and len(exports) == 2
    assert [e.outcome for e in ended] == ["ok"]


def test_pseudonymising_needs_yes_and_an_admin(tmp_path: Path) -> None:
    shop = build_shop(tmp_path / "data")
    refused = runner.invoke(
        app, ["privacy", "retention", "--pseudonymise", "--workspace", str(shop)]
    )
    assert refused.exit_code != 0 and "--yes" in refused.output
    secrets = _tokens(shop)
    with Workspace.open(shop) as ws:
        due = ws.privacy_access.retention()["total"]  # as of now, as the server does
    with TestClient(create_app(shop)) as client:
        path = "/api/privacy/retention/pseudonymise"
        assert client.post(path, headers=_as(secrets, Role.EDITOR)).status_code == 403
        done = client.post(path, headers=_as(secrets, Role.ADMIN)).json()
    assert done["customers"] == due >= 2  # old and lapsed at least
    with Workspace.open(shop) as ws:
        emails = ws.table("customers").to_pandas().set_index("customer_id").email
    assert emails.isna().sum() == due and emails.isna()[["old", "lapsed"]].all()


def test_deleting_past_retention_needs_yes_and_an_admin_and_agrees_with_the_cli(
    tmp_path: Path,
) -> None:
    refused = runner.invoke(
        app, ["privacy", "retention", "--delete", "--pseudonymise", "--yes", "--workspace", "x"]
    )
    assert refused.exit_code != 0 and "not both" in refused.output
    by_api = build_shop(tmp_path / "api")
    refused = runner.invoke(app, ["privacy", "retention", "--delete", "--workspace", str(by_api)])
    assert refused.exit_code != 0 and "--yes" in refused.output
    secrets = _tokens(by_api)
    with Workspace.open(by_api) as ws:
        due = set(ws.privacy_access.past_retention_ids())  # as of now, as the server does
    with TestClient(create_app(by_api)) as client:
        path = "/api/privacy/retention/delete"
        assert client.post(path, headers=_as(secrets, Role.ANALYST)).status_code == 403
        started = client.post(path, headers=_as(secrets, Role.ADMIN))
        # A job: accepted at once, its progress and result at the URL returned.
        assert started.status_code == 202
        assert started.headers["location"] == started.json()["url"]
        job = _follow(client, started.json()["url"], _as(secrets, Role.ADMIN))
        audit = client.get(
            "/api/audit", params={"action": "retention.finish"}, headers=_as(secrets, Role.ADMIN)
        ).json()["entries"]
    assert job["state"] == "succeeded", job
    assert job["step"] == "done" and job["done"] == job["total"] == len(due) + 1
    assert [e["outcome"] for e in audit] == ["ok"]
    done = job["result"]
    assert done["customers"] == len(due) >= 2 and done["skipped"] == 0
    by_cli = _cli(build_shop(tmp_path / "cli"), "retention", "--delete", "--yes", "--json")
    assert {k: by_cli[k] for k in ("customers", "deleted", "tombstones")} == {
        k: done[k] for k in ("customers", "deleted", "tombstones")
    }
    with Workspace.open(by_api) as ws:
        left = set(ws.table("customers").customer_id.to_pyarrow().to_pylist())
    assert not left & due and {"old", "lapsed"} & due == {"old", "lapsed"}
