"""What each campaign customer did, reduced to the sufficient statistics of the analysis.

Attribution rule (docs/experiments.md, "Attribution"): a customer's outcome is read
in every arm alike, the holdout included (intention to treat), over the window that
starts when they first became eligible (``eligible_at``: the launch that first found
them consenting and not kept by another campaign):

- *revenue* is the sum of the amounts of their purchases (completed orders, or
  orders without a status: :func:`cible.features.orders.is_purchase`) placed from
  ``eligible_at`` for ``window_days`` days, and before the moment of the analysis;
- *conversion* is 1 when that window holds at least one purchase, else 0;
- *pre-period revenue*, the CUPED covariate, is the same sum over the ``pre_days``
  before ``eligible_at``.

An order counts for every campaign whose window holds it: each campaign is compared
with its own holdout, whose customers the other campaigns reach just as much, so the
overlap cancels out of each difference. Only customers who were ever eligible count
(consent and conflicts were judged before the arm mattered, the same way in every
arm), and they keep counting after a later withdrawal of consent: an unsubscribe the
e-mail caused happens in the variant only, and dropping those customers would bias the
comparison.

:func:`arm_statistics` then reduces the customers of each (campaign, segment, arm) to
``n``, the sums and sums of squares of revenue and pre-period revenue, their sum of
products, and the conversions (DESIGN.md section 11): the tests run on that small
table, whatever the backend.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> assignments = ibis.memtable({
...     "campaign_id": ["c", "c"], "customer_id": ["a", "b"], "arm": ["v", "holdout"],
...     "segment_id": ["s", "s"],
...     "eligible_at": [datetime(2025, 3, 1), datetime(2025, 3, 1)]})
>>> orders = ibis.memtable({
...     "customer_id": ["a", "a", "b"], "amount": [30.0, 20.0, 10.0],
...     "ordered_at": [datetime(2025, 3, 2), datetime(2025, 2, 1), datetime(2025, 4, 1)],
...     "discount_amount": [5.0, 0.0, 0.0], "status": ["completed", None, "completed"]})
>>> out = customer_outcomes(assignments, orders, as_of=datetime(2025, 5, 1),
...     window_days=14, pre_days=90).order_by("customer_id").to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["revenue"], r["converted"], r["pre_revenue"]) for r in out]
[('a', 30.0, 1, 20.0), ('b', 0.0, 0, 0.0)]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from cible.features.orders import is_purchase

#: E-mail events (Segment's e-mail spec) counted per arm, and their short names.
ENGAGEMENT_EVENTS = {
    "Email Delivered": "delivered",
    "Email Opened": "opened",
    "Email Link Clicked": "clicked",
    "Unsubscribed": "unsubscribed",
    "Email Marked as Spam": "complained",
}

#: Columns of :func:`arm_statistics`, one row per (campaign, segment, arm).
STATISTICS = (
    "n",
    "sum_y",
    "sum_y2",
    "sum_x",
    "sum_x2",
    "sum_xy",
    "conversions",
    "orders",
    "discount",
    "complete",
)


def customer_outcomes(
    assignments: ir.Table,
    orders: ir.Table,
    *,
    as_of: datetime,
    window_days: int,
    pre_days: int,
) -> ir.Table:
    """One row per eligible assigned customer: arm, segment and outcomes (see the module).

    Returns
    -------
    ibis.Table
        ``campaign_id``, ``customer_id``, ``segment_id``, ``arm``, ``started_at`` (the
        window's start), ``revenue``, ``converted`` (0/1), ``orders``, ``discount``,
        ``pre_revenue`` and ``complete`` (1 when the whole window has passed by ``as_of``).
    """
    window = ibis.interval(days=window_days)
    before = ibis.interval(days=pre_days)
    moment = ibis.literal(as_of, "timestamp")
    kept = assignments.filter(
        assignments.eligible_at.notnull(), assignments.eligible_at < moment
    ).select("campaign_id", "customer_id", "segment_id", "arm", assigned_at="eligible_at")
    bought = orders.filter(
        is_purchase(orders), orders.customer_id.notnull(), orders.ordered_at < moment
    ).select(
        buyer_="customer_id",
        ordered_at="ordered_at",
        amount=orders.amount.fill_null(0.0),
        discount_=orders.discount_amount.fill_null(0.0),
    )
    joined = kept.left_join(
        bought,
        [
            kept.customer_id == bought.buyer_,
            bought.ordered_at >= kept.assigned_at - before,
            bought.ordered_at < kept.assigned_at + window,
        ],
    )
    during = joined.ordered_at >= joined.assigned_at
    prior = joined.ordered_at < joined.assigned_at
    totals = joined.group_by(
        ["campaign_id", "customer_id", "segment_id", "arm", "assigned_at"]
    ).aggregate(
        revenue=joined.amount.sum(where=during).fill_null(0.0),
        orders=joined.amount.count(where=during),
        discount=joined.discount_.sum(where=during).fill_null(0.0),
        pre_revenue=joined.amount.sum(where=prior).fill_null(0.0),
    )
    return totals.mutate(
        converted=(totals.orders > 0).cast("int64"),
        complete=(totals.assigned_at + window <= moment).cast("int64"),
    ).rename(started_at="assigned_at")


def arm_statistics(outcomes: ir.Table) -> ir.Table:
    """Sufficient statistics per (campaign, segment, arm) of :func:`customer_outcomes`.

    ``y`` is revenue, ``x`` pre-period revenue; ``conversions`` is both the sum and the
    sum of squares of the 0/1 conversion.
    """
    y, x = outcomes.revenue, outcomes.pre_revenue
    return outcomes.group_by(["campaign_id", "segment_id", "arm"]).aggregate(
        n=outcomes.count(),
        sum_y=y.sum(),
        sum_y2=(y * y).sum(),
        sum_x=x.sum(),
        sum_x2=(x * x).sum(),
        sum_xy=(x * y).sum(),
        conversions=outcomes.converted.sum(),
        orders=outcomes.orders.sum(),
        discount=outcomes.discount.sum(),
        complete=outcomes.complete.sum(),
    )


def closed_windows(outcomes: ir.Table, *, window_days: int) -> ir.Table:
    """Statistics of the customers whose window has closed, per day it closed.

    For the sequential test (:func:`cible.experiments.sequential_test`): a look at a
    moment counts the customers whose window has closed by then, each with the outcome
    of their whole window, so that every look measures the same effect. Grouping by the
    day a window closed keeps this O(customers); the looks add the days up.

    Returns
    -------
    ibis.Table
        ``closed_on`` (the day, UTC, the window closed), ``segment_id``, ``arm``,
        ``n``, ``sum_y``, ``sum_y2``, ``conversions``.
    """
    done = outcomes.filter(outcomes.complete == 1)
    done = done.mutate(closed_on=(done.started_at + ibis.interval(days=window_days)).date())
    y = done.revenue
    return done.group_by(["closed_on", "segment_id", "arm"]).aggregate(
        n=done.count(),
        sum_y=y.sum(),
        sum_y2=(y * y).sum(),
        conversions=done.converted.sum(),
    )


def engagement(
    assignments: ir.Table, events: ir.Table, campaign_id: str, *, as_of: datetime
) -> ir.Table:
    """Customers per arm with each e-mail event of the campaign (``properties.campaign_id``).

    Returns
    -------
    ibis.Table
        ``arm``, ``event`` (a name of :data:`ENGAGEMENT_EVENTS`), ``customers``
        (distinct customers who had it).
    """
    properties: Any = events.properties
    if not properties.type().is_json():
        properties = properties.cast("json")
    about = events.filter(
        events.customer_id.notnull(),
        events.event.isin(list(ENGAGEMENT_EVENTS)),
        events.timestamp < ibis.literal(as_of, "timestamp"),
        properties["campaign_id"].unwrap_as("string") == campaign_id,
    ).select("customer_id", "event")
    kept = assignments.filter(assignments.eligible_at.notnull()).select("customer_id", "arm")
    joined = about.join(kept, "customer_id")
    return joined.group_by(["arm", "event"]).aggregate(customers=joined.customer_id.nunique())
