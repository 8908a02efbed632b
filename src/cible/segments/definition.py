"""A segment definition: parsing YAML, JSON or a mapping into a checked model.

Every problem is reported with its path in the definition, ``where.all[2].count.op``,
and one sentence saying what is wrong, so that a marketer editing a file or a form
knows which line to change. Nothing in a definition is ever executed: it is data,
checked against the names a workspace knows (:class:`Vocabulary`).

Examples
--------
>>> from cible.domain.config import WorkspaceConfig
>>> from cible.domain.registry import FieldRegistry
>>> vocabulary = Vocabulary({"monetary_value": "float64", "recency_days": "float64"},
...                         FieldRegistry(WorkspaceConfig()), segments={"churn-risk-high"})
>>> definition = parse_definition('''
... id: lapsed-vip
... name: {en: Lapsed VIP, fr: VIP en sommeil}
... where:
...   all:
...     - {trait: monetary_value, op: ">=", value: 500}
...     - not: {in_segment: churn-risk-high}
... ''', vocabulary)
>>> definition.id, definition.label("fr")
('lapsed-vip', 'VIP en sommeil')
>>> parse_definition({"id": "x", "name": "X", "where": {"all": [
...     {"trait": "monetry_value", "op": ">=", "value": 500}]}}, vocabulary)
Traceback (most recent call last):
...
cible.segments.definition.SegmentDefinitionError: where.all[0].trait: unknown trait 'monetry_value' (did you mean 'monetary_value'?)
"""  # noqa: E501

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from cible.domain.errors import CibleError
from cible.segments.conditions import UNION_TAGS, Condition, explain_condition
from cible.segments.limits import MAX_SOURCE_BYTES, check_shape
from cible.segments.literals import describe
from cible.segments.node import Node, Text, check_segment_id
from cible.segments.vocabulary import Vocabulary, did_you_mean

#: Problems listed in one error message; the rest are counted.
MAX_PROBLEMS = 20

