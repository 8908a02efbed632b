"""Contradictory offers between two campaigns, judged on offers, dates and customers."""

from __future__ import annotations

from typing import Any

from cible.activation.campaign_conflicts import find_conflicts, offer_clashes
from cible.activation.campaign_definition import CampaignDefinition, parse_campaign


def _campaign(
    id: str, *offers: dict[str, Any] | None, priority: int = 0, start: str = "2025-03-01"
) -> CampaignDefinition:
    share = 1 / len(offers)
    variants = [
        {"id": f"v{i}", "share": share, "template": "t"} | ({"offer": o} if o else {})
        for i, o in enumerate(offers)
    ]
    return parse_campaign(
        {
            "id": id,
            "segments": ["all"],
            "channel": "email",
            "priority": priority,
            "start": start,
            "end": start[:8] + "28",
            "variants": variants,
        }
    )


FULL_SHOES = {"kind": "full_price", "category": "shoes"}
MINUS_30 = {"kind": "discount", "value": 30}


def test_full_price_against_a_discount_on_the_same_category_conflicts() -> None:
    full = _campaign("full", FULL_SHOES, priority=1)
    sale = _campaign("sale", {"kind": "discount", "value": 30, "category": "shoes"}, priority=9)
    found = find_conflicts([sale, full], {"full": {"a", "b"}, "sale": {"b", "c"}})
    assert [(c.campaigns, c.category, c.customers, c.keeps, c.loses) for c in found] == [
        (("full", "sale"), "shoes", 1, "sale", "full")
    ]
    assert found[0].customer_ids == ("b",)
    assert found[0].offers == ("full price (shoes)", "discount 30% (shoes)")


def test_two_different_discounts_and_all_categories_conflict() -> None:
    first = _campaign("a", {"kind": "discount", "value": 20, "category": "bags"})
    second = _campaign("b", MINUS_30)
    clashes = offer_clashes(first, second)
    assert [(category, m.value, t.value) for category, m, t in clashes] == [("bags", 20, 30)]
    found = find_conflicts([first, second], {"a": {"x"}, "b": {"x"}})
    assert found[0].keeps is None  # equal priorities decide nothing


def test_no_conflict_on_other_categories_other_dates_same_offer_or_no_customer() -> None:
    shoes = _campaign("shoes", FULL_SHOES)
    assert (
        offer_clashes(
            shoes, _campaign("bags", {"kind": "discount", "value": 30, "category": "bags"})
        )
        == []
    )
    assert offer_clashes(shoes, _campaign("april", MINUS_30, start="2025-04-01")) == []
    assert offer_clashes(_campaign("a", MINUS_30), _campaign("b", MINUS_30)) == []
    assert offer_clashes(_campaign("a", None), _campaign("b", MINUS_30)) == []
    sale = _campaign("sale", MINUS_30)
    assert find_conflicts([shoes, sale], {"shoes": {"a"}, "sale": {"b"}}) == []


def test_dates_overlap_on_a_shared_day() -> None:
    march = _campaign("march", MINUS_30)
    edge = parse_campaign(
        march.to_dict() | {"id": "edge", "start": "2025-03-28", "end": "2025-04-05"}
    )
    after = parse_campaign(
        march.to_dict() | {"id": "after", "start": "2025-03-29", "end": "2025-04-05"}
    )
    assert march.overlaps(edge) and edge.overlaps(march)
    assert not march.overlaps(after) and not after.overlaps(march)
