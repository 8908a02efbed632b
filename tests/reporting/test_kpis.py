"""The report's "KPIs per segment" section: the latest figures, two charts, both languages."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.reporting.kpis import BOTTOM, LEFT, RIGHT, TOP, WIDTH, line_chart
from tests.segments.kpi_shop import NOW, build_shop

HOSTILE = "<script>alert('kpi')</script>"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path, _ = build_shop(tmp_path_factory.mktemp("kpi-report"))
    with Workspace.open(path) as ws:
        ws.segments.add(
            "id: big-spenders\n"
            f'name: {{en: "{HOSTILE}", fr: Gros acheteurs}}\n'
            "dimension: spend\n"
            "where: {trait: monetary_value, op: '>', value: 100}\n"
        )
        ws.run(as_of=NOW)
        latest = {r.segment_id: r for r in ws.kpis.per_segment(dimension="value") if r.as_of == NOW}
        found = {lang: ws.report(lang) for lang in ("en", "fr")}
    found["_gold_size"] = str(latest["value-gold"].size)
    found["_gold_buyers"] = str(latest["value-gold"].buyers)
    return found


def _section(page: str) -> str:
    start = page.index('<section id="kpis">')
    return page[start : page.index("</section>", start)]


def test_the_section_shows_each_dimensions_latest_kpis(pages: dict[str, str]) -> None:
    section = _section(pages["en"])
    assert "KPIs per segment" in section
    for dimension in ("value", "lifecycle", "spend"):
        assert f'id="kpis-{dimension}"' in section
    row = re.search(r'<tr data-segment="value-gold">(.*?)</tr>', section, re.S)
    assert row is not None
    cells = [html.unescape(re.sub("<[^>]+>", "", c)).strip() for c in row.group(1).split("</td>")]
    assert cells[1] == pages["_gold_size"] and cells[2] == pages["_gold_buyers"]
    # One size chart and one revenue chart per dimension, a line per segment.
    assert section.count("<svg") == 2 * section.count('<h3 id="kpis-')
    assert "<polyline" in section


def test_french_and_english_with_everything_escaped(pages: dict[str, str]) -> None:
    assert "Indicateurs par segment" in _section(pages["fr"])
    assert "Gros acheteurs" in _section(pages["fr"])
    for lang in ("en", "fr"):
        assert HOSTILE not in pages[lang]
        assert "<script" not in pages[lang]
    assert html.escape(HOSTILE, quote=True).replace("&#x27;", "&#39;") in _section(pages["en"])


def test_line_chart_scales_into_the_plot_area() -> None:
    chart = line_chart([[0.0, 5.0, 10.0], [10.0, 10.0, 10.0]], 3)
    first = [tuple(map(float, p.split(","))) for p in chart.lines[0].split()]
    assert first == [
        (LEFT, BOTTOM),
        ((LEFT + WIDTH - RIGHT) / 2, (TOP + BOTTOM) / 2),
        (WIDTH - RIGHT, TOP),
    ]
    assert chart.top == 10.0 and chart.ends[1] == (WIDTH - RIGHT, TOP)
    broken = line_chart([[float("nan"), float("inf"), 2.0]], 3)
    assert "nan" not in broken.lines[0] and "inf" not in broken.lines[0] and broken.top == 2.0
    flat = line_chart([[0.0]], 1)
    assert flat.top == 1.0 and flat.ends == [(WIDTH / 2, BOTTOM)]


def test_no_snapshot_still_draws_now(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\na\nb\n")
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\n1,a,2024-05-10,20\n")
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        ws.run(as_of=datetime(2024, 6, 1))
        section = _section(ws.report("en"))
    assert 'id="kpis-lifecycle"' in section and "<circle" in section
