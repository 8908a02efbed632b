"""`cible run`, `cible segments ...` and `cible report` as a user types them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible.cli.app import app

runner = CliRunner()


def cible(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "cdnow"
    assert cible("demo", "--dataset", "cdnow", "-w", str(folder)).exit_code == 0
    return folder


def test_validate_names_the_path_of_a_mistake(cdnow: Path, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: heavy\nname: Heavy\nwhere:\n  all:\n    - {trait: frequency, op: '>>', value: 3}\n"
    )
    result = cible("segments", "validate", str(bad), "-w", str(cdnow))
    assert result.exit_code == 1
    assert "where.all[0].op" in result.output
    good = tmp_path / "good.yaml"
    good.write_text("id: heavy\nname: Heavy\nwhere: {trait: frequency, op: '>=', value: 10}\n")
    assert (
        "valid segment 'heavy'" in cible("segments", "validate", str(good), "-w", str(cdnow)).output
    )


def test_add_run_list_show_members_and_report(cdnow: Path, tmp_path: Path):
    definition = tmp_path / "heavy.yaml"
    definition.write_text(
        "id: heavy-buyers\nname: {en: Heavy buyers, fr: Gros clients}\n"
        "where: {trait: frequency, op: '>=', value: 10}\n"
    )
    assert cible("segments", "add", str(definition), "-w", str(cdnow)).exit_code == 0
    ran = cible("run", "--as-of", "1998-07-01", "-w", str(cdnow), "--json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["customers"] == 2357
    listed = json.loads(cible("segments", "list", "-w", str(cdnow), "--json").stdout)
    heavy = next(s for s in listed if s["id"] == "heavy-buyers")
    assert heavy["size"] > 0 and 0 < heavy["revenue_share"] < 1
    assert sum(s["size"] for s in listed if s["dimension"] == "lifecycle") == 2357
    shown = json.loads(cible("segments", "show", "heavy-buyers", "-w", str(cdnow), "--json").stdout)
    assert shown["definition"]["where"]["trait"] == "frequency"
    members = cible("segments", "members", "heavy-buyers", "-w", str(cdnow))
    rows = list(csv.DictReader(io.StringIO(members.stdout)))
    assert len(rows) == heavy["size"]
    assert all(int(r["frequency"]) >= 10 for r in rows)
    out = tmp_path / "members.json"
    cible("segments", "members", "heavy-buyers", "-w", str(cdnow), "--output", str(out))
    assert len(json.loads(out.read_text())) == heavy["size"]
    page = tmp_path / "rapport.html"
    written = cible("report", "--output", str(page), "--lang", "fr", "-w", str(cdnow))
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    assert "Gros clients" in html and "Grille RFM" in html


def test_bad_as_of_and_unknown_segment(cdnow: Path):
    assert "give a date like" in cible("run", "--as-of", "hier", "-w", str(cdnow)).output
    unknown = cible("segments", "members", "nope", "-w", str(cdnow))
    assert unknown.exit_code == 1 and "No segment 'nope'" in unknown.output


def test_persona_card_as_text_and_json(cdnow: Path):
    card = json.loads(
        cible("segments", "persona", "rfm-champions", "-w", str(cdnow), "--json").stdout
    )
    assert card["segment_id"] == "rfm-champions" and card["size"] > 0
    assert set(card["name"]) == {"en", "fr"} and card["actions"]
    shown = cible("segments", "persona", "rfm-champions", "--lang", "fr", "-w", str(cdnow))
    assert shown.exit_code == 0, shown.output
    assert card["name"]["fr"] in shown.output
    assert f"1. {card['actions'][0][1]['fr']}"[:40] in shown.output
    unknown = cible("segments", "persona", "nope", "-w", str(cdnow))
    assert unknown.exit_code == 1 and "No segment 'nope'" in unknown.output