__all__ = [
    "LocalizedText",
    "Problem",
    "SegmentDefinition",
    "SegmentDefinitionError",
    "Vocabulary",
    "parse_definition",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition: where, and why.

    Examples
    --------
    >>> str(Problem("where.all[2].count.op", "'>>' is not one of '=', '<'"))
    "where.all[2].count.op: '>>' is not one of '=', '<'"
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class SegmentDefinitionError(CibleError):
    """A segment definition Cible cannot use; the message names each path and reason.

    Parameters
    ----------
    message : str
        The sentence shown to the user.
    problems : sequence of Problem
        The individual problems, for callers that point at them (a form, an editor).
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> SegmentDefinitionError:
        """An error listing ``problems``, one a line.

        Examples
        --------
        >>> print(SegmentDefinitionError.of([Problem("id", "missing"), Problem("where", "x")]))
        id: missing
        where: x
        """
        lines = [str(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        return cls("\n".join(lines), problems)


class LocalizedText(Node):
    """Text in English and French; at least one of the two."""

    en: Text | None = None
    fr: Text | None = None

    @model_validator(mode="after")
    def _some_text(self) -> LocalizedText:
        if self.en is None and self.fr is None:
            raise ValueError("give the text in at least one language: en or fr")
        return self


def _label_kind(data: Any) -> str | None:
    if isinstance(data, str):
        return "label-text"
    if isinstance(data, Mapping | LocalizedText):
        return "label-localized"
    return None


#: A name or description: plain text, or ``{en: ..., fr: ...}``.
Label = Annotated[
    Annotated[Text, Tag("label-text")] | Annotated[LocalizedText, Tag("label-localized")],
    Discriminator(
        _label_kind,
        custom_error_type="label",
        custom_error_message="expected text or a mapping {en: ..., fr: ...}",
    ),
]

#: Union tags in error locations, left out of the paths shown.
_TAGS = UNION_TAGS | {"label-text", "label-localized"}

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class SegmentDefinition(Node):
    """A rule segment: who belongs, and how it is shown.

    Build it with :func:`parse_definition`, which checks names against a
    :class:`Vocabulary`.

    Attributes
    ----------
    id : str
        Lower-case letters, digits and hyphens, at most 64 characters.
    name, description : str or LocalizedText
        Shown in the UI; ``description`` is optional.
    dimension : str or None
        Segments of one exclusive dimension do not overlap.
    priority : int or None
        Higher wins inside an exclusive dimension.
    color : str or None
        ``#rrggbb``.
    where : condition
        Who belongs (see :mod:`cible.segments.conditions`).
    """

    id: Text
    name: Label
    dimension: Text | None = None
    priority: Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)] | None = None
    color: Text | None = None
    description: Label | None = None
    where: Condition

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_segment_id(value)

    @field_validator("dimension")
    @classmethod
    def _dimension(cls, value: str | None) -> str | None:
        return None if value is None else check_segment_id(value, "dimension")

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is not None and (not _COLOR.match(value) or value.endswith("\n")):
            raise ValueError(f"{value!r} is not a colour: use #rrggbb, such as '#d9480f'")
        return value

    def label(self, language: str = "en") -> str:
        """The name in ``language`` (``en`` or ``fr``), else in the other one.

        Examples
        --------
        >>> from cible.domain.config import WorkspaceConfig
        >>> from cible.domain.registry import FieldRegistry
        >>> v = Vocabulary({}, FieldRegistry(WorkspaceConfig()))
        >>> parse_definition({"id": "a", "name": {"fr": "Fidèles"},
        ...                   "where": {"consent": "email"}}, v).label("en")
        'Fidèles'
        """
        if isinstance(self.name, str):
            return self.name
        texts = (self.name.fr, self.name.en) if language == "fr" else (self.name.en, self.name.fr)
        return next((text for text in texts if text), self.id)

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain JSON-ready data, which :func:`parse_definition` reads back."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data


def parse_definition(source: str | Mapping[str, Any], vocabulary: Vocabulary) -> SegmentDefinition:
    """Parse and check a segment definition.

    Parameters
    ----------
    source : str or Mapping
        YAML or JSON text, or the already parsed mapping.
    vocabulary : Vocabulary
        Traits, attributes and segments the definition may refer to.

    Returns
    -------
    SegmentDefinition
        With values normalised (timestamps as naive UTC datetimes, enumeration values
        lower case).

    Raises
    ------
    SegmentDefinitionError
        Naming the path and the reason of every problem found.
    """
    data = _load(source)
    shape = check_shape(data.get("where"))
    if shape is not None:
        raise SegmentDefinitionError.of([Problem(*shape)])
    segment_id = data.get("id")
    context = {
        "vocabulary": vocabulary,
        "segment_id": segment_id if isinstance(segment_id, str) else None,
    }
    try:
        return SegmentDefinition.model_validate(data, context=context)
    except ValidationError as exc:
        raise SegmentDefinitionError.of(problems(exc)) from None


def _load(source: object) -> dict[Any, Any]:
    """The mapping a definition text holds."""
    if isinstance(source, Mapping):
        return dict(source)
    if not isinstance(source, str):
        raise SegmentDefinitionError(
            f"definition: expected YAML or JSON text or a mapping, got {describe(source)}"
        )
    # Characters are never more than bytes: the cheap test first, for huge texts.
    size = len(source) if len(source) > MAX_SOURCE_BYTES else len(source.encode("utf-8", "replace"))
    if size > MAX_SOURCE_BYTES:
        raise SegmentDefinitionError(
            f"definition: {size} bytes of text, more than the {MAX_SOURCE_BYTES} a segment "
            "definition may hold"
        )
    data = _parse_text(source)
    if not isinstance(data, dict):
        raise SegmentDefinitionError(
            f"definition: expected a mapping with id, name and where, got {describe(data)}"
        )
    return data


def _parse_text(text: str) -> object:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            # A flow-style YAML mapping ({id: a, ...}) also starts with a brace; JSON
            # is told apart by its quoted first key.
            if stripped[1:].lstrip().startswith('"'):
                raise _json_error(exc) from None
        except ValueError as exc:
            # An integer of more than 4,300 digits, refused by Python's int parser.
            raise SegmentDefinitionError(f"definition: invalid JSON: {_plain(exc)}") from None
        except RecursionError:
            raise SegmentDefinitionError("definition: nested too deeply") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SegmentDefinitionError(f"definition: invalid YAML{where}: {exc.problem}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # PyYAML raises ValueError and friends for scalars it mistakes for dates
        # (2024-13-45) and the like; they are the text's fault, not ours.
        raise SegmentDefinitionError(f"definition: invalid YAML: {_plain(exc)}") from None
    except RecursionError:
        raise SegmentDefinitionError("definition: nested too deeply") from None


def _plain(exc: Exception) -> str:
    """The reason of a parser error, without Python's advice to programmers after ';'."""
    return str(exc).split(";")[0]


def _json_error(exc: json.JSONDecodeError) -> SegmentDefinitionError:
    return SegmentDefinitionError(
        f"definition: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    )


def problems(exc: ValidationError) -> list[Problem]:
    """Pydantic's errors as :class:`Problem` objects with paths a user can read."""
    return [Problem(_path(error), _reason(error)) for error in exc.errors(include_url=False)]


def _path(error: ErrorDetails) -> str:
    text = ""
    for part in error["loc"]:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _TAGS:
            text += f".{part}" if text else part
    return text or "definition"


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _reason(error: ErrorDetails) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "condition":
        return explain_condition(given)
    if kind == "missing":
        return "required, but missing"
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        choices = _QUOTED.findall(expected)
        hint = did_you_mean(given, choices) if isinstance(given, str) else ""
        listed = ", ".join(repr(choice) for choice in choices)
        return f"{describe(given)} is not one of {listed}{hint}"
    if kind == "string_type":
        return f"expected text, got {describe(given)}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"expected a whole number, got {describe(given)}"
    if kind == "model_type":
        return f"expected a mapping, got {describe(given)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {describe(given)}"
    message = error["msg"]
    return message[:1].lower() + message[1:]
