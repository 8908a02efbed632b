"""The conditions of the segment language (DESIGN.md section 5), as pydantic models.

A condition is a mapping holding exactly one of the keys ``trait``, ``attribute``,
``consent``, ``event``, ``in_segment``, ``tag``, ``all``, ``any`` or ``not``; that key picks
the model. Unknown keys are refused with the closest known one. Names are checked
against the :class:`~cible.segments.vocabulary.Vocabulary` passed as validation
context (``parse_definition`` does it), and values come out normalised (see
:mod:`cible.segments.literals`).

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> from cible.segments.vocabulary import Vocabulary
>>> from pydantic import TypeAdapter
>>> vocabulary = Vocabulary({"recency_days": "float64"}, FieldRegistry(WorkspaceConfig()))
>>> condition = TypeAdapter(Condition).validate_python(
...     {"any": [{"trait": "recency_days", "op": ">", "value": 90},
...              {"event": "Product Viewed", "within_days": 30}]},
...     context={"vocabulary": vocabulary})
>>> [type(c).__name__ for c in walk(condition)]
['AnyCondition', 'TraitCondition', 'EventCondition']
>>> condition.any[1].event_name, condition.any[1].count.op, condition.any[1].count.value
('product_viewed', '>=', 1)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Discriminator, Field, Tag, ValidationInfo, field_validator

from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES
from cible.segments.event_condition import EventCondition
from cible.segments.literals import Op, check_op, coerce_value, describe
from cible.segments.node import Node, Text, check_segment_id, not_empty, vocabulary_of
from cible.segments.vocabulary import (
    Operand,
    Vocabulary,
    attribute_operand,
    did_you_mean,
    refuse_special_categories,
    short_repr,
    trait_operand,
)


class _Comparison(Node):
    """``{SUBJECT: NAME, op, value}``: shared checks of trait and attribute conditions.

    Subclasses declare their subject field first, then ``op`` and ``value``, so that
    the subject is known when the operator and the value are checked.
    """

    subject: ClassVar[str]

    @classmethod
    def operand(cls, name: str, vocabulary: Vocabulary) -> Operand:
        """Resolve the subject name against the vocabulary."""
        raise NotImplementedError

    @field_validator("op", check_fields=False)
    @classmethod
    def _op_fits(cls, op: str, info: ValidationInfo) -> str:
        name = info.data.get(cls.subject)
        if name is not None:
            check_op(cls.operand(name, vocabulary_of(info)), op)
        return op

    @field_validator("value", check_fields=False)
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        name, op = info.data.get(cls.subject), info.data.get("op")
        if name is None or op is None:
            return value  # the subject or the operator is wrong, and already reported
        vocabulary = vocabulary_of(info)
        refuse_special_categories(vocabulary, value)
        return coerce_value(op, value, cls.operand(name, vocabulary))


class TraitCondition(_Comparison):
    """``{trait: NAME, op, value}``: compare a trait computed per customer.

    ``!=``, ``not_in`` and comparisons never match a customer whose trait is NULL;
    ``is_null`` does.
    """

    subject: ClassVar[str] = "trait"
    trait: Text
    op: Op
    value: Any = Field(default=None, validate_default=True)

    @classmethod
    def operand(cls, name: str, vocabulary: Vocabulary) -> Operand:
        """Resolve a trait name."""
        return trait_operand(vocabulary, name)

    @field_validator("trait")
    @classmethod
    def _known_trait(cls, name: str, info: ValidationInfo) -> str:
        cls.operand(name, vocabulary_of(info))
        return name


class AttributeCondition(_Comparison):
    """``{attribute: NAME, op, value}``: compare a customer profile attribute.

    Special-category attributes without a recorded legal basis are refused.
    """

    subject: ClassVar[str] = "attribute"
    attribute: Text
    op: Op
    value: Any = Field(default=None, validate_default=True)

    @classmethod
    def operand(cls, name: str, vocabulary: Vocabulary) -> Operand:
        """Resolve an attribute of the ``customers`` table."""
        return attribute_operand(vocabulary, name)

    @field_validator("attribute")
    @classmethod
    def _known_attribute(cls, name: str, info: ValidationInfo) -> str:
        cls.operand(name, vocabulary_of(info))
        return name


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        hint = did_you_mean(value, allowed)
        raise ValueError(f"unknown {what} {short_repr(value)} (one of {', '.join(allowed)}){hint}")
    return value


class ConsentCondition(Node):
    """``{consent: CHANNEL, purpose, status}``: the customer's current consent.

    The status is the latest record before ``as_of`` for the channel and purpose; a
    customer with no record matches no consent condition (wrap it in ``not`` for
    "not granted").
    """

    consent: Text
    purpose: Text = "marketing"
    status: Text = "granted"

    @field_validator("consent")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _one_of(value, CHANNELS, "channel")

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        return _one_of(value, PURPOSES, "purpose")

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return _one_of(value, CONSENT_STATUSES, "consent status")


class InSegmentCondition(Node):
    """``{in_segment: ID}``: membership of another segment."""

    in_segment: Text

    @field_validator("in_segment")
    @classmethod
    def _existing(cls, value: str, info: ValidationInfo) -> str:
        check_segment_id(value)
        context = info.context if isinstance(info.context, Mapping) else {}
        if value == context.get("segment_id"):
            raise ValueError(f"segment {value!r} cannot refer to itself")
        known = vocabulary_of(info).segments
        if value not in known:
            hint = did_you_mean(value, known)
            raise ValueError(f"unknown segment {value!r}{hint}")
        return value


class TagCondition(Node):
    """``{tag: NAME, within_days}``: the customer carries the tag (set within N days).

    The tag's state as of ``as_of`` is the latest change of the customer's tag ledger
    (``customer_tags``) up to that moment, so the past replays like consents do.
    """

    tag: Text
    within_days: int | None = Field(default=None, gt=0, le=36_500)

    @field_validator("tag")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        known = vocabulary_of(info).tags
        if known is not None and value not in known:
            hint = did_you_mean(value, known)
            raise ValueError(f"unknown tag {value!r}{hint}; create it with `cible tags add`")
        return value


class AllCondition(Node):
    """``{all: [...]}``: every condition holds."""

    all: tuple[Condition, ...]

    _non_empty = field_validator("all", mode="before")(not_empty)


class AnyCondition(Node):
    """``{any: [...]}``: at least one condition holds."""

    any: tuple[Condition, ...]

    _non_empty = field_validator("any", mode="before")(not_empty)


class NotCondition(Node):
    """``{not: {...}}``: the condition does not hold (customers with NULLs included)."""

    not_: Condition = Field(alias="not")


#: Key of a condition -> tag of its model in the discriminated union. Tags differ
#: from every key so that error locations can drop them unambiguously.
CONDITION_TAGS = {
    "trait": "trait-condition",
    "attribute": "attribute-condition",
    "consent": "consent-condition",
    "event": "event-condition",
    "in_segment": "in-segment-condition",
    "tag": "tag-condition",
    "all": "all-condition",
    "any": "any-condition",
    "not": "not-condition",
}
_MODELS = (
    TraitCondition,
    AttributeCondition,
    ConsentCondition,
    EventCondition,
    InSegmentCondition,
    TagCondition,
    AllCondition,
    AnyCondition,
    NotCondition,
)
_MODEL_TAGS: dict[type[BaseModel], str] = dict(zip(_MODELS, CONDITION_TAGS.values(), strict=True))


def condition_kind(data: Any) -> str | None:
    """The union tag of a condition, or None when its key is missing or ambiguous."""
    if isinstance(data, BaseModel):
        return _MODEL_TAGS.get(type(data))
    if not isinstance(data, Mapping):
        return None
    found = [key for key in CONDITION_TAGS if key in data]
    return CONDITION_TAGS[found[0]] if len(found) == 1 else None


def explain_condition(data: Any) -> str:
    """Why ``data`` is not a condition, for an error message.

    Examples
    --------
    >>> explain_condition({"trai": "x"})
    "a condition needs one of the keys trait, attribute, consent, event, in_segment, tag, all, any, not (did you mean 'trait'?)"
    """  # noqa: E501
    keys = ", ".join(CONDITION_TAGS)
    if not isinstance(data, Mapping):
        return f"expected a condition (a mapping with one of the keys {keys}), got {describe(data)}"
    found = [key for key in CONDITION_TAGS if key in data]
    if found:
        both = " and ".join(repr(key) for key in found)
        return f"a condition holds exactly one of the keys {keys}; found {both}"
    hints = (did_you_mean(key, CONDITION_TAGS) for key in data)
    hint = next((h for h in hints if h), "")
    return f"a condition needs one of the keys {keys}{hint}"


Condition = Annotated[
    Annotated[TraitCondition, Tag("trait-condition")]
    | Annotated[AttributeCondition, Tag("attribute-condition")]
    | Annotated[ConsentCondition, Tag("consent-condition")]
    | Annotated[EventCondition, Tag("event-condition")]
    | Annotated[InSegmentCondition, Tag("in-segment-condition")]
    | Annotated[TagCondition, Tag("tag-condition")]
    | Annotated[AllCondition, Tag("all-condition")]
    | Annotated[AnyCondition, Tag("any-condition")]
    | Annotated[NotCondition, Tag("not-condition")],
    Discriminator(
        condition_kind,
        custom_error_type="condition",
        custom_error_message="expected a condition: a mapping with exactly one of the keys "
        "trait, attribute, consent, event, in_segment, tag, all, any, not",
    ),
]

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()

#: Every tag a validation error location may hold, to be left out of paths.
UNION_TAGS = frozenset(CONDITION_TAGS.values()) | {"property-filter", "property-group"}


def children(condition: BaseModel) -> tuple[BaseModel, ...]:
    """The conditions directly inside ``condition``."""
    if isinstance(condition, AllCondition):
        return condition.all
    if isinstance(condition, AnyCondition):
        return condition.any
    if isinstance(condition, NotCondition):
        return (condition.not_,)
    return ()


def walk(condition: BaseModel) -> Iterator[BaseModel]:
    """Every condition in ``condition``, itself first, depth first."""
    yield condition
    for child in children(condition):
        yield from walk(child)
