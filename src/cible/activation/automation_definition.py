"""The language of automations: a trigger, then steps, as data validated by pydantic.

An automation is YAML or JSON, never code. It names one **trigger**:

- ``{event: {type: page, where: [{property: url, op: contains, value: /tarifs}]}}``:
  an event received live (``track`` events by ``name``, pages by their properties);
- ``{segment: hot-leads, on: entered}`` (or ``exited``);
- ``{tag: hot-lead, on: added}`` (or ``removed``);
- ``{date: birth_date, offset_days: -7, yearly: true}``: a date of the profile or a
  trait (``expected_next_order_at``), checked once a day;

then **steps**, each a mapping with one key: ``add_tag``, ``remove_tag``, ``wait``
(``{hours: 2}``, ``{days: 3}``, or ``{until: CONDITION, max_days: 7}``), ``branch``
(``{if: CONDITION, then: [...], else: [...]}``), ``email`` (``{template: ID}``),
``webhook`` (``{name: sales}``), ``notify`` (a team, ``{webhook: NAME}`` or
``{email: ADDRESS}``, with ``text``) and ``end``. A **condition** is
``{in_segment: ID}``, ``{tag: NAME}``, ``{all: [...]}``, ``{any: [...]}`` or
``{not: ...}``, read on the customer's current memberships and tags. ``goal`` (a
condition) ends a customer's run as soon as it holds. ``reentry`` says whether a
customer may go through again: ``once``, ``always`` (never two runs at once), or
after ``reentry_days``.

Examples
--------
>>> automation = parse_automation('''
... id: pricing-visitors
... name: {en: Pricing page visitors, fr: Visiteurs de la page tarifs}
... trigger: {event: {type: page, where: [{property: url, op: contains, value: /tarifs}]}}
... steps:
...   - add_tag: hot-lead
...   - wait: {hours: 1}
...   - branch:
...       if: {in_segment: hot-leads}
...       then: [{email: {template: pricing-guide}}]
...       else: [{end: true}]
... ''')
>>> automation.trigger.kind, [type(s).__name__ for s in automation.steps]
('event', ['TagStep', 'WaitStep', 'BranchStep'])
>>> parse_automation({"id": "x", "trigger": {"segment": "vip"}, "steps": [{"emial": {}}]})
Traceback (most recent call last):
...
cible.activation.automation_definition.AutomationError: steps[0]: a step needs one of the keys add_tag, remove_tag, wait, branch, email, webhook, notify, end (did you mean 'email'?)
"""  # noqa: E501

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from cible.domain.activation_settings import check_name
from cible.domain.errors import CibleError

#: The most steps an automation holds, nested ones included, and its deepest nesting.
MAX_STEPS = 200
MAX_DEPTH = 8
#: Event property operators (values compared as the event carries them).
EVENT_OPS = (
    "=",
    "!=",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "in",
    "not_in",
    ">",
    ">=",
    "<",
    "<=",
    "is_null",
    "not_null",
)


class AutomationError(CibleError):
    """An automation that is not valid: the message names the path and the reason."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LocalText(_Node):
    """A text in English and French (one of them at least)."""

    en: str | None = None
    fr: str | None = None

    @model_validator(mode="after")
    def _some(self) -> LocalText:
        if self.en is None and self.fr is None:
            raise ValueError("give the text in en, fr or both")
        return self

    def get(self, lang: str) -> str:
        """The text in ``lang``, else the other language."""
        return (self.fr if lang == "fr" else self.en) or self.en or self.fr or ""


def _local(value: Any) -> Any:
    return {"en": value} if isinstance(value, str) else value


# -- conditions (branch, wait until, goal) --------------------------------------------


class InSegment(_Node):
    """``{in_segment: ID}``: the customer is a member now."""

    in_segment: str


class HasTag(_Node):
    """``{tag: NAME}``: the customer carries the tag now."""

    tag: str


class AllOf(_Node):
    """``{all: [...]}``."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_Node):
    """``{any: [...]}``."""

    any: tuple[Condition, ...] = Field(min_length=1)


class NotOf(_Node):
    """``{not: ...}``."""

    not_: Condition = Field(alias="not")


