"""Whether a stored event matches the event condition of an automation's trigger.

Matching runs in Python on the few events of one ingested batch: the properties are
read from the event's JSON (and, for a page view, from ``context.page``), names are
compared as the segment language compares them (case and spaces ignored), and every
property test of docs/activation.md applies.

Examples
--------
>>> from cible.activation.automation_definition import EventMatch, PropertyTest
>>> event = StoredEvent("track", "Product Viewed", '{"price": 30}', None)
>>> dearer = PropertyTest(property="price", op=">", value=20)
>>> match = EventMatch(name="product_viewed", where=[dearer])
>>> event.matches(match)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from cible.activation.automation_definition import EventMatch, PropertyTest


@dataclass(frozen=True)
class StoredEvent:
    """One stored event as the automations read it: its type, name, and the JSON
    text of its properties and context."""

    type: str | None
    name: str | None
    properties_json: str | None
    context_json: str | None

    def matches(self, match: EventMatch) -> bool:
        """Whether the event has the type, name and properties ``match`` asks for."""
        if match.type is not None and self.type != match.type:
            return False
        if match.name is not None and _normal(self.name) != _normal(match.name):
            return False
        if not match.where:
            return True
        properties = _object(self.properties_json)
        page = _object(self.context_json).get("page")
        fallback = page if isinstance(page, dict) else {}
        return all(
            _test(properties.get(t.property, fallback.get(t.property)), t) for t in match.where
        )


def _normal(name: str | None) -> str:
    return (name or "").lower().replace(" ", "_")


def _object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


def _test(value: Any, test: PropertyTest) -> bool:
    op, wanted = test.op, test.value
    if op == "is_null":
        return value is None
    if op == "not_null":
        return value is not None
    if value is None:
        return False
    if op in ("contains", "not_contains", "starts_with", "ends_with"):
        text, part = str(value).lower(), str(wanted).lower()
        found = {
            "contains": part in text,
            "not_contains": part not in text,
            "starts_with": text.startswith(part),
            "ends_with": text.endswith(part),
        }
        return found[op]
    if op in ("in", "not_in"):
        inside = value in wanted or str(value) in [str(w) for w in wanted]
        return inside if op == "in" else not inside
    if op in ("=", "!="):
        same = value == wanted or str(value) == str(wanted)
        return same if op == "=" else not same
    try:
        left, right = float(value), float(wanted)
    except (TypeError, ValueError):
        left, right = str(value), str(wanted)  # type: ignore[assignment]
    return bool(
        {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
    )
