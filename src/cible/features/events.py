"""Email, web activity and engagement traits from behavioural events.

Event names are compared after normalisation (lower case, spaces to underscores),
so the demo's ``product_viewed`` and the Segment e-commerce spec's
``Product Viewed`` are the same event; :data:`EVENT_SPELLINGS` lists the few
spellings that differ by more than that, in one place. Events without a
``customer_id`` (anonymous visits not yet identified) and events at or after
``as_of`` are ignored.

A *session* here is a calendar day (UTC) with at least one browsing event: a page or
screen view, or one of :data:`BROWSING_EVENTS` (viewing, searching, comparing
products, the cart and checkout). Days are cheap to count on every backend and do
not depend on how each source cuts sessions; two visits on one day count once.

``promo_page_share`` is the share of page views (``type = page``) whose
``properties.path`` starts with one of ``[traits] promo_paths`` (compared without
case); it is NULL for a customer without page views, and for every customer when the
events have no ``properties`` column.

The events table is read by one group-by whose aggregates are conditional counts,
plus a second pass over the last 90 days for sessions (see :func:`_sessions`);
rates are derived in a following select.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> events = ibis.memtable(
...     {
...         "customer_id": ["a", "a", "a", None],
...         "type": ["track", "track", "page", "page"],
...         "event": ["Email Sent", "email_opened", None, None],
...         "timestamp": [datetime(2024, 1, d) for d in (1, 2, 25, 25)],
...     }
... )
>>> row = event_traits(events, datetime(2024, 2, 1)).to_pyarrow().to_pylist()[0]
>>> row["emails_received"], row["email_open_rate"], row["sessions_30d"]
(1, 1.0, 1)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import TraitsSection
from cible.features.clock import days_ago

#: Event columns this module needs; ``properties`` is read too when it exists.
EVENT_COLUMNS = ("customer_id", "type", "event", "timestamp")

#: Canonical event name -> every normalised spelling accepted for it. The canonical
#: names are the demo's; the others come from the Segment e-commerce and email specs.
EVENT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "product_viewed": ("product_viewed",),
    "product_added": ("product_added",),
    "comparison_viewed": ("comparison_viewed",),
    "email_sent": ("email_sent",),
    "email_opened": ("email_opened",),
    "email_clicked": ("email_clicked", "email_link_clicked"),
    "review_written": ("review_written", "product_reviewed"),
    "product_shared": ("product_shared",),
    "referral_sent": ("referral_sent",),
    "support_ticket_opened": ("support_ticket_opened",),
}

#: Message types that are views of a page (web) or a screen (mobile app).
BROWSING_TYPES = ("page", "screen")

#: Track events that show a customer browsing the shop, besides page views.
BROWSING_EVENTS = (
    "product_viewed",
    "product_added",
    "product_removed",
    "product_clicked",
    "product_list_viewed",
    "products_searched",
    "comparison_viewed",
    "cart_viewed",
    "checkout_started",
)

#: Lengths of the recent-activity windows, in days before ``as_of``.
WINDOWS_DAYS = (30, 90)

#: Traits that are 0, not NULL, for a customer without any event.
ZERO_WHEN_ABSENT = (
    "emails_received",
    *(f"sessions_{days}d" for days in WINDOWS_DAYS),
    *(f"product_views_{days}d" for days in WINDOWS_DAYS),
    *(f"cart_adds_{days}d" for days in WINDOWS_DAYS),
    "reviews_written",
    "social_shares",
    "support_tickets",
    "comparison_views",
)


def normalise_event_name(name: Any) -> Any:
    """Lower case, spaces to underscores: ``"Product Viewed"`` -> ``product_viewed``."""
    return name.lower().replace(" ", "_")


def event_traits(events: Any, as_of: datetime, settings: TraitsSection | None = None) -> Any:
    """Per-customer email, web activity and engagement traits as of ``as_of``.

    Parameters
    ----------
    events : ibis.Table
        Canonical ``events`` columns (at least :data:`EVENT_COLUMNS`).
    as_of : datetime
        Naive UTC moment; events at or after it are ignored. The windows of the
        ``_30d`` and ``_90d`` traits are ``[as_of - 30 days, as_of)`` and
        ``[as_of - 90 days, as_of)``.
    settings : TraitsSection, optional
        Which page paths are promotion pages (defaults otherwise).

    Returns
    -------
    ibis.Table
        One row per customer with at least one event before ``as_of``:
        ``customer_id`` and the event traits of :data:`cible.features.TRAITS`.
    """
    past = events.filter(events.customer_id.notnull(), events.timestamp < as_of)
    # Normalised once in a projection that the aggregate reads as a subquery; an
    # expression built inside each count would be recomputed per count.
    named = past.select(
        "customer_id",
        "timestamp",
        name=normalise_event_name(past.event),
        browsing=ibis.or_(*[past.type == kind for kind in BROWSING_TYPES]),
        page=past.type == "page",
        promo=_promo_page(past, settings or TraitsSection()),
    )

    def count(*canonical: str, since: Any = None) -> Any:
        condition = _named(named.name, canonical)
        if since is not None:
            condition &= named.timestamp >= since
        return named.count(where=condition)

    windowed: dict[str, Any] = {}
    for days in WINDOWS_DAYS:
        since = days_ago(as_of, days)
        windowed[f"product_views_{days}d"] = count("product_viewed", since=since)
        windowed[f"cart_adds_{days}d"] = count("product_added", since=since)

    totals = named.group_by("customer_id").aggregate(
        emails_received=count("email_sent"),
        _opened=count("email_opened"),
        _clicked=count("email_clicked"),
        **windowed,
        reviews_written=count("review_written"),
        social_shares=count("product_shared", "referral_sent"),
        support_tickets=count("support_ticket_opened"),
        comparison_views=count("comparison_viewed"),
        _pages=named.count(where=named.page),
        _promo_pages=named.count(where=named.page & named.promo),
    )
    sessions = _sessions(named, as_of).rename(_key="customer_id")
    joined = totals.left_join(sessions, totals.customer_id == sessions._key)
    sent = joined.emails_received.nullif(0).cast(dt.float64)
    pages = joined._pages.nullif(0).cast(dt.float64)
    return joined.select(
        "customer_id",
        "emails_received",
        email_open_rate=joined._opened / sent,
        email_click_rate=joined._clicked / sent,
        **{name: joined[name].fill_null(0) for name in sessions.columns if name != "_key"},
        **{name: joined[name] for name in windowed},
        reviews_written=joined.reviews_written,
        social_shares=joined.social_shares,
        support_tickets=joined.support_tickets,
        comparison_views=joined.comparison_views,
        promo_page_share=(
            joined._promo_pages / pages if "properties" in events.columns else ibis.null(dt.float64)
        ),
    )


def _sessions(named: Any, as_of: datetime) -> Any:
    """``sessions_<n>d`` per customer: distinct days with a browsing event.

    Counting distinct days inside the main group-by (``COUNT(DISTINCT ...) FILTER``)
    took ten times longer on DuckDB than this: the recent browsing events alone,
    grouped by customer and day, then the days counted per customer. A day counts in
    a window when its last browsing event falls inside it.
    """
    longest = days_ago(as_of, max(WINDOWS_DAYS))
    browsing = named.filter(
        named.timestamp >= longest, named.browsing | _one_of(named.name, BROWSING_EVENTS)
    )
    days = browsing.group_by(["customer_id", browsing.timestamp.date().name("day")]).aggregate(
        last=browsing.timestamp.max()
    )
    return days.group_by("customer_id").aggregate(
        **{
            f"sessions_{n}d": days.count(where=days.last >= days_ago(as_of, n))
            for n in WINDOWS_DAYS
        }
    )


def _promo_page(events: Any, settings: TraitsSection) -> Any:
    """The event is a page view of a promotion page (false without properties)."""
    if "properties" not in events.columns or not settings.promo_paths:
        return ibis.literal(False)
    properties = events.properties
    if properties.type().is_string():
        properties = properties.cast("json")
    prefixes = [prefix.lower() for prefix in settings.promo_paths]
    if all(_plain(prefix) for prefix in prefixes):
        # Compared on the value's JSON text, where a string is its characters between
        # quotes up to the first escape (which starts with a backslash): the same answer
        # as unwrapping the string with ``.str``, which on DuckDB parses the value twice
        # more and made this trait cost twice as much.
        path = properties["path"].cast(dt.string)
        prefixes = [f'"{prefix}' for prefix in prefixes]
    else:
        path = properties["path"].str
    # Read only for page views: other events carry no path worth parsing.
    path = ibis.cases((events.type == "page", path.lower()), else_="")
    return ibis.or_(*[path.startswith(prefix) for prefix in prefixes])


def _plain(text: str) -> bool:
    """Printable ASCII without quote or backslash: written unescaped in JSON text."""
    return all(" " <= char <= "~" and char not in '"\\' for char in text)


def _named(name: Any, canonical: tuple[str, ...]) -> Any:
    """The normalised ``name`` is any accepted spelling of the ``canonical`` events."""
    spellings = tuple(s for event in canonical for s in EVENT_SPELLINGS[event])
    return _one_of(name, spellings)


def _one_of(value: Any, options: tuple[str, ...]) -> Any:
    # An equality chain rather than ``isin``: DuckDB plans a long IN list as a join.
    return ibis.or_(*[value == option for option in options])
