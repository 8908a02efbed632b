"""`cible privacy`: erase with confirmation, suppress, unsuppress, suppressions (en, fr)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app

runner = CliRunner()

CUSTOMERS = "customer_id,email,last_name\nc1,ysolde.marcheterre@example.test,Marcheterre\nc2,,B\n"


def _shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    with Workspace.create(folder) as ws:
        (folder / "source").mkdir()
        (folder / "source" / "customers.csv").write_text(CUSTOMERS)
        ws.imports.load("customers", folder / "source" / "customers.csv")
    return folder


def test_erase_asks_first_and_lists_the_files_left_to_clean(tmp_path: Path) -> None:
    folder = _shop(tmp_path)
    refused = runner.invoke(app, ["privacy", "erase", "c1", "-w", str(folder)], input="n\n")
    assert refused.exit_code == 1 and "Nothing erased." in refused.output
    with Workspace.open(folder) as ws:
        assert ws.counts()["customers"] == 2
    done = runner.invoke(
        app, ["privacy", "erase", "c1", "-w", str(folder)], input="y\n", catch_exceptions=False
    )
    assert done.exit_code == 0, done.output
    # The profile and the reject that held the e-mail; the id and e-mail are suppressed.
    assert "Erased customer c1: 2 rows deleted in 2 tables; 2 values suppressed." in done.output
    assert "source/customers.csv" in done.output
    gone = runner.invoke(app, ["privacy", "erase", "c1", "--yes", "--json", "-w", str(folder)])
    assert gone.exit_code != 0 and "nothing to erase" in gone.output


def test_suppress_unsuppress_and_counts_in_french(tmp_path: Path) -> None:
    folder = _shop(tmp_path)
    where = ["-w", str(folder)]
    added = runner.invoke(app, ["privacy", "suppress", "email", "A@x.test", "--lang", "fr", *where])
    assert added.exit_code == 0 and "ajoutée à la liste d'opposition" in added.output
    again = runner.invoke(app, ["privacy", "suppress", "email", "a@x.test", *where])
    assert "already on the suppression list" in again.output
    counts = runner.invoke(app, ["privacy", "suppressions", "--json", *where])
    assert json.loads(counts.output) == {
        "total": 1,
        "by_kind": {"email": 1},
        "by_reason": {"requested": 1},
    }
    removed = runner.invoke(app, ["privacy", "unsuppress", "email", "a@x.test", "--json", *where])
    assert json.loads(removed.output) == {"kind": "email", "removed": True}
    bad = runner.invoke(app, ["privacy", "suppress", "fax", "1", *where])
    assert bad.exit_code != 0 and "Unknown kind 'fax'" in bad.output
