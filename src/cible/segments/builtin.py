"""The built-in dimensions (RFM, lifecycle, value, churn risk, typology) as data.

Each YAML file under ``builtin/`` lists the segments of one exclusive dimension, with
names, reading guides and colours in English and French, and what selects each one.
:func:`rfm_rules` and :func:`typology_inputs` read the rules that
:mod:`cible.features.rfm` and :mod:`cible.features.typology` take as data.

Examples
--------
>>> [s.id for s in load_builtin("lifecycle").segments][:2]
['lifecycle-prospect', 'lifecycle-new']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cible.domain.config import RfmRule, TypologySection
from cible.features.typology import merge_inputs


@dataclass(frozen=True)
class BuiltinSegment:
    """One segment of a built-in dimension and what selects it."""

    id: str
    name: dict[str, str]
    description: dict[str, str]
    color: str
    #: RFM score ranges, or the lifecycle stage, that select this segment.
    rule: dict[str, Any]


@dataclass(frozen=True)
class BuiltinDimension:
    """A dimension of mutually exclusive segments, in priority order."""

    dimension: str
    segments: tuple[BuiltinSegment, ...]


@cache
def load_builtin(dimension: str) -> BuiltinDimension:
    """Read ``builtin/<dimension>.yaml``."""
    text = (resources.files("cible.segments") / "builtin" / f"{dimension}.yaml").read_text(
        encoding="utf-8"
    )
    data = yaml.safe_load(text)
    segments = tuple(
        BuiltinSegment(
            id=item["id"],
            name=item["name"],
            description=item["description"],
            color=item["color"],
            rule={k: v for k, v in item.items() if k not in ("id", "name", "description", "color")},
        )
        for item in data["segments"]
    )
    return BuiltinDimension(data["dimension"], segments)


def rfm_rules(overrides: Mapping[str, RfmRule] | None = None) -> list[tuple[str, RfmRule]]:
    """Named RFM segments in matching order: built-in ranges, replaced by ``overrides``.

    Parameters
    ----------
    overrides : mapping, optional
        ``[rfm]`` rules of ``cible.toml``, by segment id.

    Examples
    --------
    >>> rfm_rules()[0]
    ('rfm-champions', RfmRule(r=[5, 5], f=[4, 5]))
    """
    rules = []
    for segment in load_builtin("rfm").segments:
        rule = RfmRule(r=segment.rule["r"], f=segment.rule["f"])
        rules.append((segment.id, (overrides or {}).get(segment.id, rule)))
    return rules


def typology_inputs(section: TypologySection) -> dict[str, dict[str, float]]:
    """Each typology's inputs (trait -> weight): the built-in ones, then ``section``'s.

    Raises
    ------
    ConfigError
        When ``[typology.weights]`` names an unknown typology or a trait that is not
        a numeric trait; the message names the setting.

    Examples
    --------
    >>> typology_inputs(TypologySection())["technophile"]
    {'high_tech_share': 1.0, 'early_adopter_share': 1.0}
    """
    builtin = {
        segment.rule["typology"]: {k: float(v) for k, v in segment.rule["inputs"].items()}
        for segment in load_builtin("typology").segments
    }
    return merge_inputs(builtin, section)
