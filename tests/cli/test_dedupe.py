"""`cible dedupe`: dry run, merge, undo, JSON, on generated profiles with known duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible.cli.app import app
from cible.demo.duplicates import known_duplicates

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    truth = known_duplicates(400, seed=8)
    truth.profiles.to_parquet(tmp_path / "profiles.parquet")
    target = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    loaded = runner.invoke(
        app, ["import", "customers", str(tmp_path / "profiles.parquet"), "-w", str(target)]
    )
    assert loaded.exit_code == 0, loaded.output
    return target


def dedupe(folder: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["dedupe", *args, "-w", str(folder)])
    return result.exit_code, result.output


def customers(folder: Path) -> int:
    result = runner.invoke(app, ["status", "--json", "-w", str(folder)])
    return int(json.loads(result.stdout)["counts"]["customers"])


def test_dry_run_lists_the_proposed_merges_and_changes_nothing(folder: Path):
    before = customers(folder)
    code, output = dedupe(folder, "--dry-run", "--limit", "5")
    assert code == 0, output
    assert "Proposed merges (dry run), first 5 of" in output
    assert "match weight" in output and "same e-mail" in output
    assert "merges would fold" in output and "Apply them with: cible dedupe" in output
    assert customers(folder) == before


def test_merge_then_undo(folder: Path):
    before = customers(folder)
    code, output = dedupe(folder, "--json")
    assert code == 0, output
    applied = json.loads(output)
    assert applied["dry_run"] is False and applied["model_trained"] is True
    merges = applied["applied"]
    assert [m["merge_id"] for m in merges] == list(range(1, len(merges) + 1))
    assert customers(folder) == before - applied["merged_profiles"]
    first = merges[0]
    assert set(first["names"]) == {first["surviving_id"], *first["merged_ids"]}
    code, output = dedupe(folder, "--undo", "1")
    assert code == 0, output
    assert f"Merge 1 undone: {', '.join(first['merged_ids'])} restored" in output
    assert customers(folder) == before - applied["merged_profiles"] + len(first["merged_ids"])
    code, output = dedupe(folder, "--undo", "1")
    assert code == 1 and "Merge 1 was already undone" in output


def test_a_second_dedupe_finds_nothing_new(folder: Path):
    assert dedupe(folder)[0] == 0
    code, output = dedupe(folder, "--json", "--dry-run")
    assert code == 0
    assert json.loads(output)["merges"] == 0


def test_undo_in_json_and_refusals(folder: Path):
    dedupe(folder)
    code, output = dedupe(folder, "--undo", "2", "--json")
    assert code == 0
    record = json.loads(output)
    assert record["merge_id"] == 2 and record["rows"]["customers"] >= 2
    code, output = dedupe(folder, "--undo", "99999")
    assert code == 1 and "There is no merge 99999 in this workspace." in output
    code, output = dedupe(folder, "--undo", "3", "--dry-run")
    assert code == 1 and "--undo cannot be combined with --dry-run" in output
