"""The event condition: how often a customer did something, and with what properties.

Examples
--------
>>> condition = EventCondition.model_validate(
...     {"event": "Product Viewed", "where": {"property": "category", "op": "=",
...      "value": "shoes"}, "count": {"op": ">=", "value": 2}, "within_days": 30})
>>> condition.event_name, condition.filters[0].value, condition.count.holds(1)
('product_viewed', 'shoes', False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator

from cible.segments.literals import CountOp, Op, coerce_value, describe
from cible.segments.node import Node, Text, not_empty
from cible.segments.vocabulary import (
    Operand,
    ValueKind,
    Vocabulary,
    refuse_special_categories,
    short_repr,
)

# Ibis turns a JSON key into a backend path ("a.b" reads a nested key on DuckDB), so
# only plain identifiers are accepted as property names: they mean the same key
# everywhere.
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")


def normalise_event_name(name: str) -> str:
    """Lower case, spaces to underscores: the rule the compiler has the database apply.

    Examples
    --------
    >>> normalise_event_name("Product Viewed")
    'product_viewed'
    """
    return name.lower().replace(" ", "_")


class PropertyFilter(Node):
    """``{property: KEY, op, value}``: a test on one key of an event's properties.

    The value's kind picks how the property is read: a string compares with JSON
    strings, a number with JSON numbers, a boolean with JSON booleans; a property of
    another JSON type does not match. ``is_null`` matches a missing key and a JSON
    ``null``.
    """

    property: str
    op: Op
    value: Any = Field(default=None, validate_default=True)

    @field_validator("property")
    @classmethod
    def _plain_key(cls, value: str) -> str:
        if not PROPERTY_NAME.match(value) or value.endswith("\n"):
            raise ValueError(
                f"{short_repr(value)} is not a usable property name: use letters, digits, "
                "'_' and '-', starting with a letter or '_', at most 100 characters"
            )
        return value

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        op = info.data.get("op")
        if op is None:
            return value
        context = info.context
        if isinstance(context, Mapping) and isinstance(context.get("vocabulary"), Vocabulary):
            refuse_special_categories(context["vocabulary"], value)
        return coerce_value(op, value)


class PropertyGroup(Node):
    """``{all: [filters]}``: every property filter holds for the same event."""

    all: tuple[PropertyFilter, ...]

    _non_empty = field_validator("all", mode="before")(not_empty)


def _property_kind(data: Any) -> str:
    if isinstance(data, PropertyGroup) or (isinstance(data, Mapping) and "all" in data):
        return "property-group"
    return "property-filter"


PropertyWhere = Annotated[
    Annotated[PropertyFilter, Tag("property-filter")]
    | Annotated[PropertyGroup, Tag("property-group")],
    Discriminator(_property_kind),
]

_COUNT = Operand("an event count", ValueKind.NUMBER)


class Count(Node):
    """``{op, value}``: how many matching events a customer must have (default ``>= 1``)."""

    op: CountOp = ">="
    value: Any = Field(default=1, validate_default=True)

    @field_validator("value")
    @classmethod
    def _whole(cls, value: Any, info: ValidationInfo) -> Any:
        op = info.data.get("op")
        if op is None:
            return value
        coerced = coerce_value(op, value, _COUNT)
        for number in coerced if isinstance(coerced, tuple) else (coerced,):
            if not isinstance(number, int) or number < 0:
                raise ValueError(f"a count is a whole number >= 0, got {describe(number)}")
        return coerced

    def holds(self, count: int) -> bool:
        """Whether ``count`` events satisfy this comparison.

        Examples
        --------
        >>> Count(op="<", value=1).holds(0), Count().holds(0)
        (True, False)
        """
        value = self.value
        if self.op == "between":
            low, high = value
            return bool(low <= count <= high)
        outcome: bool = {
            "=": count == value,
            "!=": count != value,
            "<": count < value,
            "<=": count <= value,
            ">": count > value,
            ">=": count >= value,
        }[self.op]
        return outcome


class EventCondition(Node):
    """``{event: NAME, where, count, within_days}``: how often the customer did something.

    Counts the customer's events of that name (compared lower-cased, spaces as
    underscores) strictly before ``as_of`` and, with ``within_days``, at or after
    ``as_of - within_days``, that pass the property filters. ``count`` compares the
    number, zero included: ``{op: "=", value: 0}`` matches customers without any.
    """

    event: Text
    where: PropertyWhere | None = None
    count: Count = Count()
    within_days: Annotated[int, Field(strict=True, ge=1, le=36_500)] | None = None

    @property
    def event_name(self) -> str:
        """The event name normalised, for display (the database compares names itself)."""
        return normalise_event_name(self.event)

    @property
    def filters(self) -> tuple[PropertyFilter, ...]:
        """The property filters, all of which must hold."""
        if self.where is None:
            return ()
        if isinstance(self.where, PropertyGroup):
            return self.where.all
        return (self.where,)
