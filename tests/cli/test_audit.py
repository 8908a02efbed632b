"""``cible audit`` and ``cible normalise`` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.cli import output
from cible.cli.app import app

runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id;email;phone\nC1;a@b.fr;06 12 34 56 78\nC2;bad@@b.fr;0612\nC3;a@b.fr;\n",
        encoding="utf-8",
    )
    with Workspace.create(folder) as workspace:
        workspace.imports.load("customers", customers)
    return folder


def test_audit_prints_score_problems_and_trend(ws: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(output.console, "_width", 200)  # one line per problem
    first = runner.invoke(app, ["audit", "-w", str(ws)])
    assert first.exit_code == 0, first.output
    assert "Quality score" in first.output and "first audit" in first.output
    assert "Fixes that gain the most points" in first.output and "if fixed" in first.output
    assert "Invalid e-mail addresses" in first.output
    assert "C2: bad@@b.fr" in first.output
    assert "1 / 3" in first.output
    second = runner.invoke(app, ["audit", "-w", str(ws)])
    assert "→ +0.0 since audit 1" in second.output


def test_audit_json(ws: Path):
    result = runner.invoke(app, ["audit", "-w", str(ws), "--json", "--top", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["audit_id"] == 1 and data["customers"] == 3
    assert 0 <= data["score"] <= 100
    assert len(data["problems"]) == 2
    checks = {c["id"]: c for c in data["checks"]}
    assert (checks["validity.email"]["affected"], checks["validity.email"]["denominator"]) == (1, 3)
    assert checks["duplicates.email"]["examples"] == ["C1 = C3"]
    assert checks["validity.email"]["label"]["fr"] == "Adresses e-mail invalides"
    again = json.loads(runner.invoke(app, ["audit", "-w", str(ws), "--json"]).stdout)
    assert again["trend"] == [
        {"audit_id": 1, "created_at": data["created_at"], "score": data["score"]}
    ]


def test_normalise_prints_changes(ws: Path):
    with Workspace.open(ws) as workspace:
        workspace.store.connection.execute("UPDATE customers SET email = upper(email)")
    result = runner.invoke(app, ["normalise", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["changed"]["email"] == 3
    table = runner.invoke(app, ["normalise", "-w", str(ws)])
    assert "Values normalised" in table.output and "email" in table.output


def test_audit_of_a_missing_workspace_is_one_sentence(tmp_path: Path):
    result = runner.invoke(app, ["audit", "-w", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "No Cible workspace" in result.output
    assert "Traceback" not in result.output
