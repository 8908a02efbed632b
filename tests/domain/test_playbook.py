"""The shape of playbook rules: one source per condition, known placeholders, unique ids."""

from __future__ import annotations

import pydantic
import pytest

from cible.domain.playbook import PlaybookRule, PlaybookSection

ACTION = {"en": "Call them on {channel}.", "fr": "Appelez-les sur {channel}."}


def test_a_rule_reads_back_what_each_condition_reads():
    rule = PlaybookRule.model_validate(
        {
            "id": "vip",
            "when": [
                {"figure": "avg_churn_risk", "op": ">", "value": 0.5},
                {"share_in": ["value-gold", "value-platinum"], "value": 0.3},
                {"lift": "monetary_value", "op": "<", "value": 2},
            ],
            "action": ACTION,
        }
    )
    assert [c.source for c in rule.when] == [
        ("figure", "avg_churn_risk"),
        ("share_in", "value-gold,value-platinum"),
        ("lift", "monetary_value"),
    ]
    assert rule.when[1].op == ">=" and not rule.fallback


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"when": [{"value": 1}]}, "exactly one of figure, share_in, mean or lift"),
        ({"when": [{"mean": "frequency", "lift": "frequency", "value": 1}]}, "got mean, lift"),
        ({"when": [{"figure": "revenue", "value": 1}]}, "figure"),
        ({"when": [{"mean": "frequency", "op": "~", "value": 1}]}, "op"),
        (
            {"action": {"en": "Call {name}.", "fr": "Appelez {name}."}},
            r"unknown placeholder \{name\}",
        ),
        ({"action": {"en": "Call."}}, "fr"),
        ({"id": "Bad Id"}, "id"),
    ],
)
def test_malformed_rules_are_refused(rule: dict, message: str):
    with pytest.raises(pydantic.ValidationError, match=message):
        PlaybookRule.model_validate({"id": "r", "action": ACTION, **rule})


def test_rule_ids_are_unique_in_the_settings():
    rule = {"id": "same", "action": ACTION}
    with pytest.raises(pydantic.ValidationError, match="'same' appears twice"):
        PlaybookSection.model_validate({"rules": [rule, rule]})
    assert PlaybookSection().rules is None
