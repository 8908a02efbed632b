"""Settings of activation (docs/activation.md): tags, delivery, e-mail, webhooks, pressure.

``[tags]`` sets the naming convention tags are checked against when created;
``[activation]`` how the outbox is delivered (retries, which private hosts may be
called, frequency caps, quiet hours, the public URL of unsubscribe links);
``[email]`` the SMTP server (its password comes from the environment, never the
file); ``[webhooks.NAME]`` each endpoint automations call by name.

Examples
--------
>>> settings = ActivationSection.model_validate(
...     {"frequency": {"email": {"max": 2, "days": 7}},
...      "quiet_hours": {"start": "21:00", "end": "08:00"}})
>>> settings.frequency["email"].max, settings.quiet_hours.start.hour
(2, 21)
>>> TagsSection.model_validate({"categories": {"intent": {"prefix": "intent-"}}}).categories[
...     "intent"].prefix
'intent-'
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cible.domain.schema import CHANNELS

#: Colours are written ``#rrggbb``.
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Names of tags, webhooks and automations: lower case, digits, hyphens, underscores.
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: Environment variable names.
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def check_name(value: str, what: str) -> str:
    """``value`` when it is a valid name (see :data:`NAME`), else ValueError naming ``what``."""
    if not NAME.match(value) or value.endswith("\n"):
        raise ValueError(
            f"{what} {value!r} is not a valid name: use lower-case letters, digits, hyphens "
            "and underscores (at most 64), such as 'hot-lead'"
        )
    return value


class TagCategory(_Strict):
    """``[tags.categories.NAME]``: a kind of tag and the prefix its names must carry."""

    prefix: str = ""
    description: str = ""


class TagsSection(_Strict):
    """``[tags]``: the naming convention checked when a tag is created.

    With ``categories`` set, a tag's category must be one of them and its name must
    start with that category's ``prefix``; ``require_category`` refuses tags without
    one. Without categories, any category is accepted.
    """

    categories: dict[str, TagCategory] = {}
    require_category: bool = False

    @field_validator("categories")
    @classmethod
    def _names(cls, value: dict[str, TagCategory]) -> dict[str, TagCategory]:
        for name in value:
            check_name(name, "tag category")
        return value


class FrequencyCap(_Strict):
    """At most ``max`` messages on one channel to one customer in ``days`` days."""

    max: Annotated[int, Field(ge=0, le=10_000)]
    days: Annotated[int, Field(gt=0, le=3_650)] = 7


class QuietHours(_Strict):
    """No message is sent between ``start`` and ``end`` (workspace time zone); they wait."""

    start: time
    end: time


class ActivationSection(_Strict):
    """``[activation]``: delivery of the outbox (webhooks, e-mail, notifications)."""

    #: Base URL of the served workspace as recipients reach it (unsubscribe links).
    public_url: str = "http://127.0.0.1:8000"
    #: Hosts or networks (``127.0.0.1``, ``10.0.0.0/8``, ``hooks.internal``) that
    #: webhooks may call although they are loopback, private or link-local.
    allow_hosts: list[str] = []
    #: Attempts before a delivery is given up (the first one included).
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    #: First retry after about this many seconds, doubling each time (with jitter)...
    retry_base_seconds: Annotated[float, Field(gt=0, le=3_600)] = 1.0
    #: ...up to this many.
    retry_max_seconds: Annotated[float, Field(gt=0, le=86_400)] = 3_600.0
    #: Seconds a webhook call may take.
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: Deliveries sent at once.
    concurrency: Annotated[int, Field(ge=1, le=1_000)] = 64
    #: Per channel (``email``, ``sms``...): at most so many messages per customer.
    frequency: dict[str, FrequencyCap] = {}
    #: Messages to customers wait outside these hours; team notifications do not.
    quiet_hours: QuietHours | None = None

    @field_validator("frequency")
    @classmethod
    def _channels(cls, value: dict[str, FrequencyCap]) -> dict[str, FrequencyCap]:
        known = CHANNELS
        for channel in value:
            if channel not in known:
                raise ValueError(f"unknown channel {channel!r} (one of {', '.join(known)})")
        return value


class EmailSection(_Strict):
    """``[email]``: the SMTP server e-mails leave through."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 25
    sender: str = "Cible <no-reply@example.com>"
    username: str | None = None
    #: Environment variable holding the SMTP password (never written in the file).
    password_env: str | None = None
    #: ``starttls`` upgrades a plain connection, ``tls`` connects encrypted, ``none``.
    security: Annotated[str, Field(pattern=r"^(none|starttls|tls)$")] = "none"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


class WebhookEndpoint(_Strict):
    """``[webhooks.NAME]``: an endpoint automations call, signed per Standard Webhooks.

    The signing secret (``whsec_...``, base64) is read from the environment variable
    ``secret_env``. ``personal_data`` says whether calls carry the customer's profile;
    when they do, the customer's consent for ``channel``/``purpose`` is checked at send
    time. A chat webhook (``format = "chat"``) receives ``{"text": ...}``.
    """

    url: str
    secret_env: str
    personal_data: bool = True
    channel: str = "email"
    purpose: str = "marketing"
    format: Annotated[str, Field(pattern=r"^(event|chat)$")] = "event"

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if not _ENV.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"webhook url {value!r} must start with http:// or https://")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel {value!r} (one of {', '.join(CHANNELS)})")
        return value


def check_webhook_names(value: dict[str, WebhookEndpoint]) -> dict[str, WebhookEndpoint]:
    """Webhook names are names (see :data:`NAME`)."""
    for name in value:
        check_name(name, "webhook")
    return value
