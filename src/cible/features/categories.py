"""Product category traits: where a customer's spend goes.

Spend of a line is ``quantity * unit_price`` (a line without a price spends 0 but
still shows the category was bought). Only lines of purchases placed before
``as_of`` count (see :func:`cible.features.orders.is_purchase`). The top category is
the one with the largest spend, ties going to the first name alphabetically; its
share is taken of all line spend, uncategorised products included, so that it reads
as "this share of what they spent". Lines whose product is unknown or has no
category count in no category.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> orders = ibis.memtable(
...     {
...         "order_id": ["o1"],
...         "customer_id": ["a"],
...         "ordered_at": [datetime(2024, 1, 1)],
...         "status": ["completed"],
...     }
... )
>>> lines = ibis.memtable(
...     {
...         "order_id": ["o1", "o1"],
...         "product_id": ["p1", "p2"],
...         "quantity": [1, 3],
...         "unit_price": [20.0, 10.0],
...     }
... )
>>> products = ibis.memtable({"product_id": ["p1", "p2"], "category": ["books", "toys"]})
>>> traits = category_traits(orders, lines, products, datetime(2024, 2, 1))
>>> traits.to_pyarrow().to_pylist()
[{'customer_id': 'a', 'top_category': 'toys', 'top_category_share': 0.6, 'category_count': 2}]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cible.features.orders import is_purchase, past_orders

#: Columns read from each table.
ORDER_LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price")
PRODUCT_COLUMNS = ("product_id", "category")

#: Traits that are 0, not NULL, for a customer without any purchased line.
ZERO_WHEN_ABSENT = ("category_count",)


def category_traits(orders: Any, order_lines: Any, products: Any, as_of: datetime) -> Any:
    """Per-customer category traits as of ``as_of``.

    Parameters
    ----------
    orders, order_lines, products : ibis.Table
        Canonical tables; lines reach a customer through their order.
    as_of : datetime
        Naive UTC moment; orders placed at or after it are ignored.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``top_category``, ``top_category_share``, ``category_count``
        for customers with at least one purchased line.
    """
    past = past_orders(orders, as_of)
    purchases = past.filter(is_purchase(past)).select("order_id", "customer_id")
    bought = order_lines.join(purchases, "order_id").left_join(
        products.select(*PRODUCT_COLUMNS), "product_id"
    )
    spent = bought.select(
        "customer_id",
        "category",
        spend=(bought.quantity * bought.unit_price).fill_null(0),
    )
    # Two group-bys: per category first, so that the customer level ranks a handful of
    # rows per customer instead of sorting every line.
    # Rounded to the cent: a parallel sum adds in no fixed order, and 317.55 against
    # 317.54999999999995 must stay a tie that the alphabetical rule decides.
    per_category = spent.group_by(["customer_id", "category"]).aggregate(
        spend=spent.spend.sum().round(2)
    )
    known = per_category.category.notnull()
    totals = per_category.group_by("customer_id").aggregate(
        top_category=per_category.category.first(
            order_by=[per_category.spend.desc(), per_category.category.asc()]
        ),
        _top_spend=per_category.spend.max(where=known),
        _spend=per_category.spend.sum(),
        category_count=per_category.category.count(),
    )
    return totals.select(
        "customer_id",
        "top_category",
        top_category_share=totals._top_spend / totals._spend.nullif(0),
        category_count=totals.category_count,
    )
