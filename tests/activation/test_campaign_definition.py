"""Campaign definitions: what is accepted, and errors that name the path."""

from __future__ import annotations

from typing import Any

import pytest

from cible.activation.campaign_definition import CampaignError, parse_campaign


def _campaign(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "spring",
        "name": {"en": "Spring", "fr": "Printemps"},
        "segments": ["vip"],
        "channel": "email",
        "variants": [
            {"id": "a", "share": 0.45, "template": "t", "offer": {"kind": "discount", "value": 20}},
            {"id": "b", "share": 0.45, "message": "crm:spring-b"},
        ],
        "holdout": 0.1,
        "priority": 3,
        "start": "2025-03-01",
        "end": "2025-03-31",
        "cost": {"fixed": 100, "per_send": 0.01, "discount_share": 0.5},
    }
    data.update(changes)
    return data


def test_a_full_definition_round_trips_and_orders_its_arms() -> None:
    campaign = parse_campaign(_campaign())
    assert campaign.arms() == (("a", 0.45), ("b", 0.45), ("holdout", 0.1))
    assert campaign.purpose == "marketing" and campaign.status == "draft"
    again = parse_campaign(campaign.to_dict())
    assert again == campaign
    assert "status" not in campaign.to_dict()


def test_shares_of_variants_and_holdout_must_add_to_one() -> None:
    with pytest.raises(CampaignError, match=r"^variants: .* add to 1\.1, not 1"):
        parse_campaign(_campaign(holdout=0.2))
    no_holdout = _campaign(holdout=0, variants=[{"id": "a", "share": 1, "template": "t"}])
    assert parse_campaign(no_holdout).arms() == (("a", 1.0),)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channel": "emial"}, "channel: unknown channel 'emial'.*did you mean 'email'"),
        ({"purpose": "sales"}, "purpose: unknown purpose 'sales'"),
        ({"end": "2025-02-01"}, "ends \\(2025-02-01\\) before it starts"),
        ({"id": "Spring Sale"}, "id: campaign id 'Spring Sale' is not a valid name"),
        ({"segments": []}, "^segments: .*at least 1 item"),
        ({"priorty": 2}, "priorty: unknown key \\(did you mean 'priority'\\?\\)"),
        ({"start": "first of march"}, "^start: "),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignError, match=message):
        parse_campaign(_campaign(**change))


def test_bad_variants_and_offers_name_their_path() -> None:
    variants = _campaign()["variants"]
    bad_offer = [variants[0] | {"offer": {"kind": "discount"}}, variants[1]]
    with pytest.raises(CampaignError, match=r"^variants\[0\]\.offer: .*a discount needs a value"):
        parse_campaign(_campaign(variants=bad_offer))
    bad_kind = [variants[0], variants[1] | {"offer": {"kind": "bogof"}}]
    with pytest.raises(CampaignError, match=r"^variants\[1\]\.offer\.kind: "):
        parse_campaign(_campaign(variants=bad_kind))
    both = [variants[0] | {"message": "x"}, variants[1]]
    with pytest.raises(CampaignError, match=r"^variants\[0\]: .*exactly one of 'template'"):
        parse_campaign(_campaign(variants=both))
    twice = [variants[0], variants[1] | {"id": "a"}]
    with pytest.raises(CampaignError, match="two variants are called 'a'"):
        parse_campaign(_campaign(variants=twice))
    holdout = [variants[0], variants[1] | {"id": "holdout"}]
    with pytest.raises(CampaignError, match=r"^variants\[1\]\.id: 'holdout' is the control"):
        parse_campaign(_campaign(variants=holdout))


def test_yaml_errors_are_one_sentence() -> None:
    with pytest.raises(CampaignError, match="not valid YAML or JSON"):
        parse_campaign("id: [unclosed")
    with pytest.raises(CampaignError, match="a campaign is a mapping"):
        parse_campaign("- a list")
    with pytest.raises(CampaignError, match=r"^cost\.per_send: "):
        parse_campaign(_campaign(cost={"per_send": -1}))
