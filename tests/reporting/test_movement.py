"""The movement section: its figures equal ``ws.segments.migration``, in both languages.

The reference is the migration use case itself (checked against pandas in
tests/segments/test_migration.py): the section must show its numbers unchanged, pick
the right start, and say how to get a start when there is none.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from cible import Workspace
from cible.reporting.movement import build_movement
from cible.segments.migration import NONE

START, END = datetime(2024, 3, 1), datetime(2024, 9, 1)


def _shop(folder: Path) -> Path:
    """40 customers buying at different rhythms over 2023-2024."""
    customers = ["customer_id,email"] + [f"c{i},c{i}@example.com" for i in range(40)]
    orders = ["order_id,customer_id,ordered_at,amount"]
    n = 0
    for i in range(40):
        for k in range(i % 6):
            month = 1 + (i * 3 + k * 4) % 18
            year, month = 2023 + (month - 1) // 12, 1 + (month - 1) % 12
            n += 1
            orders.append(f"o{n},c{i},{year}-{month:02d}-{1 + i % 27:02d},{10 + i * k}")
    (folder / "c.csv").write_text("\n".join(customers) + "\n")
    (folder / "o.csv").write_text("\n".join(orders) + "\n")
    with Workspace.create(folder / "shop") as ws:
        ws.imports.load("customers", folder / "c.csv")
        ws.imports.load("orders", folder / "o.csv")
    return folder / "shop"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop run as of ``START`` and ``END`` (six months apart)."""
    shop = _shop(tmp_path_factory.mktemp("movement"))
    with Workspace.open(shop) as ws:
        ws.run(as_of=START)
        ws.run(as_of=END)
    return shop


def _section(page: str) -> str:
    found = re.search(r'<section id="movement">.*?</section>', page, re.S)
    assert found, "no movement section"
    return found.group(0)


def _rows(block: str) -> dict[str, list[str]]:
    """Each segment's cells in the flows table, as printed."""
    rows = {}
    for segment, cells in re.findall(
        r'<tr class="flow" data-segment="([^"]+)">(.*?)</tr>', block, re.S
    ):
        rows[segment] = [html.unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", cells)]
    return rows


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_section_shows_the_migration_of_each_dimension(two_runs: Path, lang: str):
    with Workspace.open(two_runs, read_only=True) as ws:
        page = ws.report(lang)
        section = _section(page)
        dimensions = re.findall(r'class="movement" id="movement-([^"]+)"', section)
        assert dimensions == ["lifecycle", "value", "rfm"]
        for dimension in dimensions:
            moved = ws.segments.migration(dimension, START, END)
            block = re.search(rf'id="movement-{dimension}".*?</table>', section, re.S)
            assert block
            text = block.group(0)
            # Every band's count, and each node's, is the migration's.
            bands = {
                (s, t): int(n)
                for s, t, n in re.findall(
                    r'data-source="([^"]+)" data-target="([^"]+)" data-customers="(\d+)"', text
                )
            }
            assert bands == {(c.source, c.target): c.customers for c in moved.cells}
            sources = dict(
                re.findall(
                    r'data-side="source" data-segment="([^"]+)" '
                    r'data-customers="(\d+)"',
                    text,
                )
            )
            for flow in moved.flows:
                if flow.at_start:
                    assert int(sources[flow.segment_id]) == flow.at_start
            rows = _rows(text)
            assert set(rows) == {f.segment_id for f in moved.flows}
            for flow in moved.flows:
                cells = rows[flow.segment_id]
                figures = [re.sub(r"\D", "", c) for c in cells[1:5]]
                assert figures == [
                    str(flow.at_start),
                    str(flow.at_end),
                    str(flow.inflow),
                    str(flow.outflow),
                ]
            assert f"{moved.customers}" in text


def test_the_section_data_equals_the_migration(two_runs: Path):
    with Workspace.open(two_runs, read_only=True) as ws:
        section = build_movement(ws.store, ws.segments.list(), "fr", reference_days=90)
        assert [b.dimension for b in section.blocks] == ["lifecycle", "value", "rfm"]
        assert section.missing == [] and section.end == END
        for block in section.blocks:
            moved = ws.segments.migration(block.dimension, START, END)
            assert (block.start, block.end, block.customers) == (START, END, moved.customers)
            by_id = {f.segment_id: f for f in moved.flows}
            for row in block.rows:
                flow = by_id[row.segment_id]
                assert (row.at_start, row.at_end, row.inflow, row.outflow) == (
                    flow.at_start,
                    flow.at_end,
                    flow.inflow,
                    flow.outflow,
                )
                assert row.churn == flow.churn
                assert row.median_days == flow.median_days_in_segment
            assert block.sankey.total == moved.customers
            none = [n for n in block.sankey.nodes if n.key == NONE]
            assert all(n.label == "(dans aucun segment)" for n in none)


def test_the_start_is_the_latest_moment_at_least_reference_days_before(two_runs: Path):
    with Workspace.open(two_runs, read_only=True) as ws:
        infos = ws.segments.list()
        # 184 days separate the runs: a longer reference leaves no start at all.
        assert build_movement(ws.store, infos, "en", reference_days=184).blocks
        longer = build_movement(ws.store, infos, "en", reference_days=185)
        assert longer.blocks == []
        assert longer.missing == [
            "Lifecycle stages",
            "Value tiers (expected 12-month value)",
            "RFM segments",
        ]


ALERT = {
    "kind": "segment",
    "subject": "lifecycle-active",
    "what": {"en": "Active shrank by 40%.", "fr": "Actif a perdu 40 %."},
    "action": {"en": "Review the rule.", "fr": "Revoir la règle."},
}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop run once, with two drift checks stored: none alerting, then one."""
    shop = _shop(tmp_path_factory.mktemp("one-run"))
    with Workspace.open(shop) as ws:
        ws.run(as_of=END)
        for alerts in ([], [ALERT]):
            ws.store.save_drift_check(
                checked_at=END,
                as_of=END,
                reference_as_of=START,
                alerts=len(alerts),
                actor="cli",
                report=json.dumps({"alerts": alerts}),
            )
    return shop


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [("en", "No moment 90 days or more before"), ("fr", "Aucun moment au moins 90 jours avant")],
)
def test_a_report_without_history_says_how_to_get_one(one_run: Path, lang: str, sentence: str):
    with Workspace.open(one_run, read_only=True) as ws:
        section = _section(ws.report(lang))
    assert sentence in section
    assert "cible snapshots backfill" in section
    assert "<svg" not in section and 'class="flow"' not in section


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_latest_drift_check_alerts_in_the_report_language(one_run: Path, lang: str):
    with Workspace.open(one_run, read_only=True) as ws:
        section = html.unescape(_section(ws.report(lang)))
    what, action = ALERT["what"], ALERT["action"]
    assert what[lang] in section and action[lang] in section
    assert what["fr" if lang == "en" else "en"] not in section
    assert ("Drift alerts" if lang == "en" else "Alertes de dérive") in section


def test_a_backfilled_snapshot_is_a_start(tmp_path: Path):
    shop = _shop(tmp_path)
    with Workspace.open(shop) as ws:
        ws.snapshots.take(as_of=START)
        ws.run(as_of=END)
        section = build_movement(ws.store, ws.segments.list(), "en", reference_days=90)
        assert [b.start for b in section.blocks] == [START] * 3
        moved = ws.segments.migration("rfm", START, END)
        rfm = section.blocks[2]
        assert {(b.source, b.target): b.customers for b in rfm.sankey.bands} == {
            (c.source, c.target): c.customers for c in moved.cells
        }
