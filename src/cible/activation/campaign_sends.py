r"""Sending a live campaign's variants: one delivery per eligible customer of a variant.

A launch (:mod:`cible.activation.campaigns`) stores each targeted customer's arm and
whether they were eligible. :func:`send_campaign` turns the eligible customers of the
variant arms into ``deliveries`` rows, the same ones automations queue, which the
server's delivery worker sends at least once, checking consent, quiet hours and
frequency caps at that moment (:mod:`cible.activation.deliveries`). The holdout is
counted, never sent.

- A variant with a ``template`` on the ``email`` channel becomes an ``email`` delivery
  to the customer's address, rendered now for that customer as an automation renders
  it (the sandboxed template with the customer's context and unsubscribe link), with
  the campaign and variant in its headers (``X-Cible-Campaign``, ``X-Cible-Variant``)
  so that opens and clicks can be tied back to the arm.
- Any other variant (a ``message`` kept in another tool, or a channel Cible does not
  send) becomes a ``webhook`` delivery to the campaign's ``webhook``, carrying the
  campaign, variant, message or template reference, offer, customer id and only the
  contact fields the channel needs (none when the endpoint is declared without
  personal data).

Each delivery's idempotency key is ``campaign:{id}:{customer_id}``: sending again
(after a relaunch added customers, say) queues the new customers only, never a second
message. Its ``source`` is ``campaign:{id}:{variant}``, which :func:`campaign_sends`
reads back per arm.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = (Path(ws.path) / "c.csv").write_text("customer_id,email\na,a@example.com\nb,\n")
...     _ = ws.imports.load("customers", Path(ws.path) / "c.csv")
...     _ = (Path(ws.path) / "k.csv").write_text("customer_id,channel,purpose,status\n"
...         "a,email,marketing,granted\nb,email,marketing,granted\n")
...     _ = ws.imports.load("consents", Path(ws.path) / "k.csv")
...     _ = ws.run(as_of=datetime(2025, 2, 1))
...     _ = ws.templates.add({"id": "hi", "name": "Hi", "subject": {"en": "Hi"},
...                           "html": {"en": "<p>Hi</p>"}})
...     _ = ws.campaigns.add({"id": "hello", "segments": ["lifecycle-prospect"],
...         "channel": "email", "start": "2025-01-01", "end": "2999-12-31",
...         "variants": [{"id": "v", "share": 1, "template": "hi"}]})
...     _ = ws.campaigns.launch("hello")
...     sent = ws.campaigns.send("hello")
...     again = ws.campaigns.send("hello")
>>> sent["arms"]["v"], again["arms"]["v"]
({'queued': 1, 'already_sent': 0, 'no_address': 1}, {'queued': 0, 'already_sent': 1, 'no_address': 1})
"""  # noqa: E501

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cible.activation.ad_platforms import sha256_hex
from cible.activation.campaign_definition import (
    HOLDOUT,
    CampaignDefinition,
    CampaignError,
    Variant,
)
from cible.activation.templates import RenderedMessage, TemplateRenderError
from cible.domain.activation_settings import WebhookEndpoint
from cible.store.deliveries import NewDelivery
from cible.store.store import Store

#: What the outcome of a campaign's deliveries is counted by (the table's statuses).
DELIVERY_STATUSES = ("pending", "delivered", "failed", "skipped")
#: The customer fields a webhook receives per channel: what reaching them there needs.
CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("phone",),
    "phone": ("phone",),
    "post": ("first_name", "last_name", "postal_code", "city", "region", "country"),
    "push": (),
    "ads": ("email", "phone"),
}
#: Fields a customer must have to be reached on a channel; ``ads`` needs one of its
#: two (see :data:`_ANY_OF`).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("phone",),
    "phone": ("phone",),
    "post": ("postal_code", "city"),
    "push": (),
    "ads": (),
}
_ANY_OF: dict[str, tuple[str, ...]] = {"ads": ("email", "phone")}
#: The event type of the webhook calls a campaign makes.
WEBHOOK_EVENT = "campaign.send"

