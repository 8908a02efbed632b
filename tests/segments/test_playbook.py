"""Playbook rules: merging the settings into the built-in rules, and choosing actions."""

from __future__ import annotations

import pytest

from cible.domain.errors import ConfigError
from cible.domain.playbook import PlaybookRule, PlaybookSection
from cible.segments.playbook import Facts, builtin_rules, check_playbook, playbook_rules, recommend

ACTION = {"en": "Do it.", "fr": "Faites-le."}


def rule(rule_id: str, *conditions: dict, fallback: bool = False) -> PlaybookRule:
    return PlaybookRule.model_validate(
        {"id": rule_id, "when": list(conditions), "action": ACTION, "fallback": fallback}
    )


def facts(**values: dict) -> Facts:
    return Facts(
        figures=values.get("figures", {}),
        shares=values.get("shares", {}),
        means=values.get("means", {}),
        lifts=values.get("lifts", {}),
    )


def test_settings_replace_a_builtin_rule_by_id_and_add_new_ones_after():
    builtin = [r.id for r in builtin_rules()]
    mine = rule("vip", {"figure": "size", "value": 1})
    extra = rule("birthday")
    merged = playbook_rules(PlaybookSection(rules=[extra, mine]))
    assert [r.id for r in merged] == [*builtin, "birthday"]
    assert merged[builtin.index("vip")] is mine
    alone = playbook_rules(PlaybookSection(rules=[extra], replace_builtin=True))
    assert [r.id for r in alone] == ["birthday"]


def test_every_builtin_rule_reads_known_traits_and_has_both_languages():
    numeric = {"monetary_value", "discount_share", "high_tech_share", "social_shares"}
    numeric |= {"comparisons_per_order", "channel_share_app", "channel_share_store"}
    check_playbook(PlaybookSection(rules=list(builtin_rules())), numeric)
    assert sum(r.fallback for r in builtin_rules()) == 1


def test_actions_follow_rule_order_up_to_the_maximum():
    rules = [
        rule("big", {"figure": "size", "op": ">=", "value": 100}),
        rule("lapsed", {"share_in": ["lifecycle-lapsed", "lifecycle-churned"], "value": 0.5}),
        rule("spenders", {"lift": "monetary_value", "op": ">", "value": 1.5}),
        rule("promo", {"mean": "discount_share", "op": ">=", "value": 0.5}),
        rule("fallback", fallback=True),
    ]
    seen = facts(
        figures={"size": 120.0},
        # Shares of one dimension add up: 0.3 + 0.25 reaches 0.5.
        shares={"lifecycle-lapsed": 0.3, "lifecycle-churned": 0.25},
        lifts={"monetary_value": 1.6},
        means={"discount_share": 0.7},
    )
    assert [r.id for r in recommend(rules, seen, max_actions=3)] == ["big", "lapsed", "spenders"]
    assert [r.id for r in recommend(rules, seen, max_actions=10)][-1] == "promo"


def test_unknown_values_never_satisfy_a_condition_and_the_fallback_steps_in():
    rules = [
        rule("churn", {"figure": "avg_churn_risk", "op": "<", "value": 0.9}),
        rule("lift", {"lift": "monetary_value", "op": "<", "value": 10}),
        rule("other-segment", {"share_in": ["nowhere"], "op": "<", "value": 1}),
        rule("newsletter", fallback=True),
    ]
    seen = facts(figures={"avg_churn_risk": None}, lifts={"monetary_value": None})
    # A share of a segment the members are not in is 0, which is below 1.
    assert [r.id for r in recommend(rules, seen, max_actions=3)] == ["other-segment"]
    assert [r.id for r in recommend(rules[:2] + rules[3:], seen, max_actions=3)] == ["newsletter"]


@pytest.mark.parametrize(
    "op,value,holds", [("=", 2.0, True), ("!=", 2.0, False), ("<=", 1.0, False)]
)
def test_every_operator(op: str, value: float, holds: bool):
    chosen = recommend(
        [rule("r", {"mean": "frequency", "op": op, "value": value})],
        facts(means={"frequency": 2.0}),
        max_actions=1,
    )
    assert bool(chosen) is holds


def test_settings_naming_an_unknown_trait_are_refused():
    section = PlaybookSection(rules=[rule("x", {"mean": "frequncy", "value": 1})])
    with pytest.raises(ConfigError, match=r"\[playbook\] rule 'x': mean 'frequncy'"):
        check_playbook(section, {"frequency"})
