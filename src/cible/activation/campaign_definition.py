"""The language of campaigns: target segments, a channel, variants and a holdout, as data.

A campaign is YAML or JSON, never code, validated by pydantic. It names the
**segments** it targets (a customer of any of them is targeted), one **channel** of
:data:`cible.domain.schema.CHANNELS` and the consent **purpose** (``marketing`` by
default), its **variants** (each an ``id``, a ``share`` of the targeted customers, a
``template`` or a ``message`` reference, and an optional **offer**: ``{kind:
full_price | discount | free_shipping | gift, value, category}``), a **holdout** share
(the control group: assigned, never sent), a **priority** (the higher keeps a customer
two campaigns with conflicting offers both target), ``start`` and ``end`` dates and a
**cost** model (``fixed``, ``per_send``, and ``discount_share``: the share of the
discount given that the campaign pays). The shares of the variants and the holdout
add to 1. ``status`` is ``draft`` for a new campaign; it changes by launching,
pausing and ending it, not by editing the file.

Cible sends e-mails itself: a variant with a ``template`` on the ``email`` channel.
Any other variant (a ``message`` kept in another tool, or a channel such as ``sms``,
``post`` or ``ads``) goes to the ``[webhooks.NAME]`` endpoint named by ``webhook``,
which is then required to send (:meth:`CampaignDefinition.check_webhook`).

Examples
--------
>>> campaign = parse_campaign('''
... id: spring-sale
... name: {en: Spring sale, fr: Soldes de printemps}
... segments: [champions]
... channel: email
... variants:
...   - {id: minus-20, share: 0.45, template: spring-20, offer: {kind: discount, value: 20}}
...   - {id: minus-30, share: 0.45, template: spring-30, offer: {kind: discount, value: 30}}
... holdout: 0.1
... priority: 5
... start: 2025-03-01
... end: 2025-03-31
... ''')
>>> campaign.arms()
(('minus-20', 0.45), ('minus-30', 0.45), ('holdout', 0.1))
>>> parse_campaign({"id": "x", "segments": ["vip"], "channel": "email",
...                 "variants": [{"id": "a", "share": 0.5, "template": "t"}],
...                 "holdout": 0.2, "start": "2025-01-01", "end": "2025-01-31"})
Traceback (most recent call last):
...
cible.activation.campaign_definition.CampaignError: variants: the shares of the variants and the holdout add to 0.7, not 1
"""  # noqa: E501

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cible.activation.automation_definition import LocalText
from cible.domain.activation_settings import check_name
from cible.domain.errors import CibleError
from cible.domain.schema import CHANNELS, PURPOSES

#: The arm of customers assigned to the control group (never sent).
HOLDOUT = "holdout"
#: Statuses of a campaign; ``launch``, ``pause`` and ``end`` move between them.
STATUSES = ("draft", "live", "paused", "ended")
#: Kinds of offer a variant may carry.
OFFER_KINDS = ("full_price", "discount", "free_shipping", "gift")
#: The category an offer covers when it names none.
ALL_CATEGORIES = "all"
#: The channels Cible sends itself (with a variant's template); the others go by webhook.
SENT_BY_CIBLE = ("email",)
#: Shares must add to 1 within this (decimal shares such as 0.45 are not exact).
SHARE_TOLERANCE = 1e-9
MAX_VARIANTS = 20


