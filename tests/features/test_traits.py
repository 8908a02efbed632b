"""compute_traits against a pandas reference written from the trait definitions.

The dataset is small and hand-made so that every rule has a row that exercises it:
a prospect, a one-order customer, two orders on one day, cancelled, returned, pending
and future orders, ties between channels and between categories, Segment spellings
of event names, events 29, 31, 89 and 91 days before ``as_of``, a day that straddles
the start of the 30-day window and events without a customer; promotion page paths
in several cases, product views before, at and long before a purchase, new, old and
undated products, and a high-tech category written in capitals.

The reference works customer by customer with plain pandas filters; it shares no
code with :mod:`cible.features`.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pytest

from cible.domain.config import TraitsSection
from cible.features import TRAITS, compute_traits, get_trait

AS_OF = datetime(2024, 6, 1, 12, 0)
# A replay date that cuts the data in the middle: orders and events after it vanish,
# one customer has not been created yet.
EARLIER = datetime(2024, 5, 1)


def ago(days: float, hours: float = 0) -> datetime:
    return AS_OF - timedelta(days=days, hours=hours)


SCHEMAS: dict[str, dict[str, str]] = {
    "customers": {"customer_id": "string", "email": "string", "created_at": "timestamp"},
    "orders": {
        "order_id": "string",
        "customer_id": "string",
        "ordered_at": "timestamp",
        "amount": "float64",
        "currency": "string",
        "discount_amount": "float64",
        "channel": "string",
        "status": "string",
    },
    "order_lines": {
        "order_id": "string",
        "product_id": "string",
        "quantity": "int64",
        "unit_price": "float64",
    },
    "products": {
        "product_id": "string",
        "name": "string",
        "category": "string",
        "launched_at": "timestamp",
    },
    "events": {
        "message_id": "string",
        "customer_id": "string",
        "anonymous_id": "string",
        "type": "string",
        "event": "string",
        "properties": "json",
        "timestamp": "timestamp",
    },
}

CUSTOMERS = [
    # (customer_id, created_at)
    ("p_prospect", datetime(2024, 1, 15)),
    ("c_one", None),
    ("c_multi", datetime(2023, 1, 1)),
    ("c_tie", datetime(2025, 1, 1)),  # created after as_of: tenure from first order
    ("c_cancel", datetime(2024, 5, 20)),  # created after EARLIER
    ("c_events", datetime(2024, 2, 1)),
    ("c_journey", datetime(2023, 1, 1)),  # c_multi's purchases, with views and promo pages
]

ORDERS = [
    # (order_id, customer_id, ordered_at, amount, discount_amount, channel, status)
    ("o1", "c_one", datetime(2024, 3, 10, 10), 50.0, 0.0, "web", "completed"),
    ("o2", "c_multi", datetime(2023, 6, 1, 9), 20.0, 0.0, "store", "completed"),
    ("o3", "c_multi", datetime(2024, 4, 20, 10), 30.0, 5.0, "app", "completed"),
    ("o4", "c_multi", datetime(2024, 4, 20, 18), 40.0, None, "app", None),  # same day
    ("o5", "c_multi", datetime(2024, 5, 10, 12), 25.0, 0.0, "web", "cancelled"),
    ("o6", "c_multi", datetime(2024, 5, 15, 12), 60.0, 10.0, "web", "returned"),
    ("o7", "c_multi", AS_OF, 99.0, 0.0, "web", "completed"),  # at as_of: excluded
    ("o8", "c_multi", datetime(2024, 7, 1), 500.0, 0.0, "web", "completed"),  # future
    ("o9", "c_multi", datetime(2024, 5, 25, 8), 15.0, 0.0, None, "completed"),
    ("o10", "c_tie", datetime(2024, 2, 1), 10.0, 0.0, "web", "completed"),
    ("o11", "c_tie", datetime(2024, 3, 1), 10.0, 2.5, "phone", "completed"),
    ("o12", "c_tie", datetime(2024, 4, 1), 10.0, 0.0, "web", "pending"),
    ("o13", "c_cancel", datetime(2024, 5, 21), 80.0, 0.0, "marketplace", "cancelled"),
    ("o14", "c_cancel", datetime(2024, 5, 22), 70.0, 0.0, "marketplace", "returned"),
    ("o15", "ghost", datetime(2024, 5, 1), 10.0, 0.0, "web", "completed"),
    ("o20", "c_journey", datetime(2023, 6, 1, 9), 20.0, 0.0, "store", "completed"),
    ("o21", "c_journey", datetime(2024, 4, 20, 10), 35.0, 0.0, "app", "completed"),
    ("o22", "c_journey", datetime(2024, 4, 20, 18), 17.0, 0.0, "app", "completed"),
    ("o23", "c_journey", datetime(2024, 5, 25, 8), 15.0, 0.0, "web", "completed"),
]

ORDER_LINES = [
    # (order_id, product_id, quantity, unit_price)
    ("o1", "p_book", 2, 10.0),
    ("o1", "p_toy", 1, 30.0),
    ("o1", "p_phone", 1, 5.0),
    ("o2", "p_book", 1, 20.0),
    ("o3", "p_toy", 1, 30.0),
    ("o3", "p_none", 1, 5.0),  # product without category
    ("o4", "p_book", 1, 10.0),
    ("o4", "p_unknown", 1, 7.0),  # product missing from products
    ("o5", "p_garden", 1, 25.0),  # cancelled order
    ("o8", "p_garden", 5, 100.0),  # future order
    ("o9", "p_garden", 1, None),  # no price: bought, no spend
    ("o10", "p_toy", 1, 10.0),
    ("o11", "p_book", 1, 10.0),
    ("o13", "p_toy", 1, 80.0),
    ("o15", "p_toy", 1, 10.0),
    ("o20", "p_book", 1, 20.0),
    ("o21", "p_toy", 1, 30.0),
    ("o21", "p_none", 1, 5.0),
    ("o22", "p_book", 1, 10.0),
    ("o22", "p_unknown", 1, 7.0),
    ("o23", "p_garden", 1, None),
]

PRODUCTS = [
    # (product_id, name, category, launched_at)
    ("p_book", "Roman", "books", datetime(2020, 1, 1)),
    # New for o1 (9 days), o3 (50 days); o10 was a pre-order.
    ("p_toy", "Toupie", "toys", datetime(2024, 3, 1)),
    ("p_garden", "Râteau", "garden", None),  # undated: counts in no early share
    ("p_none", "Mystère", None, datetime(2024, 4, 15)),
    ("p_phone", "Téléphone", "Electronics", datetime(2023, 1, 1)),
]

EVENTS = [
    # (customer_id, type, event, timestamp)
    ("c_one", "track", "email_sent", datetime(2024, 1, 5)),
    ("c_one", "track", "Email Sent", datetime(2024, 2, 5)),
    ("c_one", "track", "email_sent", datetime(2024, 5, 5)),
    ("c_one", "track", "Email Opened", datetime(2024, 1, 6)),
    ("c_one", "track", "email_opened", datetime(2024, 5, 6)),
    ("c_one", "track", "Email Link Clicked", datetime(2024, 1, 6, 1)),
    ("c_one", "track", "email_clicked", datetime(2024, 5, 6, 1)),
    ("c_multi", "page", None, ago(29)),
    ("c_multi", "track", "Product Viewed", ago(29, 2)),  # same day as the page
    ("c_multi", "page", None, ago(31)),
    ("c_multi", "page", None, ago(89)),
    ("c_multi", "page", None, ago(91)),
    ("c_multi", "track", "product_viewed", ago(2)),
    ("c_multi", "track", "product_viewed", ago(89)),
    ("c_multi", "track", "product_added", ago(31)),
    ("c_multi", "track", "product_added", ago(89)),
    ("c_multi", "track", "Product Added", ago(91)),
    ("c_multi", "track", "product_added", ago(29)),
    # The day the 30-day window starts: one event before the start, one after.
    ("c_multi", "page", None, ago(30, 1)),
    ("c_multi", "page", None, ago(30, -1)),
    # Exactly at the start of a window: inside it.
    ("c_multi", "track", "product_added", ago(30)),
    ("c_multi", "page", None, ago(90)),
    ("c_multi", "track", "review_written", ago(100)),
    ("c_multi", "track", "Product Reviewed", ago(10)),
    ("c_multi", "track", "product_shared", ago(50)),
    ("c_multi", "track", "referral_sent", ago(5)),
    ("c_multi", "track", "support_ticket_opened", ago(40)),
    ("c_multi", "track", "comparison_viewed", ago(60)),
    ("c_multi", "track", "Comparison Viewed", ago(1)),
    ("c_multi", "track", "email_sent", ago(3)),
    ("c_multi", "track", "product_viewed", AS_OF),  # at as_of: excluded
    ("c_multi", "page", None, AS_OF + timedelta(days=3)),  # future
    ("c_events", "track", "Product Viewed", ago(10)),
    ("c_events", "screen", None, ago(5)),
    ("c_events", "identify", None, ago(3)),
    ("c_events", "track", "wishlist_opened", ago(1)),
    ("c_events", "track", "support_ticket_opened", ago(70)),
    (None, "page", None, ago(1)),
    (None, "track", "product_viewed", ago(1)),
    (None, "track", "email_sent", ago(1)),
    ("ghost", "track", "product_viewed", ago(1)),
    ("c_journey", "page", None, ago(16)),  # a page without properties
]

PAGE = "page"
# Events with properties: (customer_id, type, event, properties, timestamp).
EVENTS_WITH_PROPERTIES = [
    # Promotion pages: prefix, capitals, a longer path; not a page; no path; future.
    ("c_journey", PAGE, None, {"path": "/promo/ete"}, ago(20)),
    ("c_journey", PAGE, None, {"path": "/PROMO"}, ago(15)),
    ("c_journey", PAGE, None, {"path": "/promotions"}, ago(14)),
    ("c_journey", PAGE, None, {"path": "/soldes"}, ago(13)),
    ("c_journey", PAGE, None, {"path": "/"}, ago(12)),
    ("c_journey", "track", "promo_clicked", {"path": "/promo"}, ago(11)),
    ("c_journey", PAGE, None, {"path": "/promo"}, AS_OF + timedelta(days=1)),
    ("c_events", PAGE, None, {}, ago(4)),
    ("c_events", PAGE, None, {"path": "/soldes/hiver"}, ago(6)),
    # Views of bought products. c_one, o1 (2024-03-10 10:00): p_book 2 h before,
    # p_toy 24 h before, p_phone never viewed. Median of 2 and 24: 13 hours.
    ("c_one", "track", "product_viewed", {"product_id": "p_book"}, datetime(2024, 3, 10, 8)),
    ("c_one", "track", "Product Viewed", {"product_id": "p_toy"}, datetime(2024, 3, 9, 10)),
    # c_journey, o21 (2024-04-20 10:00): p_toy first viewed 24 h before (then 1 h).
    ("c_journey", "track", "product_viewed", {"product_id": "p_toy"}, datetime(2024, 4, 19, 10)),
    ("c_journey", "track", "product_viewed", {"product_id": "p_toy"}, datetime(2024, 4, 20, 9)),
    # o22 (2024-04-20 18:00): p_book 10 days before; 50 days before is out of the
    # window; a view at the very moment of the order does not precede it.
    ("c_journey", "track", "product_viewed", {"product_id": "p_book"}, datetime(2024, 4, 10, 18)),
    ("c_journey", "track", "product_viewed", {"product_id": "p_book"}, datetime(2024, 3, 1, 18)),
    ("c_journey", "track", "product_viewed", {"product_id": "p_book"}, datetime(2024, 4, 20, 18)),
    # o23 (2024-05-25 08:00): p_garden first viewed on 2024-05-09 12:00, 380 hours.
    ("c_journey", "track", "product_viewed", {"product_id": "p_garden"}, datetime(2024, 5, 9, 12)),
    ("c_journey", "track", "product_viewed", {"product_id": "p_garden"}, datetime(2024, 5, 25, 7)),
    # Views that never count: another customer's, a numeric id, no id, not a view.
    ("c_events", "track", "product_viewed", {"product_id": "p_toy"}, datetime(2024, 4, 19)),
    ("c_journey", "track", "product_viewed", {"product_id": 7}, datetime(2024, 4, 19)),
    ("c_journey", "track", "product_viewed", {"category": "toys"}, datetime(2024, 4, 19)),
    ("c_journey", "track", "product_added", {"product_id": "p_toy"}, datetime(2024, 4, 10)),
]


def frames() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(CUSTOMERS, columns=["customer_id", "created_at"])
    customers["email"] = customers.customer_id + "@example.fr"
    orders = pd.DataFrame(
        ORDERS,
        columns=[
            "order_id",
            "customer_id",
            "ordered_at",
            "amount",
            "discount_amount",
            "channel",
            "status",
        ],
    )
    orders["currency"] = "EUR"
    plain = pd.DataFrame(EVENTS, columns=["customer_id", "type", "event", "timestamp"])
    rich = pd.DataFrame(
        EVENTS_WITH_PROPERTIES, columns=["customer_id", "type", "event", "properties", "timestamp"]
    )
    rich["properties"] = rich.properties.map(json.dumps)
    events = pd.concat([plain, rich], ignore_index=True)
    events["message_id"] = [f"m{i}" for i in range(len(events))]
    events["anonymous_id"] = "anon"
    found = {
        "customers": customers,
        "orders": orders,
        "order_lines": pd.DataFrame(
            ORDER_LINES, columns=["order_id", "product_id", "quantity", "unit_price"]
        ),
        "products": pd.DataFrame(
            PRODUCTS, columns=["product_id", "name", "category", "launched_at"]
        ),
        "events": events,
    }
    for name, frame in found.items():
        for column, kind in SCHEMAS[name].items():
            if kind == "timestamp":
                frame[column] = pd.to_datetime(frame[column])
        found[name] = frame[list(SCHEMAS[name])]
    return found


# -- the pandas reference -------------------------------------------------------------

REF_ALIASES = {"email_link_clicked": "email_clicked", "product_reviewed": "review_written"}
REF_BROWSING = {
    "product_viewed",
    "product_added",
    "product_removed",
    "product_clicked",
    "product_list_viewed",
    "products_searched",
    "comparison_viewed",
    "cart_viewed",
    "checkout_started",
}
REF_CHANNELS = ["web", "app", "store", "phone", "marketplace"]


def days(delta: pd.Timedelta) -> float:
    return delta / pd.Timedelta(days=1)


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def reference(
    data: dict[str, pd.DataFrame],
    as_of: datetime,
    lines: bool,
    settings: TraitsSection | None = None,
) -> pd.DataFrame:
    """Every trait, customer by customer, straight from the definitions."""
    settings = settings or TraitsSection()
    with_properties = "properties" in data["events"].columns
    orders = data["orders"][data["orders"].ordered_at < as_of]
    events = data["events"][
        data["events"].customer_id.notna() & (data["events"].timestamp < as_of)
    ].copy()
    names = events.event.str.lower().str.replace(" ", "_")
    events["name"] = names.map(lambda n: REF_ALIASES.get(n, n))
    rows = []
    for customer_id, created_at in zip(
        data["customers"].customer_id, data["customers"].created_at, strict=True
    ):
        mine = orders[orders.customer_id == customer_id]
        bought = mine[mine.status.isna() | (mine.status == "completed")]
        n = len(bought)
        returns = int((mine.status == "returned").sum())
        first = bought.ordered_at.min() if n else None
        last = bought.ordered_at.max() if n else None
        starts = [t for t in (created_at,) if pd.notna(t) and t < as_of]
        starts += [first] if first is not None else []
        row: dict[str, Any] = {
            "customer_id": customer_id,
            "first_order_at": first,
            "last_order_at": last,
            "recency_days": days(as_of - last) if n else None,
            "frequency": n,
            "monetary_value": float(bought.amount.sum()),
            "orders_90d": int((bought.ordered_at >= as_of - pd.Timedelta(days=90)).sum()),
            "revenue_90d": float(
                bought.amount[bought.ordered_at >= as_of - pd.Timedelta(days=90)].sum()
            ),
            "avg_order_value": bought.amount.mean() if n else None,
            "tenure_days": days(as_of - min(starts)) if starts else None,
            "mean_days_between_orders": days(last - first) / (n - 1) if n >= 2 else None,
            "discount_share": ratio(float((bought.discount_amount > 0).sum()), n),
            "returns": returns,
            "cancellations": int((mine.status == "cancelled").sum()),
            "return_rate": ratio(returns, n + returns),
        }
        counts = bought.channel.value_counts()
        row["top_channel"] = (
            sorted(counts[counts == counts.max()].index)[0] if len(counts) else None
        )
        for channel in REF_CHANNELS:
            row[f"channel_share_{channel}"] = ratio(float((bought.channel == channel).sum()), n)
        row.update(
            reference_categories(data, bought, settings)
            if lines
            else dict.fromkeys(REF_CATEGORY_TRAITS)
        )
        mine_events = events[events.customer_id == customer_id]
        row.update(reference_events(mine_events, as_of))
        row["promo_page_share"] = (
            reference_promo_share(mine_events, settings) if with_properties else None
        )
        row["comparisons_per_order"] = ratio(row["comparison_views"], n)
        row["view_to_purchase_hours"] = (
            reference_view_to_purchase(data, bought, mine_events)
            if lines and with_properties
            else None
        )
        rows.append(row)
    return pd.DataFrame(rows)


REF_CATEGORY_TRAITS = [
    "top_category",
    "top_category_share",
    "category_count",
    "high_tech_share",
    "early_adopter_share",
]


def reference_categories(
    data: dict[str, pd.DataFrame], bought: pd.DataFrame, settings: TraitsSection
) -> dict[str, Any]:
    lines = data["order_lines"][data["order_lines"].order_id.isin(bought.order_id)]
    lines = lines.merge(data["products"], on="product_id", how="left")
    lines = lines.merge(bought[["order_id", "ordered_at"]], on="order_id")
    spend = (lines.quantity * lines.unit_price).fillna(0.0)
    per_category: dict[str, float] = {}
    for category, value in zip(lines.category, spend, strict=True):
        if pd.notna(category):
            per_category[category] = per_category.get(category, 0.0) + value
    if not per_category:
        empty = dict.fromkeys(REF_CATEGORY_TRAITS)
        return {**empty, "category_count": 0}
    top = min(per_category, key=lambda c: (-per_category[c], c))
    tech = {c.lower() for c in settings.high_tech_categories}
    tech_spend = sum(v for c, v in per_category.items() if c.lower() in tech)
    early = dated = 0
    if "launched_at" in lines.columns:
        for ordered_at, launched_at in zip(lines.ordered_at, lines.launched_at, strict=True):
            if pd.notna(launched_at):
                dated += 1
                early += days(ordered_at - launched_at) <= settings.new_product_days
    return {
        "top_category": top,
        "top_category_share": ratio(per_category[top], float(spend.sum())),
        "category_count": len(per_category),
        "high_tech_share": ratio(tech_spend, float(spend.sum())),
        "early_adopter_share": ratio(early, dated),
    }


def reference_promo_share(mine: pd.DataFrame, settings: TraitsSection) -> float | None:
    pages = mine[mine.type == "page"]
    paths = [json.loads(p).get("path") if isinstance(p, str) else None for p in pages.properties]
    prefixes = [prefix.lower() for prefix in settings.promo_paths]
    promo = sum(isinstance(p, str) and p.lower().startswith(tuple(prefixes)) for p in paths)
    return ratio(promo, len(pages))


def reference_view_to_purchase(
    data: dict[str, pd.DataFrame], bought: pd.DataFrame, mine: pd.DataFrame
) -> float | None:
    views = mine[mine.name == "product_viewed"]
    viewed = [
        json.loads(p).get("product_id") if isinstance(p, str) else None for p in views.properties
    ]
    lines = data["order_lines"].merge(bought[["order_id", "ordered_at"]], on="order_id")
    delays = []
    for product_id, ordered_at in zip(lines.product_id, lines.ordered_at, strict=True):
        before = [
            days(ordered_at - at)
            for at, seen in zip(views.timestamp, viewed, strict=True)
            if seen == product_id and timedelta(0) < ordered_at - at <= timedelta(days=30)
        ]
        if before:
            delays.append(max(before) * 24)
    return statistics.median(delays) if delays else None


def reference_events(mine: pd.DataFrame, as_of: datetime) -> dict[str, Any]:
    def count(*names: str, within: int | None = None) -> int:
        chosen = mine[mine.name.isin(names)]
        if within is not None:
            chosen = chosen[chosen.timestamp >= as_of - timedelta(days=within)]
        return len(chosen)

    sent = count("email_sent")
    row: dict[str, Any] = {
        "emails_received": sent,
        "email_open_rate": ratio(count("email_opened"), sent),
        "email_click_rate": ratio(count("email_clicked"), sent),
    }
    browsing = mine[mine.type.isin(["page", "screen"]) | mine.name.isin(REF_BROWSING)]
    for window in (30, 90):
        recent = browsing[browsing.timestamp >= as_of - timedelta(days=window)]
        row[f"sessions_{window}d"] = recent.timestamp.dt.date.nunique()
    for window in (30, 90):
        row[f"product_views_{window}d"] = count("product_viewed", within=window)
    for window in (30, 90):
        row[f"cart_adds_{window}d"] = count("product_added", within=window)
    row["reviews_written"] = count("review_written")
    row["social_shares"] = count("product_shared", "referral_sent")
    row["support_tickets"] = count("support_ticket_opened")
    row["comparison_views"] = count("comparison_viewed")
    return row


# -- comparison -----------------------------------------------------------------------


def missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.set_index("customer_id")
    want = want.set_index("customer_id")
    assert sorted(got.index) == sorted(want.index)
    mismatches = []
    for trait in TRAITS:
        for customer_id in want.index:
            expected = want.at[customer_id, trait.name]
            actual = got.at[customer_id, trait.name]
            if missing(expected) or missing(actual):
                same = missing(expected) and missing(actual)
            elif trait.dtype == "float64":
                same = math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
            elif trait.dtype == "timestamp":
                same = pd.Timestamp(actual) == pd.Timestamp(expected)
            else:
                same = actual == expected
            if not same:
                mismatches.append(f"{customer_id}.{trait.name}: {actual!r} != {expected!r}")
    assert mismatches == []


def run(
    tables: dict[str, Any],
    as_of: datetime,
    lines: bool = True,
    settings: TraitsSection | None = None,
) -> pd.DataFrame:
    extra = {"order_lines": tables["order_lines"], "products": tables["products"]}
    expr = compute_traits(
        tables["customers"],
        tables["orders"],
        tables["events"],
        as_of=as_of,
        settings=settings,
        **(extra if lines else {}),
    )
    result: pd.DataFrame = expr.to_pandas()
    return result


# -- tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [AS_OF, EARLIER], ids=["as_of", "earlier"])
def test_every_trait_matches_the_pandas_reference(tables: dict[str, Any], as_of: datetime):
    assert_same(run(tables, as_of), reference(frames(), as_of, lines=True))


def test_without_order_lines_category_traits_are_null(tables: dict[str, Any]):
    got = run(tables, AS_OF, lines=False)
    assert_same(got, reference(frames(), AS_OF, lines=False))
    assert got[[*REF_CATEGORY_TRAITS, "view_to_purchase_hours"]].isna().all().all()


def test_settings_change_promo_pages_high_tech_and_new_products(tables: dict[str, Any]):
    settings = TraitsSection(
        new_product_days=30, high_tech_categories=["TOYS"], promo_paths=["/soldes"]
    )
    got = run(tables, AS_OF, settings=settings)
    assert_same(got, reference(frames(), AS_OF, lines=True, settings=settings))
    journey = got.set_index("customer_id").loc["c_journey"]
    # o21's p_toy (50 days) is no longer new; p_none (5 days) still is: 1 of 4 dated.
    assert journey.early_adopter_share == 0.25
    assert journey.promo_page_share == pytest.approx(1 / 6)
    assert journey.high_tech_share == pytest.approx(30 / 72)


def test_without_properties_or_launch_dates_those_traits_are_null(tables: dict[str, Any]):
    events = tables["events"].drop("properties")
    products = tables["products"].drop("launched_at")
    got = compute_traits(
        tables["customers"],
        tables["orders"],
        events,
        as_of=AS_OF,
        order_lines=tables["order_lines"],
        products=products,
    ).to_pandas()
    empty = ["promo_page_share", "view_to_purchase_hours", "early_adopter_share"]
    assert got[empty].isna().all().all()
    assert got.high_tech_share.notna().any()


def test_hand_checked_values(tables: dict[str, Any]):
    """A few values worked out by hand, so that the reference itself is checked."""
    got = run(tables, AS_OF).set_index("customer_id")
    multi = got.loc["c_multi"]
    # o2, o3, o4 (no status) and o9; o3 and o4 on the same day are two orders.
    assert multi.frequency == 4
    assert multi.monetary_value == 105.0
    assert multi.mean_days_between_orders == pytest.approx(
        (datetime(2024, 5, 25, 8) - datetime(2023, 6, 1, 9)) / timedelta(days=1) / 3
    )
    assert (multi.top_channel, multi.channel_share_app, multi.channel_share_web) == ("app", 0.5, 0)
    assert (multi.returns, multi.cancellations, multi.return_rate) == (1, 1, 0.2)
    assert (multi.top_category, multi.category_count) == ("books", 3)
    assert multi.top_category_share == pytest.approx(30 / 72)
    # Browsing days in 30: 1, 2 and 29 days ago (a page and a product the same day)
    # and 2024-05-02, the day the window opens at 12:00 (one page at 11:00, one at
    # 13:00). In 90, also 31, 60, 89 and exactly 90 days ago; 91 days ago is out.
    assert (multi.sessions_30d, multi.sessions_90d) == (4, 8)
    assert (multi.product_views_30d, multi.product_views_90d) == (2, 3)
    assert (multi.cart_adds_30d, multi.cart_adds_90d) == (2, 4)
    assert (multi.reviews_written, multi.social_shares, multi.comparison_views) == (2, 2, 2)
    assert multi.email_open_rate == 0
    one = got.loc["c_one"]
    assert (one.emails_received, one.email_click_rate) == (3, pytest.approx(2 / 3))
    assert one.tenure_days == one.recency_days  # no creation date: tenure from first order
    assert got.loc["c_tie", "top_channel"] == "phone"  # web and phone tie
    assert got.loc["c_tie", "top_category"] == "books"  # books and toys tie
    # Journeys: 4 of c_journey's 6 page views are promotion pages; first views of
    # bought products 24, 240 and 380 hours before the order; c_one 2 and 24 hours.
    journey = got.loc["c_journey"]
    assert journey.promo_page_share == pytest.approx(2 / 3)
    assert got.loc["c_events", "promo_page_share"] == 0.5
    assert journey.view_to_purchase_hours == pytest.approx(240)
    assert one.view_to_purchase_hours == pytest.approx(13)
    assert multi.comparisons_per_order == pytest.approx(2 / 4)
    # New products: o21's p_toy (50 days) and p_none (5 days) of 4 dated lines.
    assert journey.early_adopter_share == 0.5
    assert one.high_tech_share == pytest.approx(5 / 55)
    assert got.loc["c_tie", "early_adopter_share"] == 0.5  # a pre-order and an old book
    prospect = got.loc["p_prospect"]
    assert (prospect.frequency, prospect.monetary_value, prospect.sessions_90d) == (0, 0, 0)
    assert missing(prospect.recency_days) and missing(prospect.channel_share_web)
    assert missing(got.loc["c_cancel", "discount_share"])
    assert got.loc["c_cancel", "return_rate"] == 1
    assert "ghost" not in got.index


def test_columns_and_types_follow_the_registry(tables: dict[str, Any]):
    for lines in (True, False):
        extra = {"order_lines": tables["order_lines"], "products": tables["products"]}
        expr = compute_traits(
            tables["customers"],
            tables["orders"],
            tables["events"],
            as_of=AS_OF,
            **(extra if lines else {}),
        )
        schema = expr.schema()
        assert list(schema.names) == ["customer_id", *(t.name for t in TRAITS)]
        for trait in TRAITS:
            assert schema[trait.name] == dt.dtype(trait.dtype), trait.name


def test_one_row_per_customer_from_memtables():
    data = frames()
    tables = {name: ibis.memtable(frame, schema=SCHEMAS[name]) for name, frame in data.items()}
    got = run(tables, AS_OF)
    assert sorted(got.customer_id) == sorted(data["customers"].customer_id)


def test_aware_as_of_is_converted_to_utc(tables: dict[str, Any]):
    paris = AS_OF.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert_same(run(tables, paris), reference(frames(), AS_OF, lines=True))


def test_registry_is_consistent():
    names = [t.name for t in TRAITS]
    assert len(names) == len(set(names))
    for trait in TRAITS:
        assert get_trait(trait.name) is trait
        assert trait.description.endswith(".") and trait.description_fr.endswith(".")
        assert trait.dtype in {"float64", "int64", "string", "timestamp"}
    with pytest.raises(KeyError, match="known traits: first_order_at"):
        get_trait("days_since_last_order")


def test_missing_column_is_named(tables: dict[str, Any]):
    orders = tables["orders"].drop("channel")
    with pytest.raises(ValueError, match=r"orders lacks column.*channel"):
        compute_traits(tables["customers"], orders, tables["events"], as_of=AS_OF)


def test_order_lines_need_products(tables: dict[str, Any]):
    with pytest.raises(ValueError, match="pass both or neither"):
        compute_traits(
            tables["customers"],
            tables["orders"],
            tables["events"],
            as_of=AS_OF,
            order_lines=tables["order_lines"],
        )


def test_as_of_must_be_a_datetime(tables: dict[str, Any]):
    with pytest.raises(TypeError, match="as_of must be a datetime"):
        compute_traits(
            tables["customers"],
            tables["orders"],
            tables["events"],
            as_of=AS_OF.date(),  # type: ignore[arg-type]
        )
