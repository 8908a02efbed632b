"""One report of a small shop, in English and French, shared by the report tests."""

from __future__ import annotations

import pytest

from cible import Workspace
from tests.reporting.drawn import HOSTILE, ShopReport, drawn_specs
from tests.segments.kpi_shop import NOW, build_shop


@pytest.fixture(scope="session")
def shop_report(tmp_path_factory: pytest.TempPathFactory) -> ShopReport:
    """The KPI shop with a hostile segment name and two audits (so a quality trend)."""
    path, _ = build_shop(tmp_path_factory.mktemp("kpi-report"))
    pages, specs = {}, {}
    with Workspace.open(path) as ws:
        ws.segments.add(
            "id: big-spenders\n"
            f'name: {{en: "{HOSTILE}", fr: Gros acheteurs}}\n'
            "dimension: spend\n"
            "where: {trait: monetary_value, op: '>', value: 100}\n"
        )
        ws.run(as_of=NOW)
        ws.quality.audit(as_of=NOW)
        ws.quality.audit(as_of=NOW)
        latest = {r.segment_id: r for r in ws.kpis.per_segment(dimension="value") if r.as_of == NOW}
        for lang in ("en", "fr"):
            with drawn_specs() as drawn:
                pages[lang] = ws.report(lang)
            specs[lang] = drawn
    gold = latest["value-gold"]
    return ShopReport(pages, specs, gold.size, gold.buyers)
