"""Web, app and e-mail events of the synthetic retailer, Segment style.

Five sources of events, each drawn for all customers at once:

* checkout: the cart adds, product views and cart page that precede a web or app order;
* browsing sessions: page views, product views, cart adds and comparisons, at a
  rhythm set by the customer's group (window shoppers browse much, and lately);
* campaigns: e-mails sent every two weeks to customers who accept them, opened and
  clicked at their group's rates;
* voice: reviews of bought products, shares, referrals and support tickets;
* anonymous visitors who never sign in.

Properties and contexts are JSON texts taken from a small vocabulary built once, so
millions of rows are assembled with array ``take`` instead of ``json.dumps`` per row.

Examples
--------
>>> EVENT_NAMES[1], EVENT_NAMES[4]
('product_viewed', 'email_sent')
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from cible.demo.catalogue import CATEGORIES, Catalogue
from cible.demo.consents import Consents
from cible.demo.groups import GROUP_NAMES, SALES_CHANNELS, column, draw_option
from cible.demo.purchases import Purchases
from cible.demo.textforms import join, padded, pick
from cible.demo.timeline import (
    DAY,
    MONTH_DAYS,
    FloatArray,
    IntArray,
    Period,
    at_shopping_hour,
    clip_to,
    spread,
)

#: Event names by code; code 0 is a page view (``type = page``, no event name).
EVENT_NAMES = (
    "",
    "product_viewed",
    "product_added",
    "comparison_viewed",
    "email_sent",
    "email_opened",
    "email_clicked",
    "review_written",
    "product_shared",
    "referral_sent",
    "support_ticket_opened",
)
_PAGE, _VIEW, _ADD, _COMPARE, _SENT, _OPENED, _CLICKED = range(7)
_REVIEW, _SHARE, _REFERRAL, _TICKET = range(7, 11)
_CONTEXTS = (
    {"channel": "web", "locale": "fr-FR"},
    {"channel": "app", "os": "iOS", "locale": "fr-FR"},
    {"channel": "app", "os": "Android", "locale": "fr-FR"},
    {"channel": "email"},
)
_WEB, _IOS, _ANDROID, _EMAIL = range(4)
_PATHS = ("/", "/promo", "/nouveautes", "/panier", "/compte", "/magasins", "/aide/livraison")
_PATH_WEIGHTS = (0.30, 0.08, 0.06, 0.05, 0.06, 0.03, 0.02)
_CATEGORY_PATH_WEIGHT = 0.05  # each category page, after the fixed paths
# Pages a group lands on more than others: (path, probability).
_FAVOURITE_PATH = {
    "bargain_hunter": ("/promo", 0.45),
    "premium_spender": ("/nouveautes", 0.30),
    "window_shopper": ("/nouveautes", 0.15),
}
_RATINGS = (0.04, 0.05, 0.11, 0.30, 0.50)
_NETWORKS = ("facebook", "instagram", "pinterest", "whatsapp", "x")
_NETWORK_P = (0.25, 0.35, 0.15, 0.20, 0.05)
_MEDIUMS = ("email", "whatsapp", "sms", "lien")
_TOPICS = ("livraison", "retour", "paiement", "produit défectueux", "compte")
#: Days between two e-mail campaigns.
CAMPAIGN_EVERY_DAYS = 14
# Lapsed customers still receive e-mails but hardly open them once gone.
_LAPSED_OPEN_FACTOR = 0.15
# Page views before sign-in carry only the device's anonymous id.
_SIGNED_OUT = 0.25
_EMAIL_CHUNK = 20_000

Tick = Callable[[int, int], None]


@dataclass
class _Batch:
    """Events as parallel integer arrays; ``-1`` marks a missing value."""

    at_ms: IntArray
    customer: IntArray
    anonymous: IntArray
    name: IntArray
    prop: IntArray
    context: IntArray

    @classmethod
    def of(
        cls,
        at: IntArray,
        customer: IntArray,
        anonymous: IntArray,
        name: int | IntArray,
        prop: IntArray,
        context: int | IntArray,
    ) -> _Batch:
        size = at.size
        return cls(
            at.astype(np.int64) * 1000,
            customer.astype(np.int64),
            anonymous.astype(np.int64),
            np.broadcast_to(np.asarray(name, dtype=np.int64), size).copy(),
            prop.astype(np.int64),
            np.broadcast_to(np.asarray(context, dtype=np.int64), size).copy(),
        )

    @classmethod
    def concat(cls, batches: list[_Batch]) -> _Batch:
        return cls(
            *(
                np.concatenate([getattr(b, f) for b in batches])
                for f in ("at_ms", "customer", "anonymous", "name", "prop", "context")
            )
        )


@dataclass(frozen=True)
class _Vocabulary:
    """All property texts, and where each family starts in the list."""

    texts: list[str]
    paths: int
    products: int
    reviews: int
    shares: int
    campaigns: int
    referrals: int
    tickets: int

    @classmethod
    def build(cls, catalogue: Catalogue, campaigns: int) -> _Vocabulary:
        texts: list[str] = []

        def add(items: list[dict[str, object]]) -> int:
            start = len(texts)
            texts.extend(json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in items)
            return start

        products = [
            {"product_id": pid, "category": CATEGORIES[cat], "price": cents / 100}
            for pid, cat, cents in zip(
                catalogue.ids, catalogue.category.tolist(), catalogue.cents.tolist(), strict=True
            )
        ]
        return cls(
            texts,
            paths=add([{"path": p} for p in _all_paths()]),
            products=add(list(products)),
            reviews=add([{**p, "rating": r} for p in products for r in range(1, 6)]),
            shares=add(
                [{"product_id": p["product_id"], "network": n} for p in products for n in _NETWORKS]
            ),
            campaigns=add([{"campaign_id": f"C{i + 1:03d}"} for i in range(campaigns)]),
            referrals=add([{"medium": m} for m in _MEDIUMS]),
            tickets=add([{"topic": t} for t in _TOPICS]),
        )


def _all_paths() -> list[str]:
    slugs = [
        unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode().replace(" ", "-")
        for c in CATEGORIES
    ]
    return [*_PATHS, *(f"/c/{s}" for s in slugs)]


def campaign_times(period: Period) -> IntArray:
    """Send instants of the e-mail campaigns: every two weeks, 10:00 UTC."""
    first = period.start + 3 * DAY + 10 * 3600
    return np.arange(first, period.end - DAY, CAMPAIGN_EVERY_DAYS * DAY, dtype=np.int64)


def record_events(
    rng: np.random.Generator,
    people: pd.DataFrame,
    customer_ids: pa.Array,
    purchases: Purchases,
    consents: Consents,
    catalogue: Catalogue,
    period: Period,
    tick: Tick | None = None,
) -> pa.Table:
    """Draw every event and return them as a table sorted by timestamp.

    Parameters
    ----------
    customer_ids : pyarrow.Array
        Customer id of each row of ``people``.
    tick : callable, optional
        ``tick(done, total)`` after each source of events.
    """
    report = tick or (lambda done, total: None)
    campaigns = campaign_times(period)
    vocabulary = _Vocabulary.build(catalogue, campaigns.size)
    size = len(people)
    device = np.where(rng.random(size) < 0.45, _IOS, _ANDROID)
    active = (people["group"].to_numpy() >= 0) & ~people["stale"].to_numpy()
    sources: list[Callable[[], _Batch]] = [
        lambda: _checkout(rng, purchases, vocabulary, device),
        lambda: _browsing(rng, people, active, catalogue, vocabulary, device),
        lambda: _campaigns(rng, people, active, consents, campaigns, vocabulary, period),
        lambda: _voice(rng, people, active, purchases, catalogue, vocabulary, device, period),
        lambda: _visitors(rng, size, int(active.sum()), vocabulary, period),
    ]
    batches = []
    for done, source in enumerate(sources, start=1):
        batches.append(source())
        report(done, len(sources) + 1)
    events = _Batch.concat(batches)
    table = _table(rng, events, customer_ids, size, vocabulary, period)
    report(len(sources) + 1, len(sources) + 1)
    return table


def _context(rng: np.random.Generator, app_share: FloatArray, device: IntArray) -> IntArray:
    return np.where(rng.random(app_share.size) < app_share, device, _WEB)


def _checkout(
    rng: np.random.Generator, purchases: Purchases, vocabulary: _Vocabulary, device: IntArray
) -> _Batch:
    orders, lines = purchases.orders, purchases.lines
    channel = orders["channel"].to_numpy()
    app = SALES_CHANNELS.index("app")
    online = (channel == SALES_CHANNELS.index("web")) | (channel == app)
    customer = orders["customer"].to_numpy()
    context = np.where(channel == app, device[customer], _WEB)
    when = orders["ordered_at"].to_numpy()
    # Half the carts are reached from a product page without a separate page view.
    shop = np.flatnonzero(online & (rng.random(online.size) < 0.5))
    cart = _Batch.of(
        when[shop] - rng.integers(10, 60, shop.size),
        customer[shop],
        customer[shop],
        _PAGE,
        np.full(shop.size, vocabulary.paths + _PATHS.index("/panier")),
        context[shop],
    )
    line_order = lines["order"].to_numpy()
    kept = online[line_order]
    order = line_order[kept]
    product = lines["product"].to_numpy()[kept]
    added_at = when[order] - rng.integers(60, 1500, order.size)
    add = _Batch.of(
        added_at,
        customer[order],
        customer[order],
        _ADD,
        vocabulary.products + product,
        context[order],
    )
    seen = rng.random(order.size) < 0.4
    view = _Batch.of(
        added_at[seen] - rng.integers(30, 900, int(seen.sum())),
        customer[order][seen],
        customer[order][seen],
        _VIEW,
        vocabulary.products + product[seen],
        context[order][seen],
    )
    return _Batch.concat([cart, add, view])


def _window(people: pd.DataFrame, rows: IntArray) -> tuple[IntArray, IntArray]:
    return people["active_from"].to_numpy()[rows], people["active_until"].to_numpy()[rows]


def _months(people: pd.DataFrame) -> FloatArray:
    span = people["active_until"].to_numpy() - people["active_from"].to_numpy()
    months: FloatArray = np.maximum(span, 0) / (MONTH_DAYS * DAY)
    return months


def _browsing(
    rng: np.random.Generator,
    people: pd.DataFrame,
    active: NDArray[np.bool_],
    catalogue: Catalogue,
    vocabulary: _Vocabulary,
    device: IntArray,
) -> _Batch:
    behaviour = np.maximum(people["behaviour"].to_numpy(), 0)
    mean = column("sessions_per_month")[behaviour] * _months(people)
    count = np.where(active, rng.poisson(mean * people["activity"].to_numpy()), 0)
    who = np.repeat(np.arange(len(people)), count)
    group = behaviour[who]
    low, high = _window(people, who)
    start = clip_to(
        at_shopping_hour(rng, spread(rng, low, high, column("recent_skew")[group])), low, high
    )
    context = _context(rng, column("app_share")[group], device[who])
    batches = []
    pages = 1 + rng.poisson(column("pages")[group])
    session = np.repeat(np.arange(who.size), pages)
    first = np.cumsum(pages) - pages
    offset = np.where(
        np.arange(session.size) == first[session], 0, rng.integers(5, 900, session.size)
    )
    signed_in = rng.random(session.size) >= _SIGNED_OUT
    batches.append(
        _Batch.of(
            start[session] + offset,
            np.where(signed_in, who[session], -1),
            who[session],
            _PAGE,
            vocabulary.paths + _draw_paths(rng, group[session]),
            context[session],
        )
    )
    views = rng.poisson(column("views")[group])
    adds = rng.binomial(views, column("adds")[group])
    compares = rng.poisson(column("comparisons")[group])
    for name, per_session, delay in (
        (_VIEW, views, 20),
        (_ADD, adds, 120),
        (_COMPARE, compares, 60),
    ):
        session = np.repeat(np.arange(who.size), per_session)
        at = start[session] + rng.integers(delay, delay + 1200, session.size)
        product = _browse_products(rng, group[session], at, catalogue)
        batches.append(
            _Batch.of(
                at,
                who[session],
                who[session],
                name,
                vocabulary.products + product,
                context[session],
            )
        )
    return _Batch.concat(batches)


def _draw_paths(rng: np.random.Generator, group: IntArray) -> IntArray:
    weights = np.array(_PATH_WEIGHTS + (_CATEGORY_PATH_WEIGHT,) * len(CATEGORIES))
    cdf = np.cumsum(weights / weights.sum())
    path = np.minimum(np.searchsorted(cdf, rng.random(group.size), side="right"), cdf.size - 1)
    for name, (favourite, share) in _FAVOURITE_PATH.items():
        chosen = (group == GROUP_NAMES.index(name)) & (rng.random(group.size) < share)
        path[chosen] = _PATHS.index(favourite)
    return path.astype(np.int64)


def _browse_products(
    rng: np.random.Generator, group: IntArray, at: IntArray, catalogue: Catalogue
) -> IntArray:
    category = draw_option(rng, group, "categories")
    budget = column("line_price")[group] * np.exp(rng.normal(0.0, 0.5, group.size))
    early = rng.random(group.size) < column("early_adopter")[group]
    return catalogue.pick(rng, category, budget, at, early)


def _campaigns(
    rng: np.random.Generator,
    people: pd.DataFrame,
    active: NDArray[np.bool_],
    consents: Consents,
    campaigns: IntArray,
    vocabulary: _Vocabulary,
    period: Period,
) -> _Batch:
    reachable = active & people["email_ok"].to_numpy() & (consents.email_from < campaigns[-1])
    audience = np.flatnonzero(reachable)
    behaviour = people["behaviour"].to_numpy()
    until = people["active_until"].to_numpy()
    batches = []
    for first in range(0, audience.size, _EMAIL_CHUNK):
        rows = audience[first : first + _EMAIL_CHUNK]
        group = behaviour[rows]
        shape = (rows.size, campaigns.size)
        sent = (
            (campaigns >= consents.email_from[rows, None])
            & (campaigns < consents.email_until[rows, None])
            & (rng.random(shape) < column("email_reach")[group, None])
        )
        opens = _beta(rng, column("email_open")[group])[:, None]
        opens = np.where(campaigns > until[rows, None], opens * _LAPSED_OPEN_FACTOR, opens)
        opened = sent & (rng.random(shape) < opens)
        clicked = opened & (rng.random(shape) < _beta(rng, column("email_click")[group])[:, None])
        # Flat positions of each mask are sorted, so an open finds its send (and a
        # click its open) by binary search, and follows it in time.
        sent_at, opened_at, clicked_at = (np.flatnonzero(m) for m in (sent, opened, clicked))
        sent_time = campaigns[sent_at % campaigns.size] + rng.integers(0, 1800, sent_at.size)
        opened_time = sent_time[np.searchsorted(sent_at, opened_at)] + np.maximum(
            rng.exponential(5 * 3600, opened_at.size).astype(np.int64), 60
        )
        clicked_time = opened_time[np.searchsorted(opened_at, clicked_at)] + rng.integers(
            5, 600, clicked_at.size
        )
        for name, flat, at in (
            (_SENT, sent_at, sent_time),
            (_OPENED, opened_at, opened_time),
            (_CLICKED, clicked_at, clicked_time),
        ):
            kept = at < period.end
            customer = rows[flat[kept] // campaigns.size]
            campaign = flat[kept] % campaigns.size
            batches.append(
                _Batch.of(
                    at[kept],
                    customer,
                    np.full(customer.size, -1),
                    name,
                    vocabulary.campaigns + campaign,
                    _EMAIL,
                )
            )
    return _Batch.concat(batches)


def _beta(rng: np.random.Generator, mean: FloatArray, strength: float = 15.0) -> FloatArray:
    """Per-customer rates scattered around their group's mean."""
    return rng.beta(mean * strength, (1.0 - mean) * strength)


