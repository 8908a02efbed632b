"""`cible privacy fairness`: tables in English and French, --json, --html, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app
from tests.segments.fairness_shop import build_shop

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("fairness-cli"))


def _run(shop: Path, *args: str) -> str:
    result = runner.invoke(
        app, ["privacy", "fairness", *args, "-w", str(shop)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tables_name_the_flagged_segment_and_its_trait(shop: Path) -> None:
    english = _run(shop, "origin")
    assert "Fairness of origin (special) in the run of 2025-06-01: 3,000 customers" in english
    assert "Dimension geo — proxy strong: Cramér's V 0.44" in english
    assert "Traits responsible for centre" in english and "postal_code" in english
    assert "2 segment(s) flagged: centre, centre-loyal." in english
    loyalty = english[english.index("Dimension loyalty") :]
    assert "proxy weak" in loyalty and "│ fair " in loyalty.split("\n\n")[0]
    french = _run(shop, "origin", "--dimension", "loyalty", "--lang", "fr")
    assert (
        "Équité selon origin (special) dans le calcul du 2025-06-01 : 3\u202f000 clients" in french
    )
    assert "substitution faible" in french and "Aucun segment signalé." in french
    assert "Dimension geo" not in french


def test_json_and_html(shop: Path, tmp_path: Path) -> None:
    page = tmp_path / "fairness.html"
    found = json.loads(_run(shop, "origin", "--json", "--html", str(page), "--lang", "fr"))
    assert found["flagged_segments"] == ["centre", "centre-loyal"]
    geo = next(d for d in found["dimensions"] if d["dimension"] == "geo")
    assert geo["proxy"] == "strong" and geo["segments"][0]["traits"][0]["field"] == "postal_code"
    html = page.read_text(encoding="utf-8")
    assert "Équité et variables de substitution : origin" in html
    # The chart: one bar for the whole base and one per segment, the flagged one marked.
    assert "Base entière" in html and "Centre-ville ⚑" in html and "<svg" in html


def test_a_field_that_is_not_protected_is_refused(shop: Path) -> None:
    result = runner.invoke(app, ["privacy", "fairness", "city", "-w", str(shop)])
    assert result.exit_code == 1
    assert "'city' has sensitivity 'none'" in result.output
    unknown = runner.invoke(app, ["privacy", "fairness", "religion", "-w", str(shop)])
    assert "Unknown attribute 'religion'" in unknown.output


def test_customers_who_object_are_reported_as_not_profiled(shop: Path, tmp_path: Path) -> None:
    assert "not profiled" not in _run(shop, "origin", "--dimension", "loyalty")
    copy = tmp_path / "shop"
    shutil.copytree(shop, copy)
    path = tmp_path / "objections.csv"
    path.write_text(
        "customer_id,channel,purpose,status\nc00000,email,profiling,withdrawn\n"
        "c00001,sms,profiling,denied\n"
    )
    with Workspace.open(copy) as ws:
        ws.imports.load("consents", path)
    english = _run(copy, "origin", "--dimension", "loyalty")
    assert "2,998 customers" in english
    assert (
        "2 customers who object to profiling are not profiled: they are in no automated "
        "segment and are left out of the base and of every rate." in english
    )
    page = tmp_path / "fairness.html"
    found = json.loads(
        _run(
            copy, "origin", "--dimension", "loyalty", "--json", "--html", str(page), "--lang", "fr"
        )
    )
    assert found["not_profiled"] == 2 and found["customers"] == 2998
    html = page.read_text(encoding="utf-8")
    assert "2 clients opposés au profilage ne sont pas profilés" in html
    french = _run(copy, "origin", "--dimension", "loyalty", "--lang", "fr")
    assert "2 clients opposés au profilage ne sont pas profilés : ils ne sont dans aucun" in french
