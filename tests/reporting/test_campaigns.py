"""The report's campaign section: tables, forest chart and Pareto of incremental profit."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.activation.campaign_analysis import ALL
from cible.locale.messages import text
from cible.reporting.campaigns import campaigns_block
from tests.activation.experiment_shop import LAUNCH, build_shop, campaign
from tests.reporting.drawn import assert_offline, drawn_specs, values


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _, _ = build_shop(tmp_path_factory.mktemp("report-campaigns"))
    with Workspace.open(path) as ws:
        # A name a marketer typed, with markup in it: it must show as text.
        ws.campaigns.add(campaign() | {"name": {"en": "<script>x</script> spring"}}, now=LAUNCH)
    return path


def test_the_report_shows_each_campaign_against_its_holdout(shop: Path) -> None:
    pages, specs = {}, {}
    with Workspace.open(shop) as ws:
        analysis = ws.experiments.analyse("spring")
        for lang in ("en", "fr"):
            with drawn_specs() as drawn:
                pages[lang] = ws.report(lang)
            specs[lang] = drawn
    english, french = pages["en"], pages["fr"]
    assert 'id="campaign-spring"' in english
    assert "Campaigns against their holdout" in english
    assert "Campagnes face à leur groupe témoin" in french
    assert (
        "<script>x</script>" not in english and "&lt;script&gt;x&lt;/script&gt; spring" in english
    )
    for lang in ("en", "fr"):
        assert_offline(pages[lang])
        everything = text("campaign_all", lang)
        revenue = {
            f"{everything if c.segment == ALL else c.segment} · {c.variant}": c
            for c in analysis.comparisons
            if c.metric == "revenue" and c.relative_lift_ci_low is not None
        }
        opening = text("campaign_forest", lang, name="\0").split("\0")[0]
        (forest,) = [s for s in specs[lang] if str(s.get("description")).startswith(opening)]
        drawn = {p["label"]: p for p in values(forest)}
        assert drawn.keys() == revenue.keys()
        for label, point in drawn.items():
            assert point["lift"] == pytest.approx(revenue[label].relative_lift)
            assert point["low"] == pytest.approx(revenue[label].relative_lift_ci_low)
        (pareto,) = [
            s for s in specs[lang] if s.get("description") == text("campaigns_pareto", lang)
        ]
        nets = {r.segment: r.net for r in analysis.returns if r.segment != ALL}
        assert {v["segment"]: v["net"] for v in values(pareto)} == pytest.approx(nets)


def test_the_pareto_adds_up_each_segments_net_profit(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        analysis = ws.experiments.analyse("spring")
    block = campaigns_block([(analysis, "spring"), (analysis, "again")], "en")
    nets = {
        r.segment: 2 * r.net for r in analysis.returns if r.segment != ALL
    }  # the same campaign twice
    assert {b.segment: b.net for b in block.pareto} == pytest.approx(nets)
    assert [b.segment for b in block.pareto] == sorted(nets, key=lambda s: -nets[s])
    positive = [b for b in block.pareto if b.net > 0]
    assert sum(b.share or 0 for b in positive) == pytest.approx(1.0)
    assert positive[-1].cumulative == pytest.approx(1.0)
    assert block.total_net == pytest.approx(sum(nets.values()))
