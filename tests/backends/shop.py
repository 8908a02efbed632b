"""The shop every engine computes on: the demo retailer, small, with planted edge cases.

The demo (:mod:`cible.demo`) brings prospects, cancelled and returned orders, order
lines, every kind of event the traits read with JSON properties, and a consents
ledger. Rows are planted on top for what it lacks: a customer created after
``AS_OF``, purchases without a status or a channel, two purchases at the same
moment, orders and events of unknown customers, other spellings of event names,
JSON properties holding numbers, booleans, nulls, objects and text where a number is
expected, consents recorded at the same moment or without a date, and a tag ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from cible import Workspace
from cible.demo import build_demo

#: The moment every engine computes as of: inside the demo's period, so that
#: later orders and events exist and must be ignored.
AS_OF = datetime(2024, 12, 1)
#: Small, but with every planted group of the demo.
CUSTOMERS = 240
SEED = 17
TABLES = ("customers", "orders", "order_lines", "products", "events", "consents", "customer_tags")

EDGE = "zz-edge"
FUTURE = "zz-future"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Shop:
    """Arrow rows and Ibis column types of each canonical table."""

    rows: dict[str, pa.Table]
    schemas: dict[str, ibis.Schema]
    #: The demo workspace the rows were read from (its files in ``demo-files``).
    folder: Path


def build_shop(folder: Path) -> Shop:
    """The demo retailer at :data:`CUSTOMERS` customers plus the planted rows."""
    build_demo(folder, customers=CUSTOMERS, seed=SEED, end_date=date(2025, 1, 1))
    with Workspace.open(folder) as ws:
        rows = {name: ws.table(name).to_pyarrow() for name in TABLES}
        schemas = {name: ws.table(name).schema() for name in TABLES}
    planted = _planted(rows)
    for name, extra in planted.items():
        rows[name] = pa.concat_tables(
            [rows[name], pa.Table.from_pylist(extra, schema=rows[name].schema)]
        )
    return Shop(rows, schemas, folder)


def _planted(rows: dict[str, pa.Table]) -> dict[str, list[dict[str, Any]]]:
    customers = sorted(rows["customers"].column("customer_id").to_pylist())
    product = rows["products"].column("product_id")[0].as_py()
    early = AS_OF - 40 * DAY
    return {
        "customers": [
            {"customer_id": EDGE, "created_at": datetime(2023, 1, 1), "region": None},
            {"customer_id": FUTURE, "created_at": AS_OF + 10 * DAY, "region": "Bretagne"},
        ],
        "orders": [
            # Two purchases at the same moment: a last gap of 0 days.
            _order("zz-o1", EDGE, early, 40.0, "completed", "web"),
            _order("zz-o2", EDGE, early, 60.0, "completed", "store"),
            # Without a status (a sale) and without a channel.
            _order("zz-o3", EDGE, AS_OF - 3 * DAY, 25.5, None, None),
            _order("zz-o4", EDGE, AS_OF - 2 * DAY, 99.0, "returned", "web"),
            _order("zz-o5", EDGE, AS_OF - 1 * DAY, 10.0, "pending", "web"),
            _order("zz-o6", EDGE, AS_OF + DAY, 500.0, "completed", "web"),
            _order("zz-o7", None, AS_OF - DAY, 75.0, "completed", "web"),
            _order("zz-o8", FUTURE, AS_OF + 12 * DAY, 30.0, "completed", "app"),
        ],
        "order_lines": [
            {
                "order_id": "zz-o1",
                "line_number": 1,
                "product_id": product,
                "quantity": 2,
                "unit_price": 20.0,
            },
            {
                "order_id": "zz-o3",
                "line_number": 1,
                "product_id": "zz-unknown",
                "quantity": 1,
                "unit_price": 25.5,
            },
        ],
        "events": [
            _event(
                1,
                EDGE,
                "track",
                "Product Viewed",
                early - 5 * DAY,
                {"product_id": product, "category": "mode", "price": 12, "gift": True},
            ),
            _event(
                2,
                EDGE,
                "track",
                "product_viewed",
                AS_OF - 5 * DAY,
                {"product_id": product, "category": "mode", "price": 120.5, "gift": False},
            ),
            _event(
                3,
                EDGE,
                "track",
                "product_viewed",
                AS_OF - 4 * DAY,
                {"category": None, "price": "cheap"},
            ),
            _event(
                4,
                EDGE,
                "track",
                "product_viewed",
                AS_OF - 3 * DAY,
                {"category": {"name": "mode"}, "price": [1, 2]},
            ),
            _event(5, EDGE, "track", "Email Link Clicked", AS_OF - 2 * DAY, {}),
            _event(6, EDGE, "page", None, AS_OF - 2 * DAY, {"path": "/PROMO/soldes"}),
            _event(7, EDGE, "page", None, AS_OF - DAY, {"path": "/promo\u00e9t\u00e9"}),
            _event(8, None, "page", None, AS_OF - DAY, {"path": "/promo"}),
            _event(9, EDGE, "track", "product_viewed", AS_OF + DAY, {"category": "mode"}),
            *(
                _event(
                    10 + i,
                    customer,
                    "track",
                    "product_viewed",
                    AS_OF - (i + 1) * DAY,
                    {"category": "mode", "price": 30 + i, "gift": i % 3 == 0},
                )
                for i, customer in enumerate(customers[::9])
            ),
        ],
        "consents": [
            # Granted and withdrawn at the same moment: the stricter one holds.
            _consent(EDGE, "email", "granted", early),
            _consent(EDGE, "email", "withdrawn", early),
            _consent(EDGE, "sms", "granted", None),
            _consent(FUTURE, "email", "granted", AS_OF + 11 * DAY),
        ],
        "customer_tags": _tag_ledger(customers),
    }


def _order(
    order_id: str,
    customer: str | None,
    at: datetime,
    amount: float,
    status: str | None,
    channel: str | None,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "ordered_at": at,
        "amount": amount,
        "currency": "EUR",
        "discount_amount": 0.0,
        "channel": channel,
        "status": status,
    }


def _event(
    number: int,
    customer: str | None,
    kind: str,
    name: str | None,
    at: datetime,
    properties: dict[str, Any],
) -> dict[str, Any]:
    import json

    return {
        "message_id": f"zz-evt-{number}",
        "customer_id": customer,
        "anonymous_id": None if customer else f"anon-{number}",
        "type": kind,
        "event": name,
        "properties": json.dumps(properties, ensure_ascii=False),
        "timestamp": at,
        "received_at": at,
    }


def _consent(customer: str, channel: str, status: str, at: datetime | None) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "channel": channel,
        "purpose": "marketing",
        "status": status,
        "recorded_at": at,
        "source": "test",
    }


def _tag_ledger(customers: list[str]) -> list[dict[str, Any]]:
    """``vip`` set on every seventh customer and taken off every 21st; ``newsletter``
    set on every fifth, at dates spread over the last 150 days."""
    changes: list[dict[str, Any]] = []

    def change(customer: str, tag: str, action: str, at: datetime) -> None:
        changes.append(
            {
                "change_id": len(changes) + 1,
                "customer_id": customer,
                "tag": tag,
                "action": action,
                "changed_at": at,
                "actor": "test",
                "source": "api",
            }
        )

    for i, customer in enumerate(customers):
        if i % 7 == 0:
            change(customer, "vip", "added", AS_OF - (100 + i % 50) * DAY)
        if i % 21 == 0:
            change(customer, "vip", "removed", AS_OF - (10 + i % 30) * DAY)
        if i % 5 == 0:
            change(customer, "newsletter", "added", AS_OF - (i % 150) * DAY)
    # Taken off after the moment computed: still tagged as of AS_OF.
    change(customers[7], "vip", "removed", AS_OF + DAY)
    return changes
