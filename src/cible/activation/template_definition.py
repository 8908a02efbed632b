"""A message template definition: YAML, JSON or a mapping checked into a model.

A template is data: its id, name, default language, and per language a subject, an
HTML body and optionally a plain-text body, plus named *blocks* whose variant is
chosen by segment membership (the first variant whose segment the customer is in;
a variant without a segment is the default, and comes last). The texts are Jinja2
rendered in Cible's sandbox (:mod:`cible.activation.sandbox`), checked here: every
problem is reported with its path in the definition (``blocks.offer[0].html.fr``)
and one sentence, as segment definitions are.

Examples
--------
>>> definition = parse_template('''
... id: pricing-guide
... name: {en: Pricing guide, fr: Guide des tarifs}
... subject: {en: "Your guide, {{ customer.first_name | default('there') }}",
...           fr: "Votre guide"}
... html: {en: "<p>Hello</p>{{ block('offer') }}", fr: "<p>Bonjour</p>{{ block('offer') }}"}
... blocks:
...   offer:
...     - {segment: hot-leads, html: {en: "<p>Book a demo</p>", fr: "<p>Réservez</p>"}}
...     - {html: "<p>Read our blog</p>"}
... ''')
>>> definition.id, definition.label("fr"), [v.segment for v in definition.blocks["offer"]]
('pricing-guide', 'Guide des tarifs', ['hot-leads', None])
>>> parse_template({"id": "x", "name": "X", "subject": "Hi",
...                 "html": {"en": "{{ block('offr') }}"}})
Traceback (most recent call last):
...
cible.activation.template_definition.TemplateDefinitionError: html.en: unknown block 'offr' (the template's blocks: none)
"""  # noqa: E501

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from cible.activation.sandbox import called_names, check_text
from cible.domain.errors import CibleError
from cible.locale import LANGUAGES