#: ``render(template_id, customer_id, lang, extra)``: ``ws.templates.render_for``.
Renderer = Callable[[str, str, str | None, Mapping[str, Any] | None], RenderedMessage]
#: ``unsubscribe(customer_id, channel)``: the one-click unsubscribe URL.
Unsubscriber = Callable[[str, str], str]


@dataclass(frozen=True)
class SendContext:
    """What sending needs from the workspace besides its database.

    Attributes
    ----------
    render : callable
        A template rendered for one customer (``ws.templates.render_for``).
    unsubscribe : callable
        The unsubscribe link of a customer on a channel.
    webhooks : mapping
        ``[webhooks.NAME]`` of ``cible.toml``.
    zone : str
        The workspace's time zone: the day a campaign's dates are compared with.
    """

    render: Renderer
    unsubscribe: Unsubscriber
    webhooks: Mapping[str, WebhookEndpoint]
    zone: str = "UTC"


def today(now: datetime, zone: str) -> date:
    """The date in ``zone`` at ``now`` (naive UTC).

    Examples
    --------
    >>> today(datetime(2025, 3, 31, 22, 30), "Europe/Paris")
    datetime.date(2025, 4, 1)
    """
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()


def check_sendable(
    definition: CampaignDefinition, status: str, day: date, webhooks: Mapping[str, Any]
) -> None:
    """Raise unless the campaign may send on ``day``: live, within its dates, and with
    the webhook its variants need declared in ``cible.toml``.

    Raises
    ------
    CampaignError
        Saying why and what to do.

    Examples
    --------
    >>> from cible.activation.campaign_definition import parse_campaign
    >>> campaign = parse_campaign({"id": "x", "segments": ["vip"], "channel": "email",
    ...     "start": "2025-03-01", "end": "2025-03-31",
    ...     "variants": [{"id": "a", "share": 1, "template": "t"}]})
    >>> check_sendable(campaign, "live", date(2025, 4, 2), {})
    Traceback (most recent call last):
    ...
    cible.activation.campaign_definition.CampaignError: Campaign 'x' ended on 2025-03-31: nothing more is sent; change its end date to send again.
    """  # noqa: E501
    name = definition.id
    if status == "draft":
        raise CampaignError(
            f"Campaign {name!r} is a draft: launch it first (`cible campaigns launch {name}`)."
        )
    if status == "paused":
        raise CampaignError(
            f"Campaign {name!r} is paused: launch it again to resume, then send "
            f"(`cible campaigns launch {name}`)."
        )
    if status == "ended":
        raise CampaignError(f"Campaign {name!r} has ended: nothing more is sent.")
    if day < definition.start:
        raise CampaignError(
            f"Campaign {name!r} has not started yet: it starts on {definition.start} "
            f"(today is {day})."
        )
    if day > definition.end:
        raise CampaignError(
            f"Campaign {name!r} ended on {definition.end}: nothing more is sent; change "
            "its end date to send again."
        )
    definition.check_webhook()
    needs_webhook = any(definition.by_webhook(v) for v in definition.variants)
    if needs_webhook and definition.webhook not in webhooks:
        known = ", ".join(sorted(webhooks)) or "none yet"
        raise CampaignError(
            f"webhook: campaign {name!r} names the webhook {definition.webhook!r}, which is "
            f"not in cible.toml (known: {known}); add a [webhooks.{definition.webhook}] "
            "section or name another."
        )


