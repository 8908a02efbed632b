"""`cible kpis` and `GET /api/kpis...` give the same numbers; the CLI's views and errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cible import Workspace
from cible.access.roles import Role
from cible.cli import output
from cible.cli.app import app
from cible.server.app import create_app
from tests.cli.test_serve import CIBLE, cible, wait_for
from tests.segments.kpi_shop import build_shop

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shop(tmp_path_factory.mktemp("kpis-cli"))[0]


def _cli(shop: Path, *args: str) -> Any:
    result = runner.invoke(app, ["kpis", *args, "--workspace", str(shop)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _alike(got: Any, expected: Any) -> None:
    """Equal, floats but for the order DuckDB's threads add them in."""
    if isinstance(got, list):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            _alike(a, b)
    elif isinstance(got, dict):
        assert got.keys() == expected.keys()
        for key in got:
            _alike(got[key], expected[key])
    elif isinstance(got, float):
        assert got == pytest.approx(expected, rel=1e-12)
    else:
        assert got == expected


def test_cli_and_api_give_the_same_numbers(shop: Path) -> None:
    local = json.loads(
        _cli(shop, "--dimension", "lifecycle", "--from", "2024-06-01", "--format", "json")
    )
    cohorts = json.loads(
        _cli(shop, "cohorts", "lifecycle-loyal", "--months", "5", "--format", "json")
    )
    pareto = json.loads(_cli(shop, "pareto", "value", "--format", "json"))
    with Workspace.open(shop) as ws:
        secret = ws.tokens.create("reader", Role.VIEWER)[0]
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(shop)) as client:
        served = client.get(
            "/api/kpis", params={"dimension": "lifecycle", "from": "2024-06-01"}, headers=headers
        )
        served_cohorts = client.get(
            "/api/kpis/cohorts/lifecycle-loyal", params={"months": 5}, headers=headers
        )
        served_pareto = client.get("/api/kpis/pareto/value", headers=headers)
        unknown = client.get("/api/kpis/pareto/nope", headers=headers)
        anonymous = client.get("/api/kpis")
    assert served.status_code == 200
    _alike(local, served.json())
    assert {row["as_of"] for row in local} == {"2024-06-01T00:00:00", "2024-07-01T00:00:00"}
    _alike(cohorts, served_cohorts.json())
    assert len(cohorts) == 5
    _alike(pareto, served_pareto.json())
    assert pareto
    assert unknown.status_code in (400, 404) and "nope" in unknown.text
    assert anonymous.status_code == 401


def test_csv_has_one_row_per_segment_and_moment(shop: Path) -> None:
    rows = list(
        csv.DictReader(io.StringIO(_cli(shop, "--segment", "value-gold", "--format", "csv")))
    )
    assert [row["segment_id"] for row in rows] == ["value-gold"] * 3
    assert {"size", "revenue", "nps", "avg_cac"} <= set(rows[0])
    triangle = list(
        csv.DictReader(io.StringIO(_cli(shop, "cohorts", "lifecycle-loyal", "--format", "csv")))
    )
    assert "retention_m0" in triangle[0] and len(triangle) == 12


def test_tables_name_each_kpi(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The console is made once per process: another test may have narrowed it, and a
    # narrow table folds its headers.
    monkeypatch.setattr(output.console, "width", 250)
    shown = _cli(shop, "--segment", "value-gold")
    for label in ("revenue", "conversion", "churn", "NPS", "CSAT", "average CAC", "value-gold"):
        assert label in shown
    assert "value-gold" in _cli(shop, "pareto", "value")
    assert "M0" in _cli(shop, "cohorts", "value-gold", "--months", "3")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cohorts"], "needs a SEGMENT"),
        (["pareto"], "needs a DIMENSION"),
        (["sideways", "x"], "Unknown view 'sideways'"),
        (["--format", "xml"], "--format 'xml'"),
        (["--from", "yesterday"], "--from 'yesterday'"),
        (["cohorts", "nope"], "No segment 'nope'"),
    ],
)
def test_mistakes_get_one_sentence(shop: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["kpis", *args, "--workspace", str(shop)])
    assert result.exit_code == 1
    assert message in result.output


def test_the_api_refuses_bad_parameters_with_a_4xx(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        secret = ws.tokens.create("fuzzer", Role.VIEWER)[0]
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(shop)) as client:
        answers = [
            client.get("/api/kpis", params={"period": "year"}, headers=headers),
            client.get("/api/kpis", params={"from": "soon"}, headers=headers),
            client.get("/api/kpis", params={"to": "0001-01-01T00:00:00"}, headers=headers),
            client.get("/api/kpis", params={"segment": "é/../x"}, headers=headers),
            client.get("/api/kpis/cohorts/x", params={"months": 0}, headers=headers),
            client.get("/api/kpis/cohorts/%F0%9F%98%80", headers=headers),
        ]
    assert [a.status_code // 100 for a in answers] == [4] * len(answers), [
        (a.status_code, a.text) for a in answers
    ]


def test_a_served_workspace_answers_the_cli_with_the_same_rows(tmp_path: Path) -> None:
    shop_path = build_shop(tmp_path)[0]
    views = (
        ("--segment", "value-gold", "--from", "2024-06-01"),
        ("cohorts", "lifecycle-loyal", "--months", "4"),
        ("pareto", "lifecycle"),
    )
    local = [json.loads(_cli(shop_path, *view, "--format", "json")) for view in views]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--host", "127.0.0.1", "--port", "0", "--workspace", str(shop_path)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    try:
        wait_for(shop_path / "cible.serve.json", process, log)
        for view, expected in zip(views, local, strict=True):
            result = cible("kpis", *view, "--format", "json", folder=shop_path)
            assert result.returncode == 0, result.stderr
            _alike(json.loads(result.stdout), expected)
    finally:
        process.terminate()
        process.wait(timeout=60)