def _voice(
    rng: np.random.Generator,
    people: pd.DataFrame,
    active: NDArray[np.bool_],
    purchases: Purchases,
    catalogue: Catalogue,
    vocabulary: _Vocabulary,
    device: IntArray,
    period: Period,
) -> _Batch:
    behaviour = np.maximum(people["behaviour"].to_numpy(), 0)
    exposure = _months(people) * people["activity"].to_numpy()
    batches = []
    for name, rate in ((_REVIEW, "reviews"), (_SHARE, "shares"), (_REFERRAL, "referrals")):
        count = np.where(active, rng.poisson(column(rate)[behaviour] * exposure), 0)
        who = np.repeat(np.arange(len(people)), count)
        group = behaviour[who]
        low, high = _window(people, who)
        at = at_shopping_hour(rng, spread(rng, low, high))
        context = _context(rng, column("app_share")[group], device[who])
        if name == _REVIEW:
            product, at = _reviewed(rng, who, at, purchases, catalogue, group, (low, high))
            rating = rng.choice(5, who.size, p=_RATINGS)
            prop = vocabulary.reviews + product * 5 + rating
        elif name == _SHARE:
            product = _browse_products(rng, group, at, catalogue)
            network = rng.choice(len(_NETWORKS), who.size, p=_NETWORK_P)
            prop = vocabulary.shares + product * len(_NETWORKS) + network
        else:
            prop = vocabulary.referrals + rng.integers(0, len(_MEDIUMS), who.size)
        at = clip_to(at, low, np.minimum(high, period.end))
        batches.append(_Batch.of(at, who, who, name, prop, context))
    count = np.where(active, rng.poisson(column("tickets")[behaviour] * exposure), 0)
    who = np.repeat(np.arange(len(people)), count)
    low, high = _window(people, who)
    at = clip_to(at_shopping_hour(rng, spread(rng, low, high)), low, high)
    topic = vocabulary.tickets + rng.integers(0, len(_TOPICS), who.size)
    batches.append(_Batch.of(at, who, np.full(who.size, -1), _TICKET, topic, -1))
    return _Batch.concat(batches)


