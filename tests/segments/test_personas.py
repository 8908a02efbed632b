"""Persona cards on a small hand-made shop, and the report that shows them."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.models.clustering import TraitContrast
from cible.segments import personas
from cible.segments.catalog import SegmentInfo
from cible.segments.persona_names import generated_name

AS_OF = datetime(2024, 12, 31)

CUSTOMERS = "customer_id,email,created_at\n" + "".join(
    f"{c},{c.lower()}@x.fr,2023-01-01\n"
    for c in ("D1", "D2", "D3", "D4", "T1", "T2", "T3", "T4", "N1", "N2", "N3", "P")
)
PRODUCTS = (
    "product_id,name,category,price,launched_at\n"
    "mode1,Robe,mode,20,2020-01-01\n"
    "tech1,Drone,high-tech,500,2024-10-20\n"
    "tech2,Casque,high-tech,500,2020-01-01\n"
    "home1,Lampe,maison,30,2020-01-01\n"
)
# Discount buyers order on Monday mornings on the web; tech buyers on Saturday
# afternoons in store; others once in the app on a Wednesday.
_D_DAYS = ("2024-06-03 10:00", "2024-11-04 10:15")
_T_DAYS = ("2024-06-08 15:00", "2024-11-09 15:30")
ORDERS = "order_id,customer_id,ordered_at,amount,discount_amount,channel,status\n"
LINES = "order_id,product_id,quantity,unit_price\n"
for i in range(1, 5):
    for k, day in enumerate(_D_DAYS):
        ORDERS += f"d{i}{k},D{i},{day},40,5,web,completed\n"
        LINES += f"d{i}{k},mode1,2,20\n"
    for k, day in enumerate(_T_DAYS):
        ORDERS += f"t{i}{k},T{i},{day},500,0,store,completed\n"
        LINES += f"t{i}{k},{'tech1' if k else 'tech2'},1,500\n"
for i in range(1, 4):
    ORDERS += f"n{i},N{i},2024-05-15 12:00,30,0,app,completed\n"
    LINES += f"n{i},home1,1,30\n"
EVENTS = "message_id,customer_id,type,event,properties,timestamp\n" + "".join(
    f'e{c}{k},{c},page,,"{{""path"": ""{path}""}}",2024-10-0{k + 1}\n'
    for c, path in [("D1", "/promo"), ("D2", "/promo"), ("N1", "/"), ("T1", "/")]
    for k in range(2)
)
CONSENTS = "customer_id,channel,purpose,status,updated_at\n" + "".join(
    f"{c},{channel},marketing,{status},2023-01-01\n"
    for c, channel, status in [
        *((f"D{i}", "email", "granted") for i in range(1, 5)),
        *((f"T{i}", "sms", "granted") for i in range(1, 5)),
        *((f"T{i}", "email", "denied") for i in range(1, 5)),
        ("N1", "email", "withdrawn"),
    ]
)
DISCOUNTERS = """
id: discounters
name: {en: Discounters, fr: Remisés}
dimension: habits
priority: 2
where: {trait: discount_share, op: ">=", value: 0.5}
"""
TECHIES = """
id: techies
name: {en: Techies, fr: Technos}
dimension: habits
priority: 1
where: {trait: high_tech_share, op: ">=", value: 0.5}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("personas")
    config = WorkspaceConfig.model_validate(
        {
            # Hours as stored, so that the figures below read as the file wrote them.
            "workspace": {"name": "shop", "timezone": "UTC"},
            "personas": {
                "dimensions": ["habits"],
                "names": {"techies": {"en": "Gadget lovers", "fr": "Fous de gadgets"}},
            },
            "portfolio": {"overlap": [["habits", "lifecycle"]]},
            # Eleven buyers: four sharing the top value of a trait rank 7/10.
            "typology": {"min_score": 0.6},
        }
    )
    with Workspace.create(folder / "shop", config=config) as ws:
        for kind, text in (
            ("customers", CUSTOMERS),
            ("products", PRODUCTS),
            ("orders", ORDERS),
            ("order-lines", LINES),
            ("events", EVENTS),
            ("consents", CONSENTS),
        ):
            (folder / f"{kind}.csv").write_text(text, encoding="utf-8")
            ws.imports.load(kind, folder / f"{kind}.csv")
        ws.segments.add(DISCOUNTERS)
        ws.segments.add(TECHIES)
        ws.run(as_of=AS_OF)
    return folder / "shop"


