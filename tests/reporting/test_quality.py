"""The data quality section of the report: data from the latest audit, and its partial."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from markupsafe import escape

from cible import Workspace
from cible.locale.messages import MESSAGES
from cible.reporting.html import environment
from cible.reporting.quality import quality_block, quality_block_from
from cible.store.audits import save_audit

STORED = {
    "audit_id": 3,
    "created_at": "2025-01-31T10:00:00",
    "customers": 1200,
    "score": 91.25,
    "problems": [
        {
            "id": "validity.email",
            "area": "validity",
            "label": {"en": "Invalid e-mail addresses", "fr": "Adresses e-mail invalides"},
            "affected": 12,
            "denominator": 1150,
            "share": 12 / 1150,
            "points": 1.5,
            "examples": ["C1: a@@b.fr", "C7: x.fr", "C9: y@z", "C10: w"],
        }
    ],
}


def _render(block) -> str:
    return environment(block.lang).get_template("_quality.html.j2").render(q=block)


def test_block_reads_labels_in_the_report_language():
    block = quality_block_from(STORED, [88.0, 93.0, 91.25], "fr")
    assert block.problems[0].label == "Adresses e-mail invalides"
    assert (block.previous_score, block.change, block.trend_symbol) == (93.0, -1.75, "↓")
    first = quality_block_from(STORED, [91.25], "en")
    assert (first.previous_score, first.change, first.trend_symbol) == (None, None, "")


@pytest.mark.parametrize(
    ("lang", "phrases"),
    [
        (
            "en",
            [
                "Data quality",
                "91.2 ↓",
                "Invalid e-mail addresses",
                "12 / 1,150",
                "−1.8 points",
                "Fixes that gain the most points",
                "If fixed",
                "+1.5",
                "Biggest gain: Invalid e-mail addresses, 12 rows to fix, +1.5 points.",
            ],
        ),
        (
            "fr",
            [
                "Qualité des données",
                "91,2 ↓",
                "Adresses e-mail invalides",
                "validité",
                "−1,8 points",
                "Si corrigé",
                "+1,5",
                "Plus gros gain : Adresses e-mail invalides, 12 lignes à corriger, +1,5 points.",
            ],
        ),
    ],
)
def test_partial_renders_in_both_languages(lang: str, phrases: list[str]):
    page = _render(quality_block_from(STORED, [88.0, 93.0, 91.25], lang))
    for phrase in phrases:
        assert phrase in page
    assert '<svg class="chart"' in page  # the trend line
    assert "C1: a@@b.fr" in page and "C10: w" not in page  # three examples at most
    assert str(escape(MESSAGES["quality_formula_changed"][lang])) not in page


def test_partial_for_a_first_audit_without_problem():
    block = quality_block_from({**STORED, "problems": []}, [91.25], "en")
    page = _render(block)
    assert MESSAGES["quality_first"]["en"] in page
    assert MESSAGES["quality_none"]["en"] in page
    assert '<svg class="chart"' not in page


def test_every_quality_message_is_bilingual():
    quality = [key for key in MESSAGES if key.startswith("quality_")]
    assert len(quality) > 10
    assert all(MESSAGES[key]["en"] and MESSAGES[key]["fr"] for key in quality)


def test_block_from_a_workspace(tmp_path: Path):
    with Workspace.create(tmp_path / "ws") as ws:
        assert quality_block(ws.store, "en") is None
        path = tmp_path / "c.csv"
        path.write_text("customer_id;email\nC1;a@b.fr\nC2;bad@@b.fr\n", encoding="utf-8")
        ws.imports.load("customers", path)
        report = ws.quality.audit()
        block = quality_block(ws.store, "en")
    assert block is not None
    assert (block.audit_id, block.score, block.customers) == (report.audit_id, report.score, 2)
    assert [p.check_id for p in block.problems] == [c.id for c, _ in report.problems()]
    assert "Data quality" in _render(block)


def test_an_audit_stored_before_the_new_formula_still_renders(tmp_path: Path):
    """An audit stored by the first formula (no weights, no formula number), then a new one."""
    with Workspace.create(tmp_path / "ws") as ws:
        save_audit(
            ws.store.connection,
            created_at=datetime(2025, 1, 31, 10),
            score=STORED["score"],
            customers=STORED["customers"],
            report={k: v for k, v in STORED.items() if k != "audit_id"},
        )
        old = quality_block(ws.store, "fr")
        path = tmp_path / "c.csv"
        path.write_text("customer_id;email\nC1;a@b.fr\nC2;bad@@b.fr\n", encoding="utf-8")
        ws.imports.load("customers", path)
        report = ws.quality.audit()
        new = quality_block(ws.store, "en")
    assert old is not None and not old.formula_changed
    assert (old.problems[0].points, old.problems[0].weight) == (1.5, None)
    assert "Adresses e-mail invalides" in _render(old)
    assert new is not None and new.formula_changed
    assert new.scores == [STORED["score"], report.score]
    assert new.problems[0].weight == 0.6
    page = _render(new)
    assert str(escape(MESSAGES["quality_formula_changed"]["en"])) in page
    assert '<svg class="chart"' in page
