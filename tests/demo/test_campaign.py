"""The demo's past win-back campaign: its planted effect is found against the holdout."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.activation.campaign_analysis import ALL
from cible.demo import build_demo
from cible.demo.campaign import HOLDOUT_SHARE


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("demo-campaign") / "demo"
    return build_demo(folder, customers=6_000, seed=42, campaign=True)


def test_the_planted_lift_is_inside_the_measured_interval(demo: dict[str, object]) -> None:
    planted = demo["campaign"]
    assert isinstance(planted, dict) and planted["planted_orders"] > 0
    with Workspace.open(Path(str(demo["workspace"]))) as ws:
        analysis = ws.experiments.analyse("winback")
        report = Path(str(demo["reports"][0])).read_text()  # type: ignore[index]
    overall = {c.metric: c for c in analysis.comparisons if c.segment == ALL}
    revenue = overall["revenue"]
    assert revenue.ci_low <= planted["planted_revenue_per_treated"] <= revenue.ci_high
    # The holdout buys on its own (segments as of the launch): at 6,000 customers the
    # revenue lift is inside the noise, the extra conversions are not.
    assert overall["conversion"].ci_low > 0 and revenue.difference > 0
    assert revenue.n_variant + revenue.n_control == planted["eligible"]
    share = revenue.n_control / planted["eligible"]
    assert share == pytest.approx(HOLDOUT_SHARE, abs=0.05)
    assert not any(r.mismatch for r in analysis.sample_ratios)
    assert 'id="campaign-winback"' in report


def test_without_the_option_there_is_no_campaign(tmp_path: Path) -> None:
    summary = build_demo(tmp_path / "plain", customers=300, seed=1)
    assert summary["campaign"] is None
    with Workspace.open(Path(summary["workspace"])) as ws:
        assert ws.campaigns.list() == []