def _reviewed(
    rng: np.random.Generator,
    who: IntArray,
    at: IntArray,
    purchases: Purchases,
    catalogue: Catalogue,
    group: IntArray,
    window: tuple[IntArray, IntArray],
) -> tuple[IntArray, IntArray]:
    """Reviews are of a product the customer bought, a few days after the order.

    Customers without a line review something they browsed, at the drawn instant.
    """
    product = _browse_products(rng, group, at, catalogue)
    lines = purchases.lines
    line_order = lines["order"].to_numpy()
    if line_order.size == 0 or who.size == 0:
        return product, at
    owner = purchases.orders["customer"].to_numpy()[line_order]
    by_owner = np.argsort(owner, kind="stable")
    held = np.bincount(owner, minlength=int(who.max()) + 1)
    first = np.cumsum(held) - held
    bought = np.flatnonzero(held[who] > 0)
    mine = who[bought]
    pick_line = first[mine] + np.floor(rng.random(bought.size) * held[mine]).astype(np.int64)
    chosen = by_owner[pick_line]
    product[bought] = lines["product"].to_numpy()[chosen]
    ordered = purchases.orders["ordered_at"].to_numpy()[line_order[chosen]]
    later = ordered + rng.integers(2 * DAY, 21 * DAY, bought.size)
    at = at.copy()
    at[bought] = clip_to(later, window[0][bought], window[1][bought])
    return product, at