class CampaignError(CibleError):
    """A campaign that is not valid, or an action it refuses: the message says why."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Offer(_Node):
    """What a variant offers on a category: full price, a discount (``value`` percent),
    free shipping or a gift."""

    kind: Literal["full_price", "discount", "free_shipping", "gift"]
    value: float | None = Field(default=None, gt=0, le=100)
    category: str = Field(default=ALL_CATEGORIES, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _value(self) -> Offer:
        if self.kind == "discount" and self.value is None:
            raise ValueError("a discount needs a value (a percentage, such as 30)")
        if self.kind == "full_price" and self.value is not None:
            raise ValueError("a full-price offer takes no value")
        return self

    def covers(self, other: Offer) -> str | None:
        """The category both offers cover (the narrower one), or None when they do not meet.

        Examples
        --------
        >>> Offer(kind="gift").covers(Offer(kind="discount", value=30, category="shoes"))
        'shoes'
        >>> Offer(kind="gift", category="bags").covers(Offer(kind="gift", category="shoes"))
        """
        if self.category == other.category or other.category == ALL_CATEGORIES:
            return self.category
        return other.category if self.category == ALL_CATEGORIES else None

    def label(self) -> str:
        """The offer in a few words: ``discount 30% (shoes)``."""
        value = f" {self.value:g}%" if self.value is not None else ""
        return f"{self.kind.replace('_', ' ')}{value} ({self.category})"


class Variant(_Node):
    """One treated arm: its share, what is sent (a template or a message reference) and
    the offer it makes."""

    id: str
    share: float = Field(gt=0, le=1)
    template: str | None = None
    message: str | None = Field(default=None, min_length=1, max_length=500)
    offer: Offer | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        check_name(value, "variant id")
        if value == HOLDOUT:
            raise ValueError(f"{HOLDOUT!r} is the control group's arm, not a variant id")
        return value

    @model_validator(mode="after")
    def _content(self) -> Variant:
        if (self.template is None) == (self.message is None):
            raise ValueError("a variant names exactly one of 'template' or 'message'")
        return self


class CostModel(_Node):
    """What a campaign costs: a fixed amount, an amount per send, and the share of the
    discounts given that the campaign pays (1: all of it)."""

    fixed: float = Field(default=0, ge=0, allow_inf_nan=False)
    per_send: float = Field(default=0, ge=0, allow_inf_nan=False)
    discount_share: float = Field(default=1, ge=0, le=1)


class CampaignDefinition(_Node):
    """One campaign: targets, channel, variants, holdout, priority, dates, cost, status."""

    id: str
    name: LocalText | None = None
    description: str = Field(default="", max_length=2_000)
    segments: tuple[str, ...] = Field(min_length=1, max_length=50)
    channel: str
    purpose: str = "marketing"
    variants: tuple[Variant, ...] = Field(min_length=1, max_length=MAX_VARIANTS)
    holdout: float = Field(default=0, ge=0, lt=1)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    start: date
    end: date
    cost: CostModel = CostModel()
    webhook: str | None = None
    status: Literal["draft", "live", "paused", "ended"] = "draft"

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return {"en": value} if isinstance(value, str) else value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_name(value, "campaign id")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _one_of(value, CHANNELS, "channel")

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        return _one_of(value, PURPOSES, "purpose")

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value, "webhook")

    @model_validator(mode="after")
    def _whole(self) -> CampaignDefinition:
        if self.end < self.start:
            raise ValueError(f"the campaign ends ({self.end}) before it starts ({self.start})")
        seen: set[str] = set()
        for variant in self.variants:
            if variant.id in seen:
                raise ValueError(f"two variants are called {variant.id!r}")
            seen.add(variant.id)
        total = math.fsum(v.share for v in self.variants) + self.holdout
        if abs(total - 1) > SHARE_TOLERANCE:
            raise _SharesError(
                f"the shares of the variants and the holdout add to {total:.6g}, not 1"
            )
        return self

    def by_webhook(self, variant: Variant) -> bool:
        """Whether ``variant`` goes to the campaign's webhook (not an e-mail Cible sends).

        Examples
        --------
        >>> campaign = parse_campaign({"id": "x", "segments": ["vip"], "channel": "sms",
        ...     "webhook": "sms-gateway", "start": "2025-01-01", "end": "2025-01-31",
        ...     "variants": [{"id": "a", "share": 1, "message": "crm:sms-1"}]})
        >>> campaign.by_webhook(campaign.variants[0])
        True
        """
        return variant.template is None or self.channel not in SENT_BY_CIBLE

    def check_webhook(self) -> None:
        """Raise when a variant goes by webhook and the campaign names none.

        Checked when the campaign is sent, not when it is added: a campaign that is
        only assigned (its messages sent by another tool reading the assignment)
        needs no webhook.

        Raises
        ------
        CampaignError
            At ``webhook``, naming the variant and why it goes by webhook.

        Examples
        --------
        >>> parse_campaign({"id": "x", "segments": ["vip"], "channel": "sms",
        ...     "start": "2025-01-01", "end": "2025-01-31",
        ...     "variants": [{"id": "a", "share": 1, "template": "t"}]}).check_webhook()
        Traceback (most recent call last):
        ...
        cible.activation.campaign_definition.CampaignError: webhook: required to send variant 'a': Cible does not send the channel 'sms' itself; name the [webhooks.NAME] endpoint of cible.toml that sends it
        """  # noqa: E501
        if self.webhook is not None:
            return
        for variant in self.variants:
            if self.by_webhook(variant):
                why = (
                    "its message is kept in another tool"
                    if variant.message is not None
                    else f"Cible does not send the channel {self.channel!r} itself"
                )
                raise CampaignError(
                    f"webhook: required to send variant {variant.id!r}: {why}; name the "
                    "[webhooks.NAME] endpoint of cible.toml that sends it"
                )

    def arms(self) -> tuple[tuple[str, float], ...]:
        """``(arm, share)`` in the fixed order assignment uses: variants, then the holdout
        (when its share is not zero)."""
        arms = tuple((v.id, v.share) for v in self.variants)
        return (*arms, (HOLDOUT, self.holdout)) if self.holdout > 0 else arms

    def offers(self) -> tuple[Offer, ...]:
        """The offers its variants make (a holdout makes none)."""
        return tuple(v.offer for v in self.variants if v.offer is not None)

    def overlaps(self, other: CampaignDefinition) -> bool:
        """Whether the two campaigns run on a common day (dates inclusive)."""
        return self.start <= other.end and other.start <= self.end

    def label(self, lang: str = "en") -> str:
        """The name in ``lang``, else the id."""
        return self.name.get(lang) if self.name else self.id

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain JSON values (stored, and shown by ``show``)."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_defaults=True)
        data.pop("status", None)
        return data


class _SharesError(ValueError):
    """Shares that do not add to 1: reported at ``variants``."""


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        close = difflib.get_close_matches(value, allowed, 1, 0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown {what} {value!r}: one of {', '.join(allowed)}{hint}")
    return value


def parse_campaign(source: str | Mapping[str, Any]) -> CampaignDefinition:
    """Validate a campaign from YAML/JSON text or a mapping.

    Raises
    ------
    CampaignError
        Naming the first problem's path (``variants[1].offer.value``) and its reason.
    """
    data: Any = source
    if isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise CampaignError(f"not valid YAML or JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise CampaignError(
            "a campaign is a mapping with id, segments, channel, variants, start and end"
        )
    try:
        return CampaignDefinition.model_validate(data)
    except ValidationError as exc:
        raise CampaignError(_first_problem(exc)) from None


_FIELDS = {
    name
    for model in (CampaignDefinition, Variant, Offer, CostModel, LocalText)
    for name in model.model_fields
}


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    parts: list[str] = []
    for part in error["loc"]:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(error.get("ctx", {}).get("error"), _SharesError):
        parts = ["variants"]
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(parts[-1]).split("[")[0], _FIELDS, 1, 0.6)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    where = ".".join(parts)
    return f"{where}: {message}" if where else message


def definition_json(definition: CampaignDefinition) -> str:
    """The stored form of a definition (its status lives beside it)."""
    return json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)