def send_campaign(
    store: Store,
    definition: CampaignDefinition,
    status: str,
    context: SendContext,
    *,
    now: datetime,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Queue one delivery per eligible customer of each variant arm (see the module).

    Parameters
    ----------
    store : Store
    definition : CampaignDefinition
    status : str
        The campaign's status; only ``live`` sends.
    context : SendContext
    now : datetime
        Naive UTC moment: the deliveries are due then.
    dry_run : bool, default False
        Count only: nothing is rendered or written.

    Returns
    -------
    dict
        ``id``, ``dry_run``, ``arms`` (per variant: ``queued``, ``already_sent``,
        ``no_address``), ``holdout`` (eligible customers kept, not sent) and the
        totals ``queued``, ``already_sent``, ``no_address``.

    Raises
    ------
    CampaignError
        When the campaign may not send (:func:`check_sendable`), or a template fails
        for a customer (nothing is queued then).
    """
    check_sendable(definition, status, today(now, context.zone), context.webhooks)
    variants = {v.id: v for v in definition.variants}
    endpoint = context.webhooks.get(definition.webhook or "")
    fields = _fields(definition, endpoint)
    counts = {arm: Counter[str]() for arm in variants}
    holdout = 0
    deliveries: list[NewDelivery] = []
    for row in _targets(store, definition.id, fields):
        arm = str(row["arm"])
        if arm == HOLDOUT or arm not in variants:
            # An arm no longer in the definition cannot be: arms of a launched
            # campaign do not change. The holdout is kept, never sent.
            holdout += arm == HOLDOUT
            continue
        if row["already_sent"]:
            counts[arm]["already_sent"] += 1
            continue
        variant = variants[arm]
        if not _reachable(definition, variant, row, endpoint):
            counts[arm]["no_address"] += 1
            continue
        counts[arm]["queued"] += 1
        if not dry_run:
            deliveries.append(_delivery(definition, variant, row, context, endpoint, now))
    if deliveries:
        with store.transaction():
            store.enqueue_deliveries(deliveries, at=now)
    arms = {
        arm: {k: counts[arm][k] for k in ("queued", "already_sent", "no_address")}
        for arm in variants
    }
    return {
        "id": definition.id,
        "dry_run": dry_run,
        "arms": arms,
        "holdout": holdout,
        **{k: sum(a[k] for a in arms.values()) for k in ("queued", "already_sent", "no_address")},
    }


def campaign_sends(store: Store, definition: CampaignDefinition) -> dict[str, Any]:
    """A campaign's deliveries per variant arm and status, skips by reason.

    Returns
    -------
    dict
        ``id``, ``arms``: per variant ``queued`` (every delivery), one count per
        status of :data:`DELIVERY_STATUSES` and ``skipped_reasons`` (``no_consent``,
        ``withdrawn``, ``frequency_cap``...); ``holdout``: eligible customers kept.
    """
    arms: dict[str, dict[str, Any]] = {
        v.id: {"queued": 0, **dict.fromkeys(DELIVERY_STATUSES, 0), "skipped_reasons": {}}
        for v in definition.variants
    }
    for variant, _segment, status, reason, n in store.campaign_delivery_counts(definition.id):
        found = arms.setdefault(
            variant, {"queued": 0, **dict.fromkeys(DELIVERY_STATUSES, 0), "skipped_reasons": {}}
        )
        found["queued"] += n
        found[status] = found.get(status, 0) + n
        if status == "skipped":
            key = reason or "unknown"
            found["skipped_reasons"][key] = found["skipped_reasons"].get(key, 0) + n
    holdout = sum(
        n
        for arm, eligible, _reason, n in store.campaign_assignment_counts(definition.id)
        if arm == HOLDOUT and eligible
    )
    return {"id": definition.id, "arms": arms, "holdout": holdout}


def _fields(definition: CampaignDefinition, endpoint: WebhookEndpoint | None) -> tuple[str, ...]:
    """The customer fields read: the e-mail for e-mails, the channel's contact fields
    for webhook calls that may carry personal data."""
    wanted: list[str] = []
    for variant in definition.variants:
        if not definition.by_webhook(variant):
            wanted.append("email")
        elif endpoint is not None and endpoint.personal_data:
            wanted += CONTACT_FIELDS[definition.channel]
    return tuple(dict.fromkeys(wanted))


def _targets(store: Store, campaign_id: str, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Eligible customers of the campaign: arm, ``fields`` and whether a delivery with
    their key exists already, by customer id."""
    assigned = store.table("campaign_assignments")
    assigned = assigned.filter(
        (assigned.campaign_id == campaign_id) & assigned.eligible.fill_null(False)
    ).select("customer_id", "arm")
    prefix = f"campaign:{campaign_id}:"
    queued = store.table("deliveries")
    queued = (
        queued.filter(queued.idempotency_key.startswith(prefix))
        .select(sent_id=queued.idempotency_key.substr(len(prefix)))
        .distinct()
    )
    customers = store.table("customers")
    customers = customers.select(
        profile_id=customers.customer_id, **{f: customers[f] for f in fields}
    )
    joined = assigned.left_join(queued, assigned.customer_id == queued.sent_id).left_join(
        customers, assigned.customer_id == customers.profile_id
    )
    rows = (
        joined.select("customer_id", "arm", *fields, already_sent=joined.sent_id.notnull())
        .order_by("customer_id")
        .to_pyarrow()
    )
    found: list[dict[str, Any]] = rows.to_pylist()
    return found


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _reachable(
    definition: CampaignDefinition,
    variant: Variant,
    row: Mapping[str, Any],
    endpoint: WebhookEndpoint | None,
) -> bool:
    """Whether the customer has what the variant is sent to."""
    if not definition.by_webhook(variant):
        return _present(row.get("email"))
    if endpoint is None or not endpoint.personal_data:
        # The receiver reaches the customer by id, with data of its own.
        return True
    channel = definition.channel
    any_of = _ANY_OF.get(channel)
    if any_of and not any(_present(row.get(f)) for f in any_of):
        return False
    return all(_present(row.get(f)) for f in _REQUIRED[channel])


def _delivery(
    definition: CampaignDefinition,
    variant: Variant,
    row: Mapping[str, Any],
    context: SendContext,
    endpoint: WebhookEndpoint | None,
    now: datetime,
) -> NewDelivery:
    customer = str(row["customer_id"])
    key = f"campaign:{definition.id}:{customer}"
    source = f"campaign:{definition.id}:{variant.id}"
    channel, purpose = definition.channel, definition.purpose
    offer = variant.offer.model_dump(mode="json", exclude_none=True) if variant.offer else None
    if not definition.by_webhook(variant):
        address = str(row["email"]).strip()
        template = variant.template or ""
        extra = {
            "unsubscribe_url": context.unsubscribe(customer, "email"),
            "campaign": definition.id,
            "variant": variant.id,
            "offer": offer,
        }
        try:
            message = context.render(template, customer, None, extra)
        except TemplateRenderError as exc:
            raise CampaignError(
                f"variants: template {template!r} of variant {variant.id!r} fails for "
                f"customer {customer!r}: {exc}; nothing was queued."
            ) from exc
        payload = {
            "to": address,
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "lang": message.lang,
            "template": template,
            "campaign": definition.id,
            "variant": variant.id,
            "headers": {"X-Cible-Campaign": definition.id, "X-Cible-Variant": variant.id},
        }
        return NewDelivery(
            key, "email", customer, address, _json(payload), channel, purpose, channel, source
        )
    body = {
        "type": WEBHOOK_EVENT,
        "timestamp": now.isoformat() + "Z",
        "data": {
            "campaign": definition.id,
            "variant": variant.id,
            "channel": channel,
            "purpose": purpose,
            **({"message": variant.message} if variant.message is not None else {}),
            **({"template": variant.template} if variant.template is not None else {}),
            "offer": offer,
            "customer_id": customer,
            **(
                {"customer": _contact(channel, row)}
                if endpoint is not None and endpoint.personal_data
                else {}
            ),
        },
    }
    target = definition.webhook or ""
    return NewDelivery(
        key, "webhook", customer, target, _json(body), channel, purpose, channel, source
    )


def _contact(channel: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the channel needs; for ads, SHA-256 digests of the e-mail and phone
    (what ad platforms match on), never the addresses themselves."""
    found = {f: row.get(f) for f in CONTACT_FIELDS[channel] if _present(row.get(f))}
    if channel == "ads":
        return {f"{f}_sha256": sha256_hex(str(v).strip().lower()) for f, v in found.items()}
    return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
