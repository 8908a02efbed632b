"""``GET /api/privacy/fairness``: admins only, audited with the token's name, the same
report as the CLI, the page, refusals, and a real `cible serve` answering the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cible import Workspace
from cible.access.roles import Role
from cible.cli.app import app
from cible.server.app import create_app
from tests.segments.fairness_shop import build_shop
from tests.server.processes import CIBLE, serving

runner = CliRunner()
PATH = "/api/privacy/fairness"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("fairness-api"))


@pytest.fixture(scope="module")
def secrets(shop: Path) -> dict[Role, str]:
    with Workspace.open(shop) as ws:
        return {role: ws.tokens.create(f"{role.value}-key", role)[0] for role in Role}


@pytest.fixture
def client(shop: Path) -> Iterator[TestClient]:
    with TestClient(create_app(shop)) as served:
        yield served


def _as(secrets: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets[role]}"}


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_only_admins_read_it_and_each_report_is_audited(
    client: TestClient, secrets: dict[Role, str], shop: Path
) -> None:
    assert client.get(PATH, params={"attribute": "origin"}).status_code == 401
    for role in (Role.VIEWER, Role.ANALYST, Role.EDITOR):
        answer = client.get(PATH, params={"attribute": "origin"}, headers=_as(secrets, role))
        assert answer.status_code == 403, role
    found = client.get(
        PATH, params={"attribute": "origin", "dimension": "geo"}, headers=_as(secrets, Role.ADMIN)
    )
    assert found.status_code == 200 and found.json()["flagged_segments"] == ["centre"]
    entries = client.get(
        "/api/audit", params={"action": "privacy.fairness"}, headers=_as(secrets, Role.ADMIN)
    ).json()
    rows = entries["entries"] if isinstance(entries, dict) else entries
    assert rows[0]["actor"] == "admin-key" and rows[0]["target"] == "origin"


def test_the_page_and_refusals(client: TestClient, secrets: dict[Role, str]) -> None:
    admin = _as(secrets, Role.ADMIN)
    page = client.get(
        PATH, params={"attribute": "origin", "format": "html", "lang": "fr"}, headers=admin
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "Équité et variables de substitution" in page.text and "Centre-ville" in page.text
    refused = client.get(PATH, params={"attribute": "city"}, headers=admin)
    assert refused.status_code == 400 and "sensitivity 'none'" in refused.json()["detail"]
    assert client.get(PATH, headers=admin).status_code == 422
    assert (
        client.get(PATH, params={"attribute": "origin", "lang": "de"}, headers=admin).status_code
        == 422
    )


def test_cli_and_api_agree(shop: Path, secrets: dict[Role, str]) -> None:
    result = runner.invoke(app, ["privacy", "fairness", "origin", "--json", "-w", str(shop)])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(shop)) as client:
        served = client.get(PATH, params={"attribute": "origin"}, headers=_as(secrets, Role.ADMIN))
    assert _stable(json.loads(result.stdout)) == _stable(served.json())


def test_a_real_server_answers_the_cli(tmp_path: Path) -> None:
    shop = build_shop(tmp_path / "data")
    with serving(shop, tmp_path / "serve.log"):
        # The CLI finds the server and sends its command through the API.
        through = subprocess.run(
            [
                *CIBLE,
                "privacy",
                "fairness",
                "origin",
                "--dimension",
                "geo",
                "--json",
                "--workspace",
                str(shop),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout)["flagged_segments"] == ["centre"]
    with Workspace.open(shop) as ws:
        entries = ws.audit_log.entries(action="privacy.fairness")
    assert [e.target for e in entries] == ["origin"] and entries[0].actor != ""
