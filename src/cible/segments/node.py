"""The base of every model of the segment language, and the checks they share.

Examples
--------
>>> check_segment_id("lapsed-vip")
'lapsed-vip'
>>> not_empty([])
Traceback (most recent call last):
...
ValueError: needs at least one condition
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationInfo, model_validator

from cible.segments.limits import MAX_STRING
from cible.segments.vocabulary import Vocabulary, did_you_mean, short_repr

SEGMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
#: Non-empty text of at most 500 characters, never a number read as text.
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_STRING)]


def check_segment_id(value: str, what: str = "segment id") -> str:
    """Refuse a segment id that is not lower-case letters, digits and hyphens.

    Examples
    --------
    >>> check_segment_id("Lapsed VIP")
    Traceback (most recent call last):
    ...
    ValueError: 'Lapsed VIP' is not a valid segment id: use 1 to 64 lower-case letters, digits and hyphens, starting with a letter or a digit
    """  # noqa: E501
    if not SEGMENT_ID.match(value) or value.endswith("\n"):
        raise ValueError(
            f"{short_repr(value)} is not a valid {what}: use 1 to 64 lower-case letters, "
            "digits and hyphens, starting with a letter or a digit"
        )
    return value


def vocabulary_of(info: ValidationInfo) -> Vocabulary:
    """The vocabulary passed as validation context."""
    context = info.context
    vocabulary = context.get("vocabulary") if isinstance(context, Mapping) else None
    if not isinstance(vocabulary, Vocabulary):
        raise ValueError(
            "a definition is checked against a Vocabulary: build it with parse_definition"
        )
    return vocabulary


def not_empty(value: Any) -> Any:
    """Refuse an empty list of conditions (a ``mode="before"`` validator).

    Checked before the items rather than with ``min_length``, which pydantic also
    reports, spuriously, when an item of a non-empty list is invalid.
    """
    if isinstance(value, list | tuple) and not value:
        raise ValueError("needs at least one condition")
    return value


class Node(BaseModel):
    """Base of every model of the language: immutable, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Checked here rather than left to extra="forbid" so that the message can
        # suggest the key that was meant.
        if isinstance(data, Mapping):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in allowed:
                    hint = did_you_mean(key, allowed)
                    raise ValueError(f"unknown key {short_repr(key)}{hint}")
        return data
