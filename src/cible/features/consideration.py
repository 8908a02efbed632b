"""How long a customer looks at a product before buying it: ``view_to_purchase_hours``.

For each bought line (a purchase placed before ``as_of``), the first
``product_viewed`` event of the same customer for the same product
(``properties.product_id``) in the :data:`LOOKBACK_DAYS` days before the order marks
when the consideration began; the hours from it to the order are that line's delay.
The trait is the median delay over the customer's lines that had such a view: short
for customers who buy what they have just discovered, long for those who come back
to a product for days. Lines without a prior view (bought in a store, or after a
view older than the window) do not count; a customer with none has NULL.

The trait needs ``order_lines`` and an events ``properties`` column; it is NULL
without them. Only string product ids are read from the properties, as stored by
the canonical schema.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> orders = ibis.memtable(
...     {
...         "order_id": ["o1", "o2"],
...         "customer_id": ["a", "a"],
...         "ordered_at": [datetime(2024, 1, 2, 12), datetime(2024, 1, 20)],
...         "status": ["completed", "completed"],
...     }
... )
>>> lines = ibis.memtable({"order_id": ["o1", "o2"], "product_id": ["p1", "p2"]})
>>> events = ibis.memtable(
...     {
...         "customer_id": ["a", "a", "a"],
...         "event": ["Product Viewed", "product_viewed", "product_viewed"],
...         "properties": ['{"product_id": "p1"}', '{"product_id": "p1"}',
...                        '{"product_id": "p2"}'],
...         "timestamp": [datetime(2024, 1, 1, 12), datetime(2024, 1, 2, 6),
...                       datetime(2024, 1, 19, 22)],
...     }
... )
>>> traits = consideration_traits(orders, lines, events, datetime(2024, 2, 1))
>>> traits.to_pyarrow().to_pylist()
[{'customer_id': 'a', 'view_to_purchase_hours': 13.0}]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis.expr.datatypes as dt

from cible.features.events import EVENT_SPELLINGS, normalise_event_name
from cible.features.orders import is_purchase, past_orders

#: How far back before an order a view of the bought product counts.
LOOKBACK_DAYS = 30
_SECONDS_PER_HOUR = 3600.0


def consideration_traits(orders: Any, order_lines: Any, events: Any, as_of: datetime) -> Any:
    """Per-customer ``view_to_purchase_hours`` as of ``as_of``.

    Parameters
    ----------
    orders, order_lines : ibis.Table
        Canonical tables (``order_id``, ``customer_id``, ``ordered_at``, ``status``;
        ``order_id``, ``product_id``).
    events : ibis.Table
        Canonical ``events`` with ``customer_id``, ``event``, ``properties`` (JSON or
        JSON text) and ``timestamp``.
    as_of : datetime
        Naive UTC moment; orders and views at or after it are ignored.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``view_to_purchase_hours`` for customers with at least one
        bought line preceded by a view of its product.
    """
    past = past_orders(orders, as_of)
    purchases = past.filter(is_purchase(past)).select("order_id", "customer_id", "ordered_at")
    bought = order_lines.select("order_id", "product_id").join(purchases, "order_id")
    properties = events.properties
    if properties.type().is_string():
        properties = properties.cast("json")
    name = normalise_event_name(events.event)
    seen = events.filter(
        events.customer_id.notnull(),
        events.timestamp < as_of,
        name.isin(EVENT_SPELLINGS["product_viewed"]),
    ).select(
        "customer_id",
        viewed_at="timestamp",
        product_id=properties["product_id"].str,
    )
    # One hash join on (customer, product), then the window test: the views of one
    # customer for one product are few, so the join stays near the number of lines.
    # Views without a product id never match, so they need no filter of their own,
    # which would parse the properties a second time.
    paired = bought.join(seen, ["customer_id", "product_id"])
    # In seconds rather than fractional days, so that whole hours stay whole.
    delay = (
        paired.ordered_at.epoch_seconds().cast(dt.float64)
        - paired.viewed_at.epoch_seconds().cast(dt.float64)
    ) / _SECONDS_PER_HOUR
    paired = paired.filter(delay > 0, delay <= LOOKBACK_DAYS * 24).mutate(delay=delay)
    per_line = paired.group_by(["customer_id", "order_id", "product_id"]).aggregate(
        delay=paired.delay.max()
    )
    return per_line.group_by("customer_id").aggregate(
        view_to_purchase_hours=per_line.delay.median()
    )
