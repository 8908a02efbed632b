"""The playbook: which actions a persona card recommends, as rules kept as data.

The built-in rules live in ``builtin/playbook.yaml``; ``[playbook]`` in ``cible.toml``
replaces a rule by giving its id again, adds new ones after them, or drops the
built-in rules with ``replace_builtin = true``. A card gets the first
``max_actions`` rules whose conditions all hold; rules marked ``fallback`` apply only
when no other rule does. See :mod:`cible.domain.playbook` for the condition shape.

Examples
--------
>>> from cible.domain.playbook import PlaybookSection
>>> rules = playbook_rules(PlaybookSection())
>>> rules[0].id, rules[-1].fallback
('win-back-high-value', True)
>>> facts = Facts(figures={"size": 120}, shares={"lifecycle-new": 0.6}, means={}, lifts={})
>>> [rule.id for rule in recommend(rules, facts, max_actions=3)]
['onboarding']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from cible.domain.errors import ConfigError
from cible.domain.playbook import PlaybookCondition, PlaybookRule, PlaybookSection

_COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Facts:
    """What the conditions of a rule can read about one segment.

    Attributes
    ----------
    figures : dict
        Card figures by name (``size``, ``avg_churn_risk``...); None when unknown.
    shares : dict
        Segment id -> share of the members also in that segment.
    means, lifts : dict
        Trait -> members' mean, and that mean over the base's (None when the base
        mean is not positive).
    """

    figures: dict[str, float | None]
    shares: dict[str, float]
    means: dict[str, float | None]
    lifts: dict[str, float | None]


@cache
def builtin_rules() -> tuple[PlaybookRule, ...]:
    """The rules of ``builtin/playbook.yaml``, in order."""
    source = resources.files("cible.segments") / "builtin" / "playbook.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return tuple(PlaybookRule.model_validate(rule) for rule in data["rules"])


def playbook_rules(section: PlaybookSection) -> list[PlaybookRule]:
    """The workspace's rules: built-in ones (unless replaced), then ``section``'s."""
    added = section.rules or []
    given = {rule.id: rule for rule in added}
    kept = [] if section.replace_builtin else [given.pop(r.id, r) for r in builtin_rules()]
    return kept + [rule for rule in added if rule.id in given]


def check_playbook(section: PlaybookSection, numeric_traits: set[str]) -> None:
    """Refuse ``[playbook]`` rules whose ``mean`` or ``lift`` names no numeric trait.

    Raises
    ------
    ConfigError
        Naming the rule and the trait.
    """
    for rule in section.rules or []:
        for condition in rule.when:
            kind, name = condition.source
            if kind in ("mean", "lift") and name not in numeric_traits:
                raise ConfigError(
                    f"[playbook] rule {rule.id!r}: {kind} {name!r} is not a "
                    "numeric trait (see docs/traits.md)."
                )


def recommend(rules: list[PlaybookRule], facts: Facts, *, max_actions: int) -> list[PlaybookRule]:
    """The first ``max_actions`` rules that hold; the fallback ones if none does."""
    matched = [r for r in rules if not r.fallback and all(_holds(c, facts) for c in r.when)]
    if not matched:
        matched = [r for r in rules if r.fallback and all(_holds(c, facts) for c in r.when)]
    return matched[:max_actions]


def _holds(condition: PlaybookCondition, facts: Facts) -> bool:
    kind, name = condition.source
    value: float | None
    if kind == "share_in":
        # Segments of one dimension never overlap, so their shares add up.
        value = sum(facts.shares.get(segment, 0.0) for segment in name.split(","))
    elif kind == "figure":
        value = facts.figures.get(name)
    elif kind == "mean":
        value = facts.means.get(name)
    else:
        value = facts.lifts.get(name)
    if value is None or math.isnan(value):
        return False
    return bool(_COMPARE[condition.op](value, condition.value))
