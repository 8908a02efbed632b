"""Local commands that change a workspace are in its audit log, as the server's are."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app

DEFINITION = "id: big\nname: Big\nwhere: {trait: monetary_value, op: '>=', value: 25}\n"


def cible(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_local_changes_and_exports_are_audited_failures_included(tmp_path: Path):
    shop = tmp_path / "shop"
    Workspace.create(shop).close()
    (tmp_path / "customers.csv").write_text("customer_id,email\nc1,c1@example.com\n")
    (tmp_path / "big.yaml").write_text(DEFINITION)
    (tmp_path / "bad.yaml").write_text("id: bad\nname: Bad\nwhere: {trait: nothing_like_it}\n")
    w = ("--workspace", str(shop))
    assert cible("import", "customers", str(tmp_path / "customers.csv"), *w).exit_code == 0
    assert cible("segments", "add", str(tmp_path / "big.yaml"), *w).exit_code == 0
    assert cible("segments", "add", str(tmp_path / "bad.yaml"), *w).exit_code != 0
    assert cible("run", *w).exit_code == 0
    out = str(tmp_path / "big.csv")
    assert (
        cible("segments", "members", "big", "--channel", "email", "--output", out, *w).exit_code
        == 0
    )
    assert cible("segments", "remove", "big", *w).exit_code == 0
    assert cible("segments", "remove", "big", *w).exit_code != 0
    with Workspace.open(shop) as ws:
        entries = list(reversed(ws.audit_log.entries()))
    found = [(e.actor, e.action, e.target, e.outcome) for e in entries]
    assert found == [
        ("cli", "import.finish", "file:customers.csv", "ok"),
        ("cli", "segment.save", "file:big.yaml", "ok"),
        ("cli", "segment.save", "file:bad.yaml", "failed"),
        ("cli", "run.finish", "", "ok"),
        ("cli", "export", "segment:big", "ok"),
        ("cli", "segment.delete", "segment:big", "ok"),
        ("cli", "segment.delete", "segment:big", "failed"),
    ]
    assert entries[0].detail["result"]["loaded"] == 1
    assert entries[3].detail["result"]["customers"] == 1  # counts only
    assert entries[4].detail["channel"] == "email" and "exported" in entries[4].detail
    assert "nothing_like_it" in entries[2].detail["error"]
