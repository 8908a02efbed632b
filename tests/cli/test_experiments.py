"""``cible experiments`` locally, and through a real ``cible serve`` process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app
from tests.activation.experiment_shop import AS_OF, WINDOW, build_shop
from tests.server.processes import CIBLE, serving

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _, _ = build_shop(tmp_path_factory.mktemp("experiments-cli"))
    return path


def _same(found: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    # DuckDB sums in parallel, in no fixed order: the last digits of a float may differ.
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        assert a.keys() == b.keys()
        for key, value in b.items():
            if isinstance(value, float):
                assert a[key] == pytest.approx(value, rel=1e-9), key
            else:
                assert a[key] == value, key


def _analyse_args(path: Path) -> list[str]:
    return [
        "experiments",
        "analyse",
        "spring",
        "--as-of",
        AS_OF.isoformat(),
        "--window-days",
        str(WINDOW),
        "--workspace",
        str(path),
    ]


def test_analyse_power_and_budget_on_a_local_workspace(shop: Path) -> None:
    result = runner.invoke(app, [*_analyse_args(shop), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    with Workspace.open(shop, read_only=True) as ws:
        expected = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW)
    _same(found["comparisons"], expected.as_dict()["comparisons"])
    table = runner.invoke(app, [*_analyse_args(shop), "--lang", "fr"])
    assert table.exit_code == 0, table.output
    assert "Variantes" in table.output and "paris" in table.output
    power = runner.invoke(
        app,
        ["experiments", "power", "--metric", "revenue", "--baseline", "10", "--mde", "2",
         "--sd", "20", "--workspace", str(shop), "--json"],
    )  # fmt: skip
    assert json.loads(power.output)["n_variant"] == 1570
    budget = runner.invoke(
        app,
        ["experiments", "budget", "spring", "--budget", "20", "--workspace", str(shop), "--json"],
    )
    assert budget.exit_code == 0, budget.output
    allocation = json.loads(budget.output)
    # Without per-send spending beyond 0.05, 20 buys 400 customers of the best segment.
    assert allocation["allocation"]["budget_used"] == pytest.approx(20.0)
    assert [c["segment"] for c in allocation["cells"]] == ["lyon", "paris"]
    bad = runner.invoke(
        app, ["experiments", "budget", "spring", "--budget", "5", "--cap", "email:3",
              "--workspace", str(shop)],
    )  # fmt: skip
    assert bad.exit_code != 0 and "CHANNEL=AMOUNT" in bad.output


def test_the_same_analysis_through_a_served_workspace(shop: Path, tmp_path: Path) -> None:
    with Workspace.open(shop, read_only=True) as ws:
        expected = ws.experiments.analyse("spring", as_of=AS_OF, window_days=WINDOW).as_dict()
    with serving(shop, tmp_path / "serve.log") as url:
        command = subprocess.run(
            [*CIBLE, *_analyse_args(shop), "--json"], capture_output=True, text=True, timeout=120
        )
        assert command.returncode == 0, command.stderr
        _same(json.loads(command.stdout)["comparisons"], expected["comparisons"])
        headers = {"Authorization": f"Bearer {(shop / 'cible.serve.token').read_text().strip()}"}
        missing = httpx.get(f"{url}/api/experiments/campaigns/nope", headers=headers)
        assert missing.status_code == 404
        power = httpx.get(
            f"{url}/api/experiments/power",
            params={"metric": "conversion", "baseline": 0.05, "mde": 0.01},
            headers=headers,
        )
        assert power.json()["n_variant"] == 8143
        budget = httpx.post(
            f"{url}/api/experiments/budget",
            json={"campaigns": ["spring"], "budget": 20},
            headers=headers,
        )
        assert budget.status_code == 200, budget.text
        assert budget.json()["allocation"]["budget_used"] == pytest.approx(20.0)
