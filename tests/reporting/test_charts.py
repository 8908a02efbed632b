"""The report's charts: each an inline SVG drawn from a Vega-Lite spec whose data are the
figures the page prints, in both languages, with nothing fetched."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from cible.locale import gettext
from cible.locale.messages import text
from cible.reporting import charts, vega
from cible.reporting.fairness import render_fairness_page
from cible.reporting.holdout import render_holdout
from cible.reporting.html import environment
from tests.reporting.drawn import (
    ShopReport,
    assert_offline,
    charts_only,
    drawn_specs,
    section,
    table,
    values,
)

LANGS = ("en", "fr")


def _described(specs: list[dict[str, Any]], description: str) -> list[dict[str, Any]]:
    return [s for s in specs if s.get("description") == description]


@pytest.mark.parametrize("lang", LANGS)
def test_every_chart_is_an_svg_drawn_from_a_spec_and_the_page_stays_offline(
    shop_report: ShopReport, lang: str
) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    # Only the Sankey diagrams are drawn by hand (Vega-Lite has no Sankey).
    assert charts_only(page, also=("sankey",)) == len(specs) > 10
    assert_offline(page)
    assert all("url" not in spec.get("data", {}) for spec in specs)


@pytest.mark.parametrize("lang", LANGS)
def test_segment_shares_are_the_tables_percentages(shop_report: ShopReport, lang: str) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    percent = environment(lang).filters["percent"]
    shares = _described(
        specs, gettext(lang, "Share of customers") + " · " + gettext(lang, "Share of revenue")
    )
    blocks = [
        section(page, f'<section id="{found}"')
        for found in re.findall(r'<section id="(dimension-[^"]+)"', page)
    ]
    blocks = [b for b in blocks if "<table" in b]
    assert len(shares) == len(blocks) >= 4
    customers, revenue = gettext(lang, "Customers"), gettext(lang, "Revenue")
    assert customers != "Customers" or lang == "en"
    for spec, block in zip(shares, blocks, strict=True):
        rows = table(block)
        drawn = values(spec)
        assert [percent(v["share"]) for v in drawn if v["measure"] == customers] == [
            r[2] for r in rows
        ]
        assert [percent(v["share"]) for v in drawn if v["measure"] == revenue] == [
            r[3] for r in rows
        ]


@pytest.mark.parametrize("lang", LANGS)
def test_the_funnel_draws_the_lifecycle_tables_sizes(shop_report: ShopReport, lang: str) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    number = environment(lang).filters["number"]
    (funnel,) = _described(specs, text("funnel", lang))
    rows = table(section(page, '<section id="dimension-lifecycle"'))
    assert [number(v["size"]) for v in values(funnel)] == [r[1] for r in rows]


@pytest.mark.parametrize("lang", LANGS)
def test_kpi_lines_end_on_the_tables_latest_figures(shop_report: ShopReport, lang: str) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    env = environment(lang)
    kpis = section(page, '<section id="kpis">')
    dimensions = re.findall(r'<h3 id="kpis-([^"]+)"', kpis)
    trends = [
        s for s in specs if s.get("mark") == {"type": "line", "point": True} and "as_of" in str(s)
    ]
    assert len(trends) == 2 * len(dimensions)
    parts = re.split(r'<h3 id="kpis-', kpis)[1:]
    for part, size, revenue in zip(parts, trends[::2], trends[1::2], strict=True):
        rows = table(part)
        latest = max(v["as_of"] for v in values(size))
        sizes = {v["segment"]: v["size"] for v in values(size) if v["as_of"] == latest}
        revenues = {v["segment"]: v["revenue"] for v in values(revenue) if v["as_of"] == latest}
        assert {r[0]: r[1] for r in rows} == {k: env.filters["number"](v) for k, v in sizes.items()}
        assert {r[0]: r[3] for r in rows} == {
            k: env.filters["money"](v, "EUR") for k, v in revenues.items()
        }


@pytest.mark.parametrize("lang", LANGS)
def test_the_quality_trend_ends_on_the_printed_score(shop_report: ShopReport, lang: str) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    (trend,) = _described(specs, text("quality_score", lang))
    scores = [v["score"] for v in values(trend)]
    printed = re.search(r'<div class="kpi"><b>([^ <]+)', section(page, '<section id="quality"'))
    assert printed is not None and len(scores) == 2
    assert environment(lang).filters["number"](scores[-1], 1) == printed.group(1)


@pytest.mark.parametrize("lang", LANGS)
def test_portfolio_bars_are_the_tables_shares(shop_report: ShopReport, lang: str) -> None:
    page, specs = shop_report.pages[lang], shop_report.specs[lang]
    percent = environment(lang).filters["percent"]
    portfolio = section(page, '<section id="portfolio"')
    coverage = _described(specs, text("coverage_title", lang) + " · " + text("uncovered", lang))
    rows = table(portfolio[portfolio.index('<table id="coverage"') :])
    assert [(v["label"], percent(v["share"])) for v in values(coverage[0])] == [
        (r[0], r[3]) for r in rows
    ]
    tops = [
        s for s in specs if str(s.get("description", "")).startswith(text("share_of_top", lang))
    ]
    tables = portfolio.split('<table class="pareto">')[1:]
    assert len(tops) == len(tables) > 0
    for spec, part in zip(tops, tables, strict=True):
        assert [(v["label"], percent(v["share"])) for v in values(spec)] == [
            (r[0], r[2]) for r in table(part)
        ]


@pytest.mark.parametrize("lang", LANGS)
def test_holdout_page_charts_are_its_table(lang: str) -> None:
    rows = [("0", 10, 0.2, 0.25), ("1", 4, 0.5, 0.75)]
    curve = [(1, 0.0, 0.0, False), (2, 5.0, 4.0, False), (3, 7.0, 6.5, True)]
    with drawn_specs() as specs:
        page = render_holdout(rows, curve, title="CDNOW", lang=lang)
    assert charts_only(page) == len(specs) == 2
    assert_offline(page)
    cumulative, bars = (values(s) for s in specs)
    actual, expected = text("actual", lang), text("expected", lang)
    assert [v["purchases"] for v in cumulative if v["series"] == actual] == [0.0, 5.0, 7.0]
    assert [v["purchases"] for v in bars if v["series"] == expected] == [0.25, 0.75]
    # The rule where the holdout starts sits on its first week.
    assert {"datum": 3} in [layer["encoding"]["x"] for layer in specs[0]["layer"][1:]]


@pytest.mark.parametrize("lang", LANGS)
def test_fairness_bars_are_the_group_shares(lang: str) -> None:
    report = {
        "attribute": "origin",
        "sensitivity": "special",
        "as_of": "2025-06-01T00:00:00",
        "customers": 10,
        "missing": 0,
        "groups": [
            {"group": "a", "customers": 6, "share": 0.6, "too_small": True},
            {"group": "b", "customers": 4, "share": 0.4, "too_small": True},
        ],
        "min_group_size": 30,
        "threshold": 0.8,
        "alpha": 0.05,
        "dimensions": [
            {
                "dimension": "d",
                "balanced_accuracy": 0.5,
                "chance_accuracy": 0.5,
                "cramers_v": 0.1,
                "proxy": "weak",
                "segments": [
                    {
                        "segment_id": "s",
                        "name": {"en": "</text><b>S", "fr": "</text><b>S"},
                        "flagged": True,
                        "size": 5,
                        "groups": [
                            {"group": g, "share_in_segment": share, "selection_rate": share}
                            | {"too_small": False}
                            for g, share in (("a", 0.2), ("b", 0.8))
                        ],
                        "lowest_group": "a",
                        "highest_group": "b",
                        "disparate_impact": 0.25,
                        "adjusted_p_value": 0.01,
                        "cramers_v": 0.3,
                        "below_four_fifths": True,
                        "traits": [],
                        "unmeasured": [],
                    }
                ],
            }
        ],
        "flagged_segments": ["s"],
    }
    with drawn_specs() as specs:
        page = render_fairness_page(report, lang)
    assert charts_only(page) == len(specs) == 1
    assert_offline(page)
    drawn = [(v["row"], v["group"], v["share"]) for v in values(specs[0])]
    whole = gettext(lang, "Whole base")
    assert drawn == [
        (whole, "a", 0.6),
        (whole, "b", 0.4),
        ("</text><b>S ⚑", "a", 0.2),
        ("</text><b>S ⚑", "b", 0.8),
    ]
    assert "</text><b>S" not in page and "&lt;/text&gt;&lt;b&gt;S ⚑" in page


@pytest.mark.parametrize("lang", LANGS)
def test_a_control_character_or_a_non_finite_figure_draws(lang: str) -> None:
    # vl-convert aborts the process on a character XML forbids: it must never get one.
    spec = charts.share_bars([("a\x1bb\x00", math.nan, "#000"), ("c\ud800", math.inf, "#111")], "d")
    drawn = vega.svg(spec, lang)
    assert "a\ufffdb\ufffd" in drawn and "nan" not in drawn.lower()


def test_a_spec_naming_a_data_url_fails_instead_of_fetching() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        vega.svg({"data": {"url": "https://example.com/a.csv"}, "mark": "point"}, "en")
