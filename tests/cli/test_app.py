"""The command line through Typer's runner, as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible.cli.app import app

runner = CliRunner()


def cible(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    result = cible("init", str(folder))
    assert result.exit_code == 0, result.output
    return folder


def test_init_creates_config_and_database(ws: Path):
    assert (ws / "cible.toml").is_file()
    assert (ws / "cible.duckdb").is_file()
    again = cible("init", str(ws))
    assert again.exit_code == 1
    assert "already holds a Cible workspace" in again.output


def test_import_prints_summary_and_json(ws: Path, tmp_path: Path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id;customer_id;ordered_at;amount;note\nO1;C1;01/02/2024;12,50;x\nO2;C1;hier;1;y\n",
        encoding="utf-8",
    )
    result = cible("import", "orders", str(orders), "--workspace", str(ws))
    assert result.exit_code == 0, result.output
    assert "read 2 = loaded 1" in result.output
    assert "rejected 1" in result.output
    assert "Columns not imported: note" in result.output
    as_json = cible("import", "orders", str(orders), "-w", str(ws), "--json")
    payload = json.loads(as_json.stdout)
    assert payload["read"] == payload["loaded"] + payload["rejected"] == 2
    assert payload["unchanged"] == 1


def test_rejects_lists_line_column_value_reason(ws: Path, tmp_path: Path):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,-5\n")
    cible("import", "orders", str(orders), "-w", str(ws))
    result = cible("rejects", "-w", str(ws), "--json")
    issues = json.loads(result.stdout)["issues"]
    rejected = [i for i in issues if i["severity"] == "rejected"]
    assert [(i["line"], i["column_name"], i["value"], i["reason"]) for i in rejected] == [
        (2, "amount", "-5", "amount is negative")
    ]
    table = cible("rejects", "-w", str(ws), "--only-rejected")
    assert "amount is negative" in table.output


def test_workspace_from_environment(ws: Path):
    result = cible("status", "--json", env={"CIBLE_WORKSPACE": str(ws)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["customers"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "invoices", "x.csv"], "Unknown kind 'invoices'"),
        (["import", "orders", "missing.csv"], "missing.csv: no such file."),
        (["import", "orders", "x.csv", "--map", "amount"], "write it as FIELD=COLUMN"),
    ],
)
def test_errors_are_one_line_without_traceback(ws: Path, args: list[str], message: str):
    result = cible(*args, "-w", str(ws))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_workspace_says_how_to_create_one(tmp_path: Path):
    result = cible("status", "-w", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "cible init" in result.output


def test_demo_cdnow_then_refuses_to_overwrite(tmp_path: Path):
    folder = tmp_path / "cdnow"
    result = cible("demo", "--dataset", "cdnow", "-w", str(folder), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["customers"] == 2357
    assert summary["counts"]["orders"] == 6919
    again = cible("demo", "--dataset", "cdnow", "-w", str(folder))
    assert again.exit_code == 1
    assert "--force" in again.output


def test_demo_force_never_replaces_a_workspace_that_is_not_a_demo(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    keep = ws / "my-precious.csv"
    keep.write_text("customer_id\nC1\n")
    result = cible("demo", "--customers", "200", "--force", env={"CIBLE_WORKSPACE": str(ws)})
    # $CIBLE_WORKSPACE is not read by demo: it builds ./demo-workspace, not ws.
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo-workspace" / "demo-files").is_dir()
    assert keep.exists()
    refused = cible("demo", "--customers", "200", "--force", "-w", str(ws))
    assert refused.exit_code == 1
    assert "not a demo" in refused.output
    assert keep.exists() and (ws / "cible.duckdb").exists()


def test_demo_force_replaces_a_demo_but_keeps_other_files(tmp_path: Path):
    folder = tmp_path / "demo"
    assert cible("demo", "--dataset", "cdnow", "-w", str(folder)).exit_code == 0
    (folder / "notes.txt").write_text("mine")
    again = cible("demo", "--dataset", "cdnow", "-w", str(folder), "--force")
    assert again.exit_code == 0, again.output
    assert (folder / "notes.txt").read_text() == "mine"


def test_strict_json_prints_the_refusal(ws: Path, tmp_path: Path):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-01,1\nO2,C1,x,1\n")
    result = cible("import", "orders", str(orders), "-w", str(ws), "--strict", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["status"], payload["read"], payload["loaded"], payload["rejected"]) == (
        "refused",
        2,
        0,
        2,
    )


def test_readers_do_not_lock_each_other_out(ws: Path):
    from cible import Workspace

    with Workspace.open(ws, read_only=True) as first:
        result = cible("status", "--json", "-w", str(ws))
        assert result.exit_code == 0, result.output
        assert first.counts()["orders"] == 0
