"""One row of traits per customer, as of any moment: :func:`compute_traits`.

Each source table is aggregated once, by :mod:`~cible.features.orders`,
:mod:`~cible.features.categories` and :mod:`~cible.features.events` (and product
views paired with bought lines by :mod:`~cible.features.consideration`), and the
per-customer results are left-joined onto ``customers``, so that a prospect without
orders or events still gets a row: counts 0, ratios and dates NULL.
``comparisons_per_order`` divides two of those results (comparison views over
purchases) after the join; it is NULL for a customer without purchases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.domain.clock import normalise_as_of
from cible.domain.config import TraitsSection
from cible.features.categories import ORDER_LINE_COLUMNS, PRODUCT_COLUMNS, category_traits
from cible.features.categories import ZERO_WHEN_ABSENT as CATEGORY_ZEROS
from cible.features.clock import days_before
from cible.features.consideration import consideration_traits
from cible.features.events import EVENT_COLUMNS, event_traits
from cible.features.events import ZERO_WHEN_ABSENT as EVENT_ZEROS
from cible.features.orders import ORDER_COLUMNS, order_traits
from cible.features.orders import ZERO_WHEN_ABSENT as ORDER_ZEROS
from cible.features.registry import TRAITS

#: Customer columns read.
CUSTOMER_COLUMNS = ("customer_id", "created_at")

_CATEGORY_TRAITS = ("top_category", "top_category_share", "category_count")


def compute_traits(
    customers: Any,
    orders: Any,
    events: Any,
    *,
    as_of: datetime,
    order_lines: Any = None,
    products: Any = None,
    settings: TraitsSection | None = None,
) -> Any:
    """Compute every trait of :data:`cible.features.TRAITS` for every customer.

    Parameters
    ----------
    customers, orders, events : ibis.Table
        Canonical tables (extra columns are ignored).
    as_of : datetime
        The moment the traits describe; only orders (by ``ordered_at``) and events
        (by ``timestamp``) strictly before it count, so any past date can be
        replayed. Naive datetimes are UTC; an aware one is converted to UTC.
    order_lines, products : ibis.Table, optional
        Both or neither. Without them the category traits and
        ``view_to_purchase_hours`` are NULL.
    settings : TraitsSection, optional
        ``[traits]`` of ``cible.toml``: promotion pages, high-tech categories, how
        long a product stays new. Defaults otherwise.

    Returns
    -------
    ibis.Table
        An unevaluated expression: exactly one row per ``customer_id`` of
        ``customers`` (prospects included), with ``customer_id`` then every trait in
        :data:`cible.features.TRAITS` order and declared type.

    Raises
    ------
    ValueError
        When a table lacks a column the traits need, or only one of
        ``order_lines`` and ``products`` is given.
    TypeError
        When ``as_of`` is not a datetime.

    Notes
    -----
    A customer whose ``created_at`` is at or after ``as_of`` did not exist yet; their
    creation date is ignored for ``tenure_days``.

    Examples
    --------
    >>> from datetime import datetime
    >>> import ibis
    >>> customers = ibis.memtable(
    ...     {"customer_id": ["a", "b"], "created_at": [datetime(2024, 1, 1)] * 2}
    ... )
    >>> orders = ibis.memtable(
    ...     {
    ...         "customer_id": ["a"],
    ...         "ordered_at": [datetime(2024, 1, 10)],
    ...         "amount": [25.0],
    ...         "discount_amount": [0.0],
    ...         "channel": ["web"],
    ...         "status": ["completed"],
    ...     }
    ... )
    >>> events = ibis.memtable(
    ...     {
    ...         "customer_id": ["b"],
    ...         "type": ["track"],
    ...         "event": ["Product Viewed"],
    ...         "timestamp": [datetime(2024, 1, 20)],
    ...     }
    ... )
    >>> traits = compute_traits(customers, orders, events, as_of=datetime(2024, 1, 31))
    >>> df = traits.order_by("customer_id").to_pandas()
    >>> df[["customer_id", "frequency", "recency_days", "product_views_30d"]]
      customer_id  frequency  recency_days  product_views_30d
    0           a          1          21.0                  0
    1           b          0           NaN                  1
    """
    moment = normalise_as_of(as_of)
    with_lines = order_lines is not None or products is not None
    if with_lines and (order_lines is None or products is None):
        raise ValueError("order_lines and products go together: pass both or neither")
    _require(customers, "customers", CUSTOMER_COLUMNS)
    _require(orders, "orders", ("order_id", *ORDER_COLUMNS) if with_lines else ORDER_COLUMNS)
    _require(events, "events", EVENT_COLUMNS)
    parts = [order_traits(orders, moment), event_traits(events, moment, settings)]
    if with_lines:
        _require(order_lines, "order_lines", ORDER_LINE_COLUMNS)
        _require(products, "products", PRODUCT_COLUMNS)
        parts.append(category_traits(orders, order_lines, products, moment, settings))
        if "properties" in events.columns:
            parts.append(consideration_traits(orders, order_lines, events, moment))
    return _assemble(customers, parts, moment)


def _require(table: Any, name: str, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)} needed to compute traits")


def _assemble(customers: Any, parts: list[Any], as_of: datetime) -> Any:
    """Left-join the per-customer ``parts`` onto customers and type every trait."""
    joined = customers.select("customer_id", _created_at=customers.created_at)
    for part in parts:
        # Renaming the key keeps one ``customer_id`` through the chain of joins.
        other = part.rename(_key="customer_id")
        joined = joined.left_join(other, joined.customer_id == other._key).drop("_key")
    zeros = set(ORDER_ZEROS + EVENT_ZEROS)
    if "category_count" in joined.columns:
        zeros.update(CATEGORY_ZEROS)
    columns: dict[str, Any] = {}
    for trait in TRAITS:
        dtype = dt.dtype(trait.dtype)
        if trait.name == "tenure_days":
            value = _tenure_days(joined, as_of)
        elif trait.name == "comparisons_per_order":
            purchases = joined.frequency.nullif(0).cast(dt.float64)
            value = joined.comparison_views.fill_null(0) / purchases
        elif trait.name in joined.columns:
            value = joined[trait.name]
        else:
            # Category traits without order lines: present, typed, unknown.
            value = ibis.null(dtype)
        if trait.name in zeros:
            value = value.fill_null(0)
        columns[trait.name] = value.cast(dtype)
    return joined.select("customer_id", **columns)


def _tenure_days(joined: Any, as_of: datetime) -> Any:
    """Days since the earlier of creation (if before ``as_of``) and first purchase."""
    created = ibis.cases(
        (joined._created_at < as_of, joined._created_at), else_=ibis.null(dt.Timestamp())
    )
    first = joined.first_order_at
    # fill_null on each side instead of relying on LEAST skipping NULLs, which not
    # every backend does.
    start = ibis.least(created.fill_null(first), first.fill_null(created))
    return days_before(as_of, start)
