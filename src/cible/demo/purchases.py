"""Orders and order lines of the synthetic retailer.

Each customer's group decides how many orders they place in their active window and
when (at random, or at a steady rhythm for loyal regulars), through which channel,
how many products, at what price and with what discount. Amounts are computed in
integer cents, so an order's amount is exactly the sum of its lines less its discount.

Examples
--------
>>> import numpy as np
>>> from datetime import date
>>> from cible.demo.catalogue import build_catalogue
>>> from cible.demo.places import load_places
>>> from cible.demo.population import build_population
>>> from cible.demo.timeline import Period
>>> rng = np.random.default_rng(0)
>>> period = Period.ending(date(2025, 1, 1))
>>> people = build_population(rng, 200, period, load_places())
>>> bought = place_orders(rng, people, build_catalogue(rng, period), period)
>>> bool((bought.orders["amount"] == bought.orders["gross"] - bought.orders["discount"]).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cible.demo.catalogue import Catalogue
from cible.demo.groups import PROFILES, column, draw_option
from cible.demo.timeline import DAY, MONTH_DAYS, IntArray, Period, at_shopping_hour, clip_to

#: Statuses of orders.csv, in the order of the ``status`` codes.
STATUSES = ("completed", "cancelled", "returned", "pending")
# Share of a copied profile (duplicate) that placed one order under its new id.
_COPY_BUYS = 0.3


@dataclass(frozen=True)
class Purchases:
    """Orders and their lines, as integer-coded frames.

    Attributes
    ----------
    orders : pandas.DataFrame
        One row per order, chronological: ``customer`` (row of the population),
        ``ordered_at``, ``updated_at`` (epoch seconds), ``channel`` (position in
        :data:`~cible.demo.groups.SALES_CHANNELS`), ``status`` (position in
        :data:`STATUSES`), ``gross``, ``discount``, ``amount`` (cents).
    lines : pandas.DataFrame
        ``order`` (row of ``orders``), ``product`` (row of the catalogue),
        ``quantity``, ``unit_cents``; unique on (order, product).
    """

    orders: pd.DataFrame
    lines: pd.DataFrame


def place_orders(
    rng: np.random.Generator, people: pd.DataFrame, catalogue: Catalogue, period: Period
) -> Purchases:
    """Draw every order of every customer record in ``people``."""
    customer, when = _order_times(rng, people, period)
    behaviour = people["behaviour"].to_numpy()[customer]
    orders = pd.DataFrame({"customer": customer, "ordered_at": when})
    orders["channel"] = draw_option(rng, behaviour, "channels")
    lines = _lines(rng, behaviour, when, catalogue)
    gross = np.bincount(
        lines["order"].to_numpy(),
        weights=(lines["quantity"] * lines["unit_cents"]).to_numpy(),
        minlength=len(orders),
    ).astype(np.int64)
    discounted = rng.random(len(orders)) < column("discount_prob")[behaviour]
    low = np.array([g.discount_rate[0] for g in PROFILES])[behaviour]
    high = np.array([g.discount_rate[1] for g in PROFILES])[behaviour]
    rate = low + rng.random(len(orders)) * (high - low)
    discount = np.where(discounted, np.round(gross * rate), 0).astype(np.int64)
    orders["gross"] = gross
    orders["discount"] = discount
    orders["amount"] = gross - discount
    orders["status"], orders["updated_at"] = _statuses(rng, when, period)
    return Purchases(orders, lines)


def _order_times(
    rng: np.random.Generator, people: pd.DataFrame, period: Period
) -> tuple[IntArray, IntArray]:
    """Number and instants of each customer's orders, sorted by instant."""
    behaviour = people["behaviour"].to_numpy()
    known = behaviour >= 0
    group = np.where(known, behaviour, 0)
    start = people["active_from"].to_numpy()
    stop = people["active_until"].to_numpy()
    months = np.maximum(stop - start, 0) / (MONTH_DAYS * DAY)
    rate = column("orders_per_month")[group]
    regular = np.array([g.regular for g in PROFILES])[group]
    rhythm = 1.0 / rate * np.exp(rng.normal(0.0, 0.15, group.size))
    mean = rate * months * people["activity"].to_numpy()
    count = np.where(regular, np.floor(months / rhythm), rng.poisson(mean)).astype(np.int64)
    lowest = column("min_orders")[group].astype(np.int64)
    highest = column("max_orders")[group].astype(np.int64)
    count = np.clip(count, lowest, highest)
    copy = people["original"].to_numpy() >= 0
    count[copy] = rng.random(int(copy.sum())) < _COPY_BUYS
    count[~known | people["stale"].to_numpy() | (months <= 0)] = 0

    customer = np.repeat(np.arange(group.size), count)
    first = np.cumsum(count) - count
    rank = np.arange(customer.size) - first[customer]
    span = (stop - start)[customer]
    steady = (rank + rng.uniform(0.15, 0.85, customer.size)) * span / count[customer]
    random = rng.random(customer.size) * span
    offset = np.where(regular[customer], steady, random).astype(np.int64)
    when = at_shopping_hour(rng, start[customer] + offset)
    when = clip_to(when, start[customer], stop[customer])
    order = np.lexsort((customer, when))
    return customer[order], when[order]


def _lines(
    rng: np.random.Generator, behaviour: IntArray, when: IntArray, catalogue: Catalogue
) -> pd.DataFrame:
    count = 1 + np.minimum(rng.poisson(column("extra_lines")[behaviour]), 5)
    order = np.repeat(np.arange(behaviour.size), count)
    group = behaviour[order]
    category = draw_option(rng, group, "categories")
    budget = column("line_price")[group] * np.exp(rng.normal(0.0, 0.35, order.size))
    early = rng.random(order.size) < column("early_adopter")[group]
    product = catalogue.pick(rng, category, budget, when[order], early)
    quantity = 1 + (rng.random(order.size) < 0.12) + (rng.random(order.size) < 0.04)
    # The same product twice in a basket is one line with a larger quantity.
    key = order * len(catalogue.ids) + product
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=quantity).astype(np.int64)
    product = unique % len(catalogue.ids)
    return pd.DataFrame(
        {
            "order": unique // len(catalogue.ids),
            "product": product,
            "quantity": total,
            "unit_cents": catalogue.cents[product],
        }
    )


def _statuses(
    rng: np.random.Generator, when: IntArray, period: Period
) -> tuple[IntArray, IntArray]:
    status = rng.choice(3, when.size, p=(0.93, 0.035, 0.035))
    recent = (period.end - when < 3 * DAY) & (rng.random(when.size) < 0.5)
    status[recent] = STATUSES.index("pending")
    delay = np.select(
        [status == 0, status == 1, status == 2],
        [
            rng.integers(DAY, 5 * DAY, when.size),
            rng.integers(3600, 2 * DAY, when.size),
            rng.integers(5 * DAY, 30 * DAY, when.size),
        ],
        0,
    )
    return status.astype(np.int64), np.minimum(when + delay, period.end - 1)