#: Bytes of a definition's YAML or JSON text.
MAX_SOURCE_BYTES = 512_000
#: Characters of one text (a subject, a body, a block variant).
MAX_TEXT = 100_000
#: Blocks in a template, and variants in a block.
MAX_BLOCKS = 20
MAX_VARIANTS = 20
#: Problems listed in one error message; the rest are counted.
MAX_PROBLEMS = 20

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_BLOCK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: Text of at most :data:`MAX_TEXT` characters, never a number read as text.
Text = Annotated[str, Field(strict=True, max_length=MAX_TEXT)]
#: A name or description: at most 500 characters.
ShortText = Annotated[str, Field(strict=True, min_length=1, max_length=500)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition: where, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class TemplateDefinitionError(CibleError):
    """A template definition Cible cannot use; the message names each path and reason."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> TemplateDefinitionError:
        """An error listing ``problems``, one a line."""
        lines = [str(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        return cls("\n".join(lines), problems)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Model):
    """Text per language; plain text in a definition stands for every language."""

    en: Text | None = None
    fr: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        if isinstance(data, str):
            return dict.fromkeys(LANGUAGES, data)
        return data

    @model_validator(mode="after")
    def _some_text(self) -> Localized:
        if all(self.get(lang) is None for lang in LANGUAGES):
            raise ValueError("give the text in at least one language: en or fr")
        return self

    def get(self, lang: str) -> str | None:
        """The text in ``lang``, or None."""
        found: str | None = getattr(self, lang)
        return found

    def languages(self) -> list[str]:
        """The languages this text is given in."""
        return [lang for lang in LANGUAGES if self.get(lang) is not None]


class BlockVariant(_Model):
    """One version of a block: for members of ``segment``, or the default (no segment)."""

    segment: ShortText | None = None
    html: Localized
    text: Localized | None = None

    @field_validator("segment")
    @classmethod
    def _segment(cls, value: str | None) -> str | None:
        if value is not None and (not _ID.match(value) or value.endswith("\n")):
            raise ValueError(f"{value!r} is not a segment id")
        return value


class TemplateDefinition(_Model):
    """A message template. Build it with :func:`parse_template`.

    Attributes
    ----------
    id : str
        Lower-case letters, digits and hyphens, at most 64 characters.
    name, description : Localized
        Shown to people; ``description`` is optional.
    default_language : str
        ``en`` or ``fr``: used for customers whose language is unknown, and for parts
        missing in a customer's language.
    subject, html, text : Localized
        The message; without ``text``, the plain-text body is derived from the HTML.
    blocks : dict
        Block name -> variants, the first whose segment the customer is in wins.
    """

    id: ShortText
    name: Localized
    description: Localized | None = None
    default_language: Literal["en", "fr"] = "en"
    subject: Localized
    html: Localized
    text: Localized | None = None
    blocks: dict[str, list[BlockVariant]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value) or value.endswith("\n"):
            raise ValueError(
                f"{value!r} is not a valid template id: use 1 to 64 lower-case letters, "
                "digits and hyphens, starting with a letter or a digit"
            )
        return value

    @field_validator("blocks")
    @classmethod
    def _blocks(cls, value: dict[str, list[BlockVariant]]) -> dict[str, list[BlockVariant]]:
        if len(value) > MAX_BLOCKS:
            raise ValueError(f"{len(value)} blocks, more than the {MAX_BLOCKS} allowed")
        for name, variants in value.items():
            if not _BLOCK_NAME.match(name) or name.endswith("\n"):
                raise ValueError(
                    f"{name!r} is not a block name: use lower-case letters, digits and "
                    "underscores, starting with a letter"
                )
            if not variants or len(variants) > MAX_VARIANTS:
                raise ValueError(f"block {name!r} needs 1 to {MAX_VARIANTS} variants")
        return value

    def label(self, lang: str = "en") -> str:
        """The name in ``lang``, else in the other language."""
        return self.name.get(lang) or next(
            text for text in (self.name.get(other) for other in LANGUAGES) if text
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, which :func:`parse_template` reads back."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return data


def parse_template(source: str | Mapping[str, Any]) -> TemplateDefinition:
    """Parse and check a template definition (YAML or JSON text, or a mapping).

    Raises
    ------
    TemplateDefinitionError
        Naming the path and the reason of every problem found: shape, ids, the
        Jinja2 syntax of each text, statements the sandbox refuses, unknown blocks.
    """
    data = _load(source)
    try:
        definition = TemplateDefinition.model_validate(data)
    except ValidationError as exc:
        raise TemplateDefinitionError.of(
            [Problem(_path(e), _reason(e)) for e in exc.errors(include_url=False)]
        ) from None
    problems = _check_languages(definition) + _check_texts(definition)
    if problems:
        raise TemplateDefinitionError.of(problems)
    return definition


def _check_languages(definition: TemplateDefinition) -> list[Problem]:
    default = definition.default_language
    return [
        Problem(f"{part}.{default}", f"required in the default language {default!r}")
        for part in ("subject", "html")
        if getattr(definition, part).get(default) is None
    ]


def _texts(definition: TemplateDefinition) -> list[tuple[str, str, bool]]:
    """``(path, text, in a block)`` for every text of the definition."""
    found = []
    for part in ("subject", "html", "text"):
        localized = getattr(definition, part)
        for lang in localized.languages() if localized else ():
            found.append((f"{part}.{lang}", localized.get(lang), False))
    for name, variants in definition.blocks.items():
        for index, variant in enumerate(variants):
            for part in ("html", "text"):
                localized = getattr(variant, part)
                for lang in localized.languages() if localized else ():
                    path = f"blocks.{name}[{index}].{part}.{lang}"
                    found.append((path, localized.get(lang), True))
    return found


def _check_texts(definition: TemplateDefinition) -> list[Problem]:
    problems = [
        Problem(f"blocks.{name}[{index}].segment", "only the last variant may have no segment")
        for name, variants in definition.blocks.items()
        for index, variant in enumerate(variants[:-1])
        if variant.segment is None
    ]
    known = sorted(definition.blocks)
    listed = ", ".join(repr(name) for name in known) or "none"
    for path, text, in_block in _texts(definition):
        found = check_text(text)
        if found:
            problems += [Problem(path, reason) for reason in found]
            continue
        for name in called_names(text, "block"):
            if in_block:
                problems.append(Problem(path, "a block cannot show another block"))
            elif name is None:
                problems.append(Problem(path, "block() takes a block name in quotes"))
            elif name not in definition.blocks:
                problems.append(
                    Problem(path, f"unknown block {name!r} (the template's blocks: {listed})")
                )
    return problems


def _load(source: object) -> Any:
    if isinstance(source, Mapping):
        return dict(source)
    if not isinstance(source, str):
        raise TemplateDefinitionError(
            f"template: expected YAML or JSON text or a mapping, got {type(source).__name__}"
        )
    size = len(source.encode("utf-8", "replace"))
    if size > MAX_SOURCE_BYTES:
        raise TemplateDefinitionError(
            f"template: {size} bytes of text, more than the {MAX_SOURCE_BYTES} a template may hold"
        )
    try:
        data = json.loads(source) if source.lstrip().startswith('{"') else yaml.safe_load(source)
    except json.JSONDecodeError as exc:
        raise TemplateDefinitionError(
            f"template: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TemplateDefinitionError(f"template: invalid YAML{where}: {exc.problem}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        reason = str(exc).split(";")[0] or type(exc).__name__
        raise TemplateDefinitionError(f"template: invalid YAML or JSON: {reason}") from None
    if not isinstance(data, dict):
        raise TemplateDefinitionError(
            "template: expected a mapping with id, name, subject and html, "
            f"got {type(data).__name__}"
        )
    return data


def _path(error: ErrorDetails) -> str:
    text = ""
    for part in error["loc"]:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "template"


def _reason(error: ErrorDetails) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "string_type":
        return f"expected text, got {type(given).__name__}"
    if kind == "model_type":
        return f"expected text or a mapping {{en: ..., fr: ...}}, got {type(given).__name__}"
    if kind == "literal_error":
        return f"{given!r} is not one of {', '.join(repr(lang) for lang in LANGUAGES)}"
    message = error["msg"]
    return message[:1].lower() + message[1:]
