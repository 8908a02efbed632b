"""The shape of playbook rules and persona names, as read from YAML and ``cible.toml``.

A playbook rule recommends one action, in English and French, to the segments whose
persona card meets all its conditions. Conditions are data, never code: each one
reads one figure of the card (``figure``), the share of the segment's members who also
sit in other segments (``share_in``), the members' mean of a trait (``mean``) or that
mean over the whole base's (``lift``), and compares it with a number. Which trait and
segment names exist is checked where they are known (:mod:`cible.segments.personas`).

Examples
--------
>>> rule = PlaybookRule.model_validate({
...     "id": "win-back",
...     "when": [{"share_in": ["lifecycle-lapsed"], "op": ">=", "value": 0.5}],
...     "action": {"en": "Win-back offer by {channel}.", "fr": "Offre de retour par {channel}."},
... })
>>> rule.when[0].source
('share_in', 'lifecycle-lapsed')
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Card figures a condition may read.
Figure = Literal["size", "customer_share", "revenue_share", "avg_clv_12m", "avg_churn_risk"]
#: Placeholders an action text may hold, filled from the card.
PLACEHOLDERS = ("channel", "category")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalText(_Strict):
    """One text in English and in French."""

    en: Annotated[str, Field(min_length=1)]
    fr: Annotated[str, Field(min_length=1)]

    def as_dict(self) -> dict[str, str]:
        """``{"en": ..., "fr": ...}``."""
        return {"en": self.en, "fr": self.fr}


class PlaybookCondition(_Strict):
    """One test on a persona card: a value read from the card, compared with ``value``.

    Exactly one of ``figure``, ``share_in``, ``mean`` and ``lift`` says what is read.
    """

    figure: Figure | None = None
    share_in: Annotated[list[str], Field(min_length=1)] | None = None
    mean: str | None = None
    lift: str | None = None
    op: Literal[">", ">=", "<", "<=", "=", "!="] = ">="
    value: float

    @model_validator(mode="after")
    def _one_source(self) -> PlaybookCondition:
        given = [k for k in ("figure", "share_in", "mean", "lift") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a condition reads exactly one of figure, share_in, mean or lift "
                f"(got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def source(self) -> tuple[str, str]:
        """``(kind, name)``: what the condition reads (segment ids joined by commas)."""
        if self.share_in is not None:
            return "share_in", ",".join(self.share_in)
        for kind in ("figure", "mean", "lift"):
            name = getattr(self, kind)
            if name is not None:
                return kind, str(name)
        raise AssertionError("unreachable: checked by the validator")


class PlaybookRule(_Strict):
    """``[[playbook.rules]]``: an action recommended when every condition holds."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    when: list[PlaybookCondition] = []
    action: LocalText
    #: Applies only to a card that no other rule matched.
    fallback: bool = False

    @field_validator("action")
    @classmethod
    def _known_placeholders(cls, value: LocalText) -> LocalText:
        for text in (value.en, value.fr):
            for name in _PLACEHOLDER.findall(text):
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {text!r} "
                        f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
                    )
        return value


class PlaybookSection(_Strict):
    """``[playbook]``: rules added to (or replacing) the built-in playbook.

    A rule whose ``id`` is a built-in one replaces it; others come after the built-in
    rules, unless ``replace_builtin`` drops those altogether.
    """

    replace_builtin: bool = False
    #: Most actions shown on one card, first matching rules first.
    max_actions: Annotated[int, Field(ge=1, le=10)] = 3
    #: None rather than an empty list, so that a new cible.toml has no ``rules = []``
    #: line for a ``[[playbook.rules]]`` table to clash with.
    rules: list[PlaybookRule] | None = None

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, value: list[PlaybookRule] | None) -> list[PlaybookRule] | None:
        seen: set[str] = set()
        for rule in value or []:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return value
