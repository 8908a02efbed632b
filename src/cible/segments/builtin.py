"""The built-in dimensions (RFM, lifecycle) as data shipped with Cible.

Each YAML file under ``builtin/`` lists the segments of one exclusive dimension, with
names, reading guides and colours in English and French.

Examples
--------
>>> [s.id for s in load_builtin("lifecycle").segments][:2]
['lifecycle-prospect', 'lifecycle-new']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


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