def test_run_puts_buyers_in_typology_segments(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        members = {
            sid: sorted(ws.segments.members(sid).customer_id.to_pyarrow().to_pylist())
            for sid in ("typology-technophile", "typology-value-shopper", "typology-loyal")
        }
        labels = ws.traits().select("customer_id", "typology").to_pandas()
    assert members["typology-technophile"] == ["T1", "T2", "T3", "T4"]
    # Discounts alone rank 0.7; D1 and D2 also visited promotion pages.
    assert members["typology-value-shopper"] == ["D1", "D2"]
    assert members["typology-loyal"] == []
    assert labels.typology.notna().sum() == 6


def test_card_figures_are_those_of_the_members(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        card = ws.persona("discounters")
    assert (card.size, card.dimension, card.kind) == (4, "habits", "rule")
    assert card.customer_share == pytest.approx(4 / 12)
    assert card.revenue_share == pytest.approx(4 * 80 / (4 * 80 + 4 * 1000 + 3 * 30))
    assert card.avg_churn_risk is None  # no churn model trained
    assert (card.sales_channel.value, card.sales_channel.share) == ("web", 1.0)
    assert (card.contact_channel.value, card.contact_channel.share) == ("email", 1.0)
    assert [(c.value, c.share) for c in card.top_categories] == [("mode", 1.0)]
    assert (card.preferred_weekday.value, card.preferred_hour.value) == ("0", "10")
    assert card.time_text["en"] == "Mostly on Mondays; busiest hour 10:00-11:00 (UTC time)."
    assert card.time_text["fr"] == "Surtout le lundi ; heure la plus active 10 h-11 h (heure UTC)."
    assert "discount_share" in [d.trait for d in card.traits]
    assert all(abs(d.z) >= 2 for d in card.traits)


def test_card_name_is_generated_unless_chosen_in_the_settings(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        discounters = ws.persona("discounters")
        techies = ws.persona("techies")
    assert discounters.name_source == "generated"
    assert discounters.name["en"] != "Discounters" and discounters.name["fr"]
    assert techies.name_source == "chosen"
    assert techies.name == {"en": "Gadget lovers", "fr": "Fous de gadgets"}
    assert techies.segment_name == {"en": "Techies", "fr": "Technos"}


def test_actions_come_from_the_playbook_with_channel_and_category(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        discounters = ws.persona("discounters")
        techies = ws.persona("techies")
    rules = dict(discounters.actions)
    assert "promo-led" in rules
    assert rules["promo-led"]["en"].startswith("Promo-led campaigns on email")
    assert "sur e-mail" in rules["promo-led"]["fr"] and " en mode," in rules["promo-led"]["fr"]
    tech_rules = dict(techies.actions)
    assert "new-arrivals" in tech_rules and "on SMS" in tech_rules["new-arrivals"]["en"]


def test_cards_of_built_in_segments_and_errors(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        prospects = ws.persona("lifecycle-prospect")
        assert prospects.size == 1 and prospects.preferred_hour is None
        assert prospects.time_text["en"] == "No purchase yet."
        assert prospects.top_categories == [] and prospects.sales_channel is None
        with pytest.raises(CibleError, match="No segment 'nope'"):
            ws.persona("nope")
        with pytest.raises(CibleError, match="'churn-risk-high' has no member"):
            ws.persona("churn-risk-high")


def test_a_large_base_is_sampled_for_the_comparison_only(
    shop: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(personas, "MAX_BASE", 6)
    with Workspace.open(shop, read_only=True) as ws:
        card = ws.persona("discounters")
    # Figures stay exact; only what sets the segment apart reads the sample.
    assert card.size == 4 and card.contact_channel.share == 1.0


def test_no_card_before_a_run(tmp_path: Path):
    with Workspace.create(tmp_path / "empty") as ws, pytest.raises(CibleError, match="No run yet"):
        ws.persona("lifecycle-prospect")


def contrast_of(trait: str, difference: float, z: float) -> TraitContrast:
    return TraitContrast(trait, None, 1.0, 1.0, None, difference, z, 10, 100, {})


INFO = SegmentInfo("s", "rule", None, {"en": "S", "fr": "S"}, {}, "#000", 1, 0, 0, 0, None, None)


@pytest.mark.parametrize(
    ("found", "english", "french"),
    [
        (
            [contrast_of("discount_share", 1.2, 9), contrast_of("frequency", 0.8, 5)],
            "Discount-driven regulars",
            "Habitués des promos",
        ),
        ([contrast_of("high_tech_share", 1, 4)], "Tech-savvy customers", "Clients high-tech"),
        ([contrast_of("recency_days", 2, 8)], "Sleepers", "Dormants"),
        # Too weak to name anything, or no word for it: the segment's own name.
        ([contrast_of("discount_share", 1, 1.5)], "S", "S"),
        ([contrast_of("cancellations", 1, 9)], "S", "S"),
    ],
)
def test_generated_names(found: list[TraitContrast], english: str, french: str):
    fallback = {lang: INFO.label(lang) for lang in ("en", "fr")}
    assert generated_name(found, fallback) == {"en": english, "fr": french}


def test_report_shows_personas_and_guardrails_in_both_languages(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        english, french = ws.report("en"), ws.report("fr")
    for page in (english, french):
        assert 'id="personas"' in page and 'data-segment="discounters"' in page
        assert 'id="portfolio"' in page and 'id="micro-segments"' in page
        assert 'id="pareto-summary"' in page and 'data-dimensions="habits-lifecycle"' in page
        assert 'id="coverage"' in page and 'data-dimension="typology"' in page
        assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "Gadget lovers" in english and "Fous de gadgets" in french
    assert "Recommended actions" in english and "Actions recommandées" in french
    assert "Portfolio guardrails" in english and "Garde-fous du portefeuille" in french
    # 11 buyers: the top 20% is 3 customers, tech buyers (1,000 of 4,410 each).
    assert "(3 customers) bring 68.0 % of revenue" in english


def test_purchase_hours_are_on_the_workspace_clock(tmp_path: Path):
    # Sunday 3 March 2024, 23:30 UTC is Monday 00:30 in Paris (UTC+1 in winter), the
    # zone a workspace of region FR takes by default.
    with Workspace.create(tmp_path / "paris") as ws:
        assert ws.config.workspace.zone == "Europe/Paris"
        (tmp_path / "c.csv").write_text("customer_id\nC1\n", encoding="utf-8")
        (tmp_path / "o.csv").write_text(
            "order_id,customer_id,ordered_at,amount\nO1,C1,2024-03-03T23:30:00Z,10\n",
            encoding="utf-8",
        )
        ws.imports.load("customers", tmp_path / "c.csv")
        ws.imports.load("orders", tmp_path / "o.csv")
        ws.run(as_of=datetime(2024, 3, 20))
        card = ws.persona("lifecycle-new")
    assert (card.preferred_weekday.value, card.preferred_hour.value) == ("0", "0")
    assert (
        card.time_text["en"] == "Mostly on Mondays; busiest hour 00:00-01:00 (Europe/Paris time)."
    )


def test_a_card_drawn_is_kept_until_the_next_run_or_other_settings(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    copy = tmp_path / "shop"
    shutil.copytree(shop, copy)
    drawn: list[list[str]] = []
    drawing = personas.Personas._cards

    def counted(self: personas.Personas, infos: Any, wanted: list[str], known: Any) -> list[Any]:
        drawn.append(list(wanted))
        return drawing(self, infos, wanted, known)

    monkeypatch.setattr(personas.Personas, "_cards", counted)
    with Workspace.open(copy) as ws:
        first = ws.persona("discounters")
        # The same card, back from the store with its nested parts, not drawn again.
        assert ws.persona("discounters") == first and len(drawn) == 1
        assert personas.card_from_dict(first.as_dict()) == first
        # Another name chosen in the settings: drawn again, with it.
        ws.config.personas.names["discounters"] = ws.config.personas.names["techies"]
        assert ws.persona("discounters").name == {"en": "Gadget lovers", "fr": "Fous de gadgets"}
        assert len(drawn) == 2
        # A new run: drawn again.
        ws.run(as_of=AS_OF)
        ws.persona("discounters")
        assert len(drawn) == 3
        # A dimension's cards (the personas page): the kept one read, the others drawn
        # together once and kept, so the page draws nothing the second time.
        finder = personas.Personas(ws.store, ws.segments, ws.config)
        dimension = ws.segments.get("discounters").dimension
        cards = finder.for_dimensions([dimension])
        assert "discounters" not in drawn[-1] and len(drawn) == 4
        assert finder.for_dimensions([dimension]) == cards and len(drawn) == 4
        assert next(c for c in cards if c.segment_id == "discounters") == ws.persona("discounters")
    # A read-only workspace draws cards and keeps none.
    with Workspace.open(copy, read_only=True) as ws:
        assert ws.persona("techies").name_source == "chosen"
        assert ws.persona("techies").name_source == "chosen"
    assert drawn[-2:] == [["techies"], ["techies"]]
