"""The report's "KPIs per segment" section: the latest figures, two charts, both languages."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from tests.reporting.drawn import HOSTILE, ShopReport


@pytest.fixture(scope="module")
def pages(shop_report: ShopReport) -> dict[str, str]:
    return {
        **shop_report.pages,
        "_gold_size": str(shop_report.gold_size),
        "_gold_buyers": str(shop_report.gold_buyers),
    }


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
    # One size chart and one revenue chart per dimension, drawn from their specs.
    assert section.count('<svg class="chart"') == 2 * section.count('<h3 id="kpis-')


def test_french_and_english_with_everything_escaped(pages: dict[str, str]) -> None:
    assert "Indicateurs par segment" in _section(pages["fr"])
    assert "Gros acheteurs" in _section(pages["fr"])
    for lang in ("en", "fr"):
        assert HOSTILE not in pages[lang]
        assert "<script" not in pages[lang]
    assert html.escape(HOSTILE, quote=True).replace("&#x27;", "&#39;") in _section(pages["en"])


def test_no_snapshot_still_draws_now(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id\na\nb\n")
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\n1,a,2024-05-10,20\n")
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        ws.run(as_of=datetime(2024, 6, 1))
        section = _section(ws.report("en"))
    assert 'id="kpis-lifecycle"' in section
    assert section.count('<svg class="chart"') == 2 * section.count('<h3 id="kpis-')
