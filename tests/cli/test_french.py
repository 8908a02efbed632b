"""French where a marketer reads: `--lang`, the locale default, persona cards, the report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible.cli import output
from cible.cli.app import app
from cible.segments.runner import ALL_TRAITS

runner = CliRunner()

ENGLISH_HEADERS = ("% revenue", "avg order", "recency (days)", "dimension")
FRENCH_HEADERS = ("identifiant", "nom", "% des clients", "% du CA", "panier moyen", "récence")


def cible(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wide enough that no header wraps inside its column.
    monkeypatch.setattr(output.console, "width", 240)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("french") / "shop"
    made = cible("demo", "--customers", "400", "-w", str(folder))
    assert made.exit_code == 0, made.output
    return folder


def headers_of(output: str) -> str:
    # The header row is the first line between the table's top and its separator.
    return " ".join(output.splitlines()[:6])


def test_segments_list_in_french(shop: Path):
    listed = cible("segments", "list", "--lang", "fr", "-w", str(shop))
    assert listed.exit_code == 0, listed.output
    head = headers_of(listed.output)
    assert all(h in head for h in FRENCH_HEADERS), head
    assert not any(h in head for h in ("% revenue", "avg order", "recency (days)")), head
    # Figures are written the French way: 12,3 % and 1 234 (narrow no-break space).
    assert re.search(r"\d,\d\xa0%", listed.output) and not re.search(r"\d\.\d%", listed.output)
    english = cible("segments", "list", "--lang", "en", "-w", str(shop)).output
    assert all(h in headers_of(english) for h in ENGLISH_HEADERS)
    assert re.search(r"\d\.\d%", english) and "\xa0%" not in english


def test_the_locale_decides_unless_lang_is_given(shop: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    french = headers_of(cible("segments", "list", "-w", str(shop)).output)
    assert "% du CA" in french and "panier moyen" in french
    english = headers_of(cible("segments", "list", "--lang", "en", "-w", str(shop)).output)
    assert "% revenue" in english and "% du CA" not in english
    # LC_ALL comes first, as for any POSIX program.
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    assert "% revenue" in headers_of(cible("segments", "list", "-w", str(shop)).output)


def test_lang_before_the_command_applies_to_it(shop: Path):
    head = headers_of(cible("--lang", "fr", "segments", "list", "-w", str(shop)).output)
    assert "% du CA" in head
    # The next command line starts again from the locale (English here).
    assert "% revenue" in headers_of(cible("segments", "list", "-w", str(shop)).output)
    # A command's own option wins over the one before it.
    both = cible("--lang", "fr", "segments", "list", "--lang", "en", "-w", str(shop))
    assert "% revenue" in headers_of(both.output)


def test_an_unknown_language_is_one_sentence(shop: Path):
    result = cible("segments", "list", "--lang", "de", "-w", str(shop))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --lang 'de': use one of en, fr."


def test_errors_in_french(shop: Path):
    result = cible("churn", "card", "--lang", "fr", "-w", str(shop))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Erreur : Aucun modèle de départ pour l'instant : lancez d'abord `cible churn train`."
    )


def raw_names_in(output: str, segment_id: str) -> set[str]:
    """Trait column names in ``output``, once the segment's own id is left out."""
    text = output.replace(segment_id, "")
    return {t.name for t in ALL_TRAITS if re.search(rf"\b{re.escape(t.name)}\b", text)}


@pytest.mark.parametrize("segment_id", ["typology-loyal", "rfm-champions", "lifecycle-active"])
def test_persona_card_in_french_has_labels_not_column_names(shop: Path, segment_id: str):
    card = cible("segments", "persona", segment_id, "--lang", "fr", "-w", str(shop))
    if "has no member" in card.output:
        pytest.skip(f"{segment_id} is empty in this small demo")
    assert card.exit_code == 0, card.output
    assert raw_names_in(card.output, segment_id) == set(), card.output
    assert "[" not in card.output, card.output
    # One language per card: none of the English headers or sentences.
    for english in ("sales channel", "What sets them apart", "customers (", "of revenue"):
        assert english not in card.output, card.output
    assert "canal d'achat" in card.output and "quand ils achètent" in card.output
    shown = cible("segments", "persona", segment_id, "--lang", "en", "-w", str(shop))
    assert raw_names_in(shown.output, segment_id) == set() and "[" not in shown.output
    assert "sales channel" in shown.output and "canal d'achat" not in shown.output


def test_persona_card_names_the_traits_that_set_it_apart(shop: Path):
    import json

    data = json.loads(
        cible("segments", "persona", "typology-loyal", "-w", str(shop), "--json").stdout
    )
    assert data["traits"], "the loyal typology should differ from the base"
    card = cible("segments", "persona", "typology-loyal", "--lang", "fr", "-w", str(shop)).output
    for difference in data["traits"]:
        assert difference["label"]["fr"] in card
        assert difference["text"]["fr"].startswith(difference["label"]["fr"])


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "No churn model is trained yet"),
        ("fr", "Aucun modèle de départ n&#39;est encore entraîné"),
    ],
)
def test_report_without_a_churn_model_says_how_to_train_one(
    shop: Path, tmp_path: Path, lang: str, sentence: str
):
    page = tmp_path / "report.html"
    written = cible("report", "--output", str(page), "--lang", lang, "-w", str(shop))
    assert written.exit_code == 0, written.output
    html = page.read_text(encoding="utf-8")
    section = html.split('id="dimension-churn_risk"')[1].split("</section>")[0]
    assert sentence in section and "cible churn train" in section
    assert 'class="segment"' not in section  # no rows of zero customers


def test_report_with_a_churn_model_lists_its_bands(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from cible.reporting import report

    # Any stored model will do: the section then lists the risk bands, not the sentence.
    monkeypatch.setattr(report, "latest_card", lambda store: (1, None))
    page = tmp_path / "report.html"
    assert cible("report", "--output", str(page), "-w", str(shop)).exit_code == 0
    section = page.read_text(encoding="utf-8").split('id="dimension-churn_risk"')[1]
    section = section.split("</section>")[0]
    assert "No churn model" not in section and 'data-segment="churn-risk-high"' in section
