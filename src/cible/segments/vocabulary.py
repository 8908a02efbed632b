"""What a segment definition may refer to: traits, profile attributes, other segments.

A definition is checked against a :class:`Vocabulary` passed in by the caller, so this
package needs neither the trait computations nor the store. Each name a condition
reads resolves to an :class:`Operand`: a label for messages, the kind of values it
holds and, for enumerations, the values it may take.

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> vocabulary = Vocabulary(traits={"monetary_value": "float64"},
...                         registry=FieldRegistry(WorkspaceConfig()))
>>> trait_operand(vocabulary, "monetary_value").kind
<ValueKind.NUMBER: 'number'>
>>> trait_operand(vocabulary, "monetry_value")
Traceback (most recent call last):
...
ValueError: unknown trait 'monetry_value' (did you mean 'monetary_value'?)
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cible.domain.privacy_settings import special_category_problem
from cible.domain.registry import FieldRegistry
from cible.domain.schema import FieldType


@dataclass(frozen=True)
class Vocabulary:
    """The names a segment definition may use.

    Parameters
    ----------
    traits : Mapping of str to str
        Trait name -> Ibis dtype name (``"float64"``, ``"int64"``, ``"string"``,
        ``"timestamp"``; ``"date"`` and ``"boolean"`` are understood too).
    registry : FieldRegistry
        The workspace's fields; ``attribute`` conditions read the ``customers`` table.
    segments : Collection of str
        Ids of the segments that exist, for ``in_segment`` conditions.

    Examples
    --------
    >>> from cible.domain.config import WorkspaceConfig
    >>> from cible.domain.registry import FieldRegistry
    >>> v = Vocabulary({"recency_days": "float64"}, FieldRegistry(WorkspaceConfig()),
    ...                segments={"vip"})
    >>> sorted(v.segments)
    ['vip']
    """

    traits: Mapping[str, str]
    registry: FieldRegistry
    segments: Collection[str] = ()
    #: Tag names, for ``tag`` conditions; None when not checked (stored definitions
    #: still load after a tag is deleted: they then match nobody).
    tags: Collection[str] | None = None


class ValueKind(StrEnum):
    """The kinds of values a condition compares, whatever the column type behind."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Operand:
    """A name a condition reads, resolved.

    Parameters
    ----------
    label : str
        How messages name it: ``trait 'recency_days'``.
    kind : ValueKind
        Kind of the values it holds.
    choices : tuple of str
        Allowed values of an enumeration (lower case); empty when any value goes.
    """

    label: str
    kind: ValueKind
    choices: tuple[str, ...] = ()


_FIELD_KINDS = {
    FieldType.STRING: ValueKind.STRING,
    FieldType.ENUM: ValueKind.STRING,
    FieldType.INTEGER: ValueKind.NUMBER,
    FieldType.NUMBER: ValueKind.NUMBER,
    FieldType.AMOUNT: ValueKind.NUMBER,
    FieldType.BOOLEAN: ValueKind.BOOLEAN,
    FieldType.DATE: ValueKind.DATE,
    FieldType.TIMESTAMP: ValueKind.TIMESTAMP,
}


def did_you_mean(name: object, candidates: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix for the closest candidate, or ``""``.

    Examples
    --------
    >>> did_you_mean("vlaue", ["value", "op"])
    " (did you mean 'value'?)"
    >>> did_you_mean("zzz", ["value"])
    ''
    """
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def short_repr(value: object, limit: int = 60) -> str:
    """``repr`` of a name from the input, cut short so a message stays one line.

    Examples
    --------
    >>> short_repr("x" * 100, limit=8)
    "'xxxxxxx...'"
    """
    text = str(value)
    if len(text) > limit:
        return repr(text[: limit - 1] + "...")
    return repr(value)


def dtype_kind(dtype: str) -> ValueKind | None:
    """The :class:`ValueKind` of an Ibis dtype name, or None when rules cannot compare it.

    Examples
    --------
    >>> dtype_kind("int64"), dtype_kind("timestamp('UTC')"), dtype_kind("array<int64>")
    (<ValueKind.NUMBER: 'number'>, <ValueKind.TIMESTAMP: 'timestamp'>, None)
    """
    name = dtype.strip().lower().removeprefix("!")
    if name.startswith(("float", "int", "uint", "decimal")):
        return ValueKind.NUMBER
    if name == "string":
        return ValueKind.STRING
    if name.startswith("timestamp"):
        return ValueKind.TIMESTAMP
    if name == "date":
        return ValueKind.DATE
    if name in ("boolean", "bool"):
        return ValueKind.BOOLEAN
    return None


def trait_operand(vocabulary: Vocabulary, name: str) -> Operand:
    """Resolve a trait name; ``ValueError`` naming the closest trait when unknown."""
    dtype = vocabulary.traits.get(name)
    if dtype is None:
        hint = did_you_mean(name, vocabulary.traits)
        raise ValueError(f"unknown trait {short_repr(name)}{hint}")
    kind = dtype_kind(dtype)
    if kind is None:
        raise ValueError(f"trait {name!r} has type {dtype!r}, which rules cannot compare")
    return Operand(f"trait {name!r}", kind)


def refuse_special_categories(vocabulary: Vocabulary, value: object, op: str = "=") -> None:
    """Refuse a value naming a product category flagged as special-category data.

    A rule testing ``top_category`` or an event's ``category`` property against
    ``pharmacy`` targets people by their health as surely as a ``health`` attribute:
    a category listed in ``[privacy.special_categories]`` without a legal basis
    cannot appear in a rule (compared without case and surrounding spaces), nor,
    with a string operator matching a part of a value (``contains``, ``starts_with``,
    ``ends_with``), a fragment of its name
    (:func:`cible.domain.privacy_settings.special_category_problem`).

    Examples
    --------
    >>> from cible.domain.config import WorkspaceConfig
    >>> from cible.domain.registry import FieldRegistry
    >>> config = WorkspaceConfig.model_validate(
    ...     {"privacy": {"special_categories": {"pharmacy": {"reveals": "health"}}}})
    >>> vocabulary = Vocabulary({}, FieldRegistry(config))
    >>> refuse_special_categories(vocabulary, ("books", " Pharmacy"))
    Traceback (most recent call last):
    ...
    ValueError: 'Pharmacy' is a product category flagged as special-category data (health) ...
    """
    problem = special_category_problem(vocabulary.registry.special_categories, value, op)
    if problem is not None:
        raise ValueError(problem)


def attribute_operand(vocabulary: Vocabulary, name: str) -> Operand:
    """Resolve a customer attribute; refuse unknown and special-category fields.

    Raises
    ------
    ValueError
        When the attribute is not declared, is special-category data without a
        recorded legal basis, or holds JSON.
    """
    customers = vocabulary.registry.table("customers")
    try:
        field = customers.field(name)
    except KeyError:
        hint = did_you_mean(name, customers.names)
        raise ValueError(f"unknown attribute {short_repr(name)}{hint}") from None
    if not field.usable_for_targeting:
        raise ValueError(
            f"attribute {name!r} is special-category data (sensitivity 'special') with no "
            "recorded legal basis, so it cannot be used for targeting; record a legal_basis "
            "for it in cible.toml if the law allows it"
        )
    kind = _FIELD_KINDS.get(field.type)
    if kind is None:
        raise ValueError(f"attribute {name!r} holds {field.type.value}, which rules cannot compare")
    return Operand(f"attribute {name!r}", kind, field.values)