def _visitors(
    rng: np.random.Generator, first: int, customers: int, vocabulary: _Vocabulary, period: Period
) -> _Batch:
    """Visitors who never sign in: page views under an anonymous id only."""
    visitors = round(0.3 * customers)
    views = 1 + rng.poisson(1.5, visitors)
    who = np.repeat(np.arange(visitors), views)
    start = np.full(who.size, period.start, dtype=np.int64)
    end = np.full(who.size, period.end, dtype=np.int64)
    at = clip_to(at_shopping_hour(rng, spread(rng, start, end)), start, end)
    context = np.where(rng.random(visitors) < 0.8, _WEB, _ANDROID)[who]
    paths = _draw_paths(rng, np.full(who.size, -1, dtype=np.int64))
    return _Batch.of(
        at, np.full(who.size, -1), first + who, _PAGE, vocabulary.paths + paths, context
    )


def _table(
    rng: np.random.Generator,
    events: _Batch,
    customer_ids: pa.Array,
    customers: int,
    vocabulary: _Vocabulary,
    period: Period,
) -> pa.Table:
    at_ms = events.at_ms + rng.integers(0, 1000, events.at_ms.size)
    # Events a few minutes before an order or after a session start may fall out of
    # the period; they are dropped rather than piled up on its edges.
    inside = (at_ms >= period.start * 1000) & (at_ms < period.end * 1000)
    order = np.flatnonzero(inside)[np.argsort(at_ms[inside], kind="stable")]
    at_ms = at_ms[order]
    name = events.name[order]
    delay = rng.integers(20, 3000, at_ms.size) + np.where(
        rng.random(at_ms.size) < 0.1, rng.integers(0, 600_000, at_ms.size), 0
    )
    visitors = int(events.anonymous.max(initial=customers - 1)) + 1
    anonymous = _anonymous_ids(rng, visitors)
    contexts = [json.dumps(c, separators=(",", ":")) for c in _CONTEXTS]
    names = pick([*EVENT_NAMES], np.where(name == _PAGE, -1, name))
    utc = pa.timestamp("ms", tz="UTC")
    return pa.table(
        {
            "message_id": padded(np.arange(at_ms.size, dtype=np.int64), 9, "evt-"),
            "customer_id": pick(customer_ids, events.customer[order]),
            "anonymous_id": pick(anonymous, events.anonymous[order]),
            "type": pick(["page", "track"], (name != _PAGE).astype(np.int64)),
            "event": names,
            "properties": pick(vocabulary.texts, events.prop[order]),
            "timestamp": pa.array(at_ms, type=pa.int64()).cast(utc),
            "received_at": pa.array(at_ms + delay, type=pa.int64()).cast(utc),
            "context": pick(contexts, events.context[order]),
        }
    )


def _anonymous_ids(rng: np.random.Generator, count: int) -> pa.Array:
    """Device ids like ``a3f1c2d4-...``: 16 random bytes written as a UUID."""
    raw = np.frombuffer(rng.bytes(16 * count).hex().encode("ascii"), dtype="S32").astype(str)
    parts = [
        np.strings.slice(raw, a, b) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    ]
    return join(*(pa.array(p) if i == 0 else join("-", pa.array(p)) for i, p in enumerate(parts)))
