"""Product category traits: where a customer's spend goes, and how new it is.

Spend of a line is ``quantity * unit_price`` (a line without a price spends 0 but
still shows the category was bought). Only lines of purchases placed before
``as_of`` count (see :func:`cible.features.orders.is_purchase`). The top category is
the one with the largest spend, ties going to the first name alphabetically; its
share is taken of all line spend, uncategorised products included, so that it reads
as "this share of what they spent". Lines whose product is unknown or has no
category count in no category.

``high_tech_share`` is the share of that same spend going to the categories named in
``[traits] high_tech_categories`` (compared without case). ``early_adopter_share``
counts lines, not spend: of the bought lines whose product has a ``launched_at``, the
share ordered at most ``[traits] new_product_days`` days after the launch (a line
ordered before the launch, a pre-order, is early too). Without a ``launched_at``
column, or without any dated product, it is NULL.

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
>>> products = ibis.memtable(
...     {
...         "product_id": ["p1", "p2"],
...         "category": ["books", "High-Tech"],
...         "launched_at": [datetime(2020, 1, 1), datetime(2023, 12, 1)],
...     }
... )
>>> row = category_traits(orders, lines, products, datetime(2024, 2, 1)).to_pyarrow().to_pylist()[0]
>>> row["top_category"], row["top_category_share"], row["category_count"]
('High-Tech', 0.6, 2)
>>> row["high_tech_share"], row["early_adopter_share"]
(0.6, 0.5)
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.config import TraitsSection
from cible.features.clock import epoch_days
from cible.features.orders import is_purchase, past_orders

#: Columns read from each table (``products.launched_at`` too, when it exists).
ORDER_LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price")
PRODUCT_COLUMNS = ("product_id", "category")

#: Traits that are 0, not NULL, for a customer without any purchased line.
ZERO_WHEN_ABSENT = ("category_count",)


def category_traits(
    orders: Any,
    order_lines: Any,
    products: Any,
    as_of: datetime,
    settings: TraitsSection | None = None,
) -> Any:
    """Per-customer category traits as of ``as_of``.

    Parameters
    ----------
    orders, order_lines, products : ibis.Table
        Canonical tables; lines reach a customer through their order.
    as_of : datetime
        Naive UTC moment; orders placed at or after it are ignored.
    settings : TraitsSection, optional
        High-tech categories and how long a product stays new (defaults otherwise).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``top_category``, ``top_category_share``, ``category_count``,
        ``high_tech_share`` and ``early_adopter_share`` for customers with at least
        one purchased line.
    """
    settings = settings or TraitsSection()
    past = past_orders(orders, as_of)
    purchases = past.filter(is_purchase(past)).select("order_id", "customer_id", "ordered_at")
    dated = "launched_at" in products.columns
    columns = (*PRODUCT_COLUMNS, "launched_at") if dated else PRODUCT_COLUMNS
    bought = order_lines.join(purchases, "order_id").left_join(
        products.select(*columns), "product_id"
    )
    if dated:
        age_days = epoch_days(bought.ordered_at) - epoch_days(bought.launched_at)
        # A case rather than a cast of the boolean: PostgreSQL casts booleans to
        # int4 only, not to bigint. An unknown age (no launch date) is not early.
        early = ibis.cases((age_days <= settings.new_product_days, 1), else_=0)
        with_date = ibis.cases((bought.launched_at.notnull(), 1), else_=0)
    else:
        early = with_date = ibis.literal(0, dt.int64)
    spent = bought.select(
        "customer_id",
        "category",
        spend=(bought.quantity * bought.unit_price).fill_null(0),
        early=early,
        with_date=with_date,
    )
    # Two group-bys: per category first, so that the customer level ranks a handful of
    # rows per customer instead of sorting every line.
    # Rounded to the cent: a parallel sum adds in no fixed order, and 317.55 against
    # 317.54999999999995 must stay a tie that the alphabetical rule decides.
    per_category = spent.group_by(["customer_id", "category"]).aggregate(
        spend=spent.spend.sum().round(2),
        early=spent.early.sum(),
        with_date=spent.with_date.sum(),
    )
    # The leading category is numbered inside each customer's few rows, known ones
    # first: PostgreSQL has no FIRST aggregate to pick it in the group-by below.
    leader = ibis.row_number().over(
        group_by=per_category.customer_id,
        order_by=[
            per_category.category.isnull(),
            per_category.spend.desc(),
            per_category.category.asc(),
        ],
    )
    per_category = per_category.mutate(_leader=leader == 0)
    known = per_category.category.notnull()
    totals = per_category.group_by("customer_id").aggregate(
        top_category=per_category.category.max(where=per_category._leader),
        _top_spend=per_category.spend.max(where=known),
        _spend=per_category.spend.sum(),
        _tech_spend=per_category.spend.sum(
            where=_one_of(per_category.category.lower(), settings.high_tech_categories)
        ),
        _early=per_category.early.sum(),
        _with_date=per_category.with_date.sum(),
        category_count=per_category.category.count(),
    )
    spend = totals._spend.nullif(0)
    return totals.select(
        "customer_id",
        "top_category",
        top_category_share=totals._top_spend / spend,
        category_count=totals.category_count,
        high_tech_share=totals._tech_spend.fill_null(0) / spend,
        early_adopter_share=totals._early / totals._with_date.nullif(0).cast(dt.float64),
    )


def without_special_categories(products: Any, blocked: Collection[str]) -> Any:
    """``products`` with the category of the ``blocked`` ones (lower case) set to NULL.

    A category flagged in ``[privacy.special_categories]`` without a legal basis
    reveals art. 9 data (a pharmacy reveals health): its lines then count in no
    category trait, like uncategorised ones, so no rule, clustering, model or template
    reads it through ``top_category`` or ``high_tech_share``. Their spend still counts
    in the customer's total.

    Examples
    --------
    >>> import ibis
    >>> products = ibis.memtable({"product_id": ["p1", "p2"], "category": ["Pharmacy", "Books"]})
    >>> hidden = without_special_categories(products, {"pharmacy"})
    >>> hidden.order_by("product_id").category.to_pyarrow().to_pylist()
    [None, 'Books']
    """
    if not blocked:
        return products
    names = ibis.literal(sorted(blocked), "array<string>")
    flagged = names.contains(products.category.lower())
    return products.mutate(category=flagged.ifelse(ibis.null("string"), products.category))


def _one_of(value: Any, names: list[str]) -> Any:
    """``value`` equals one of ``names`` (lower-cased); false when there are none."""
    if not names:
        return ibis.literal(False)
    # An equality chain rather than ``isin``: DuckDB plans a long IN list as a join.
    return ibis.or_(*[value == name.lower() for name in names])