_CONDITION_KEYS = {
    "in_segment": "in-segment-condition",
    "tag": "tag-condition",
    "all": "all-condition",
    "any": "any-condition",
    "not": "not-condition",
}


def _condition_kind(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        kinds = {InSegment: "in_segment", HasTag: "tag", AllOf: "all", AnyOf: "any"}
        return _CONDITION_KEYS[kinds.get(type(data), "not")]
    if isinstance(data, Mapping):
        found = [key for key in _CONDITION_KEYS if key in data]
        return _CONDITION_KEYS[found[0]] if len(found) == 1 else None
    return None


Condition = Annotated[
    Annotated[InSegment, Tag("in-segment-condition")]
    | Annotated[HasTag, Tag("tag-condition")]
    | Annotated[AllOf, Tag("all-condition")]
    | Annotated[AnyOf, Tag("any-condition")]
    | Annotated[NotOf, Tag("not-condition")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="expected a condition: a mapping with one of the keys "
        "in_segment, tag, all, any, not",
    ),
]
for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


def condition_leaves(condition: BaseModel) -> Iterator[BaseModel]:
    """The ``in_segment`` and ``tag`` leaves of ``condition``."""
    if isinstance(condition, AllOf | AnyOf):
        for child in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from condition_leaves(child)
    elif isinstance(condition, NotOf):
        yield from condition_leaves(condition.not_)
    else:
        yield condition


# -- triggers -------------------------------------------------------------------------


class PropertyTest(_Node):
    """``{property: NAME, op, value}`` on an event's properties (``context.page`` too)."""

    property: str = Field(min_length=1, max_length=200)
    op: str = "="
    value: Any = None

    @field_validator("op")
    @classmethod
    def _op(cls, value: str) -> str:
        if value not in EVENT_OPS:
            raise ValueError(f"unknown operator {value!r} (one of {', '.join(EVENT_OPS)})")
        return value

    @model_validator(mode="after")
    def _value(self) -> PropertyTest:
        if self.op in ("in", "not_in") and not isinstance(self.value, list | tuple):
            raise ValueError(f"operator {self.op!r} needs a list of values")
        if self.op not in ("is_null", "not_null") and self.value is None:
            raise ValueError(f"operator {self.op!r} needs a value")
        return self


class EventMatch(_Node):
    """Which events start the automation: type, name and property tests (all must hold)."""

    type: Literal["track", "page", "screen", "identify", "group"] | None = None
    name: str | None = None
    where: tuple[PropertyTest, ...] = ()


class EventTrigger(_Node):
    """``{event: {...}}``."""

    kind: Literal["event"] = "event"
    event: EventMatch


class SegmentTrigger(_Node):
    """``{segment: ID, on: entered|exited}``."""

    kind: Literal["segment"] = "segment"
    segment: str
    on: Literal["entered", "exited"] = "entered"


class TagTrigger(_Node):
    """``{tag: NAME, on: added|removed}``."""

    kind: Literal["tag"] = "tag"
    tag: str
    on: Literal["added", "removed"] = "added"


class DateTrigger(_Node):
    """``{date: FIELD, offset_days, yearly}``: a profile date or a trait, once a day."""

    kind: Literal["date"] = "date"
    date: str
    offset_days: int = Field(default=0, ge=-366, le=366)
    yearly: bool = False


_TRIGGER_KEYS = {
    "event": "event-trigger",
    "segment": "segment-trigger",
    "tag": "tag-trigger",
    "date": "date-trigger",
}


def _trigger_kind(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        return _TRIGGER_KEYS.get(str(getattr(data, "kind", None)))
    if isinstance(data, Mapping):
        found = [key for key in _TRIGGER_KEYS if key in data]
        return _TRIGGER_KEYS[found[0]] if len(found) == 1 else None
    return None


Trigger = Annotated[
    Annotated[EventTrigger, Tag("event-trigger")]
    | Annotated[SegmentTrigger, Tag("segment-trigger")]
    | Annotated[TagTrigger, Tag("tag-trigger")]
    | Annotated[DateTrigger, Tag("date-trigger")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger",
        custom_error_message="expected a trigger: a mapping with one of the keys "
        "event, segment, tag, date",
    ),
]


# -- steps ----------------------------------------------------------------------------


class TagStep(_Node):
    """``{add_tag: NAME}`` or ``{remove_tag: NAME}``."""

    add_tag: str | None = None
    remove_tag: str | None = None

    @model_validator(mode="after")
    def _one(self) -> TagStep:
        if (self.add_tag is None) == (self.remove_tag is None):
            raise ValueError("a tag step holds one of add_tag or remove_tag")
        return self

    @property
    def tag(self) -> str:
        """The tag changed."""
        return self.add_tag or self.remove_tag or ""

    @property
    def action(self) -> str:
        """``added`` or ``removed``."""
        return "added" if self.add_tag else "removed"


class Wait(_Node):
    """A duration, or a condition to wait for (at most ``max_days``)."""

    minutes: float = Field(default=0, ge=0, le=527_040)
    hours: float = Field(default=0, ge=0, le=8_784)
    days: float = Field(default=0, ge=0, le=366)
    until: Condition | None = None
    max_days: float = Field(default=30, gt=0, le=366)

    @model_validator(mode="after")
    def _something(self) -> Wait:
        if self.until is None and not (self.minutes or self.hours or self.days):
            raise ValueError("a wait needs a duration (minutes, hours, days) or 'until'")
        return self

    @property
    def duration(self) -> timedelta:
        """How long a duration wait lasts."""
        return timedelta(minutes=self.minutes, hours=self.hours, days=self.days)


class WaitStep(_Node):
    """``{wait: {...}}``."""

    wait: Wait


class Branch(_Node):
    """``{if: CONDITION, then: [...], else: [...]}``."""

    if_: Condition = Field(alias="if")
    then: tuple[Step, ...] = ()
    else_: tuple[Step, ...] = Field(default=(), alias="else")


class BranchStep(_Node):
    """``{branch: {...}}``."""

    branch: Branch


class Email(_Node):
    """Send the template to the customer's e-mail address."""

    template: str


class EmailStep(_Node):
    """``{email: {template: ID}}``."""

    email: Email


class Webhook(_Node):
    """Call a ``[webhooks.NAME]`` endpoint with the customer and what happened."""

    name: str
    event: str = "automation.step"


class WebhookStep(_Node):
    """``{webhook: {name: NAME}}``."""

    webhook: Webhook


class Notify(_Node):
    """Tell a team: a chat webhook or an e-mail address, with a text (templated)."""

    webhook: str | None = None
    email: str | None = None
    text: LocalText

    _text = field_validator("text", mode="before")(_local)

    @model_validator(mode="after")
    def _one_target(self) -> Notify:
        if (self.webhook is None) == (self.email is None):
            raise ValueError("notify needs exactly one of 'webhook' or 'email'")
        return self


class NotifyStep(_Node):
    """``{notify: {...}}``."""

    notify: Notify


class EndStep(_Node):
    """``{end: true}``: the run ends here."""

    end: Literal[True]


_STEP_KEYS = {
    "add_tag": "tag-step",
    "remove_tag": "tag-step",
    "wait": "wait-step",
    "branch": "branch-step",
    "email": "email-step",
    "webhook": "webhook-step",
    "notify": "notify-step",
    "end": "end-step",
}
_STEP_MODELS: dict[type[BaseModel], str] = {
    TagStep: "tag-step",
    WaitStep: "wait-step",
    BranchStep: "branch-step",
    EmailStep: "email-step",
    WebhookStep: "webhook-step",
    NotifyStep: "notify-step",
    EndStep: "end-step",
}


def _step_kind(data: Any) -> str | None:
    if isinstance(data, BaseModel):
        return _STEP_MODELS.get(type(data))
    if isinstance(data, Mapping):
        found = [key for key in _STEP_KEYS if key in data]
        return _STEP_KEYS[found[0]] if len(found) == 1 else None
    return None


Step = Annotated[
    Annotated[TagStep, Tag("tag-step")]
    | Annotated[WaitStep, Tag("wait-step")]
    | Annotated[BranchStep, Tag("branch-step")]
    | Annotated[EmailStep, Tag("email-step")]
    | Annotated[WebhookStep, Tag("webhook-step")]
    | Annotated[NotifyStep, Tag("notify-step")]
    | Annotated[EndStep, Tag("end-step")],
    Discriminator(
        _step_kind,
        custom_error_type="step",
        custom_error_message="a step needs one of the keys " + ", ".join(_STEP_KEYS),
    ),
]
Branch.model_rebuild()


class AutomationDefinition(_Node):
    """One automation: id, names, trigger, steps, goal and re-entry policy."""

    id: str
    name: LocalText | None = None
    description: str = ""
    trigger: Trigger
    steps: tuple[Step, ...] = Field(min_length=1)
    goal: Condition | None = None
    reentry: Literal["once", "always"] = "always"
    reentry_days: float | None = Field(default=None, gt=0, le=3_650)

    _name = field_validator("name", mode="before")(_local)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_name(value, "automation id")

    @model_validator(mode="after")
    def _size(self) -> AutomationDefinition:
        count, depth = _measure(self.steps, 1)
        if count > MAX_STEPS:
            raise ValueError(f"at most {MAX_STEPS} steps (found {count})")
        if depth > MAX_DEPTH:
            raise ValueError(f"branches nest at most {MAX_DEPTH} deep")
        return self

    def label(self, lang: str = "en") -> str:
        """The name in ``lang``, else the id."""
        return self.name.get(lang) if self.name else self.id

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain JSON values (stored, and shown by ``show``)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["trigger"] = self.trigger.model_dump(
            mode="json", by_alias=True, exclude_defaults=True, exclude={"kind"}
        )
        return data


def _measure(steps: tuple[Any, ...], depth: int) -> tuple[int, int]:
    count, deepest = len(steps), depth
    for step in steps:
        if isinstance(step, BranchStep):
            for block in (step.branch.then, step.branch.else_):
                inner, inner_depth = _measure(block, depth + 1)
                count += inner
                deepest = max(deepest, inner_depth)
    return count, deepest


def walk_steps(steps: tuple[Any, ...], path: str = "steps") -> Iterator[tuple[str, Any]]:
    """``(path, step)`` for every step, nested ones included, in order."""
    for i, step in enumerate(steps):
        here = f"{path}[{i}]"
        yield here, step
        if isinstance(step, BranchStep):
            yield from walk_steps(step.branch.then, f"{here}.branch.then")
            yield from walk_steps(step.branch.else_, f"{here}.branch.else")


def parse_automation(source: str | Mapping[str, Any]) -> AutomationDefinition:
    """Validate an automation from YAML/JSON text or a mapping.

    Raises
    ------
    AutomationError
        Naming the first problem's path (``steps[2].branch.if``) and its reason.
    """
    data: Any = source
    if isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise AutomationError(f"not valid YAML or JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise AutomationError("an automation is a mapping with id, trigger and steps")
    try:
        return AutomationDefinition.model_validate(data)
    except ValidationError as exc:
        raise AutomationError(_first_problem(exc, data)) from None


_TAGS = {*_CONDITION_KEYS.values(), *_TRIGGER_KEYS.values(), *_STEP_KEYS.values()}


def _first_problem(exc: ValidationError, data: Any) -> str:
    error = exc.errors(include_url=False)[0]
    parts: list[str] = []
    node = data
    for part in error["loc"]:
        if (
            isinstance(part, str)
            and part in _TAGS
            and not (isinstance(node, Mapping) and part in node)
        ):
            continue  # a union's tag, not a key of the document
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part).rstrip("_"))
        node = _child(node, part)
    where = ".".join(parts)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("step", "condition", "trigger") and isinstance(node, Mapping):
        keys = _STEP_KEYS if error["type"] == "step" else _CONDITION_KEYS
        if error["type"] == "trigger":
            keys = _TRIGGER_KEYS
        hint = next(
            (m for key in node for m in difflib.get_close_matches(str(key), list(keys), 1, 0.6)),
            None,
        )
        if hint:
            message += f" (did you mean {hint!r}?)"
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}" if where else message


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def definition_json(definition: AutomationDefinition) -> str:
    """The stored form of a definition."""
    return json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)
