"""`cible clv evaluate` on the CDNOW demo, against figure 4 of Fader, Hardie & Lee (2005)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cible.cli.app import app

runner = CliRunner()


def test_holdout_evaluation_on_cdnow(tmp_path: Path):
    folder = tmp_path / "cdnow"
    assert runner.invoke(app, ["demo", "--dataset", "cdnow", "-w", str(folder)]).exit_code == 0
    page = tmp_path / "holdout.html"
    result = runner.invoke(
        app,
        [
            "clv",
            "evaluate",
            "--calibration-end",
            "1997-09-30",
            "-w",
            str(folder),
            "--json",
            "--output",
            str(page),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert abs(payload["params"]["r"] - 0.243) < 0.001
    assert abs(payload["log_likelihood"] - -9582.4) < 0.1
    zero = payload["by_repeat_purchases"][0]
    # Figure 4: customers with no calibration repeat purchase made about 0.24 in the holdout.
    assert zero["customers"] == 1411
    assert abs(zero["actual"] - 0.24) < 0.01 and abs(zero["expected"] - 0.23) < 0.01
    assert payload["cumulative_mape"] < 0.05
    assert "<svg" in page.read_text(encoding="utf-8")


def test_calibration_after_the_data_is_refused(tmp_path: Path):
    folder = tmp_path / "cdnow"
    runner.invoke(app, ["demo", "--dataset", "cdnow", "-w", str(folder)])
    result = runner.invoke(
        app, ["clv", "evaluate", "--calibration-end", "2001-01-01", "-w", str(folder)]
    )
    assert result.exit_code == 1 and "must end before the last purchase" in result.output
