"""Churn snapshots: each buyer's traits at past dates, and whether they bought next.

A snapshot describes every *buyer* (a customer with at least one purchase before
``as_of``; a prospect cannot stop buying) at one moment ``as_of``:

- every trait of :data:`cible.features.TRAITS` as it stood then (only orders and
  events strictly before ``as_of`` count, see :func:`cible.features.compute_traits`);
- ``clv_repeat_purchases``, ``clv_recency`` and ``clv_T``: the :func:`cible.clv.rfm_summary`
  of the purchases before ``as_of``, in days, which the BG/NBD baseline of
  :mod:`cible.models.evaluation` is fitted on (they are not traits and never
  features);
- ``label``: 1 when the customer made no purchase (an order ``completed`` or
  without status) in ``[as_of, as_of + horizon_days)``, 0 otherwise;
- ``horizon_days``, so that a model trained for one horizon refuses snapshots
  labelled for another.

Stacking several dates gives a training table. A date is refused when its horizon
runs past the end of the data: every customer would look as if they had stopped.
:func:`out_of_time_split` keeps the latest date for testing and the dates whose
labels end before it for training.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> day = lambda d: datetime(2024, 1, 1) + timedelta(days=d)
>>> data = {
...     "customers": ibis.memtable({"customer_id": ["a", "b", "c"],
...                                 "created_at": [day(0)] * 3}),
...     "orders": ibis.memtable({
...         "order_id": ["1", "2", "3", "4"], "customer_id": ["a", "a", "b", "a"],
...         "ordered_at": [day(1), day(20), day(5), day(45)], "amount": [10.0] * 4,
...         "discount_amount": [0.0] * 4, "channel": ["web"] * 4,
...         "status": ["completed", None, "completed", "completed"]}),
...     "events": ibis.memtable([], schema={"customer_id": "string", "type": "string",
...                                         "event": "string", "timestamp": "timestamp"}),
...     "order_lines": ibis.memtable([], schema={"order_id": "string", "product_id": "string",
...                                              "quantity": "int64", "unit_price": "float64"}),
...     "products": ibis.memtable([], schema={"product_id": "string", "category": "string"}),
... }
>>> snapshots = build_snapshots(
...     data.__getitem__, [day(30)], horizon_days=30, observation_end=day(60)
... )
>>> snapshots[["customer_id", "frequency", "recency_days", "clv_repeat_purchases", "label"]]
  customer_id  frequency  recency_days  clv_repeat_purchases  label
0           a          2          10.0                     1      0
1           b          1          25.0                     0      1
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cible.clv import rfm_summary
from cible.domain.clock import normalise_as_of
from cible.domain.progress import Progress, reporter
from cible.features import TRAITS, compute_traits
from cible.features.categories import without_special_categories
from cible.features.orders import is_purchase
from cible.models.errors import ModelDataError

#: ``tables(name)`` returns the canonical table ``name`` as an Ibis table
#: (``Store.table`` or ``Workspace.table``).
Tables = Callable[[str], Any]

LABEL = "label"
HORIZON = "horizon_days"
#: The rfm_summary of purchases before ``as_of`` (repeat purchases, recency, T in days).
CLV_COLUMNS = ("clv_repeat_purchases", "clv_recency", "clv_T")
#: Columns every snapshot table has besides the traits.
REQUIRED_COLUMNS = ("customer_id", "as_of", LABEL, HORIZON)


def build_snapshots(
    tables: Tables,
    as_of_dates: Iterable[datetime],
    horizon_days: int = 90,
    *,
    observation_end: datetime | None = None,
    progress: Progress | None = None,
    blocked_categories: Collection[str] = (),
) -> pd.DataFrame:
    """Traits and churn label of every buyer at each date of ``as_of_dates``.

    Parameters
    ----------
    tables : callable
        ``tables(name)`` -> Ibis table, for ``customers``, ``orders``, ``events``,
        ``order_lines`` and ``products`` (e.g. ``workspace.table``).
    as_of_dates : iterable of datetime
        Past moments; naive ones are UTC. Duplicates count once.
    horizon_days : int, default 90
        Length of the window after ``as_of`` in which a purchase means "stayed".
    observation_end : datetime, optional
        End of the observed history; default the last order's ``ordered_at``.
    progress : callable, optional
        ``progress("snapshots", done, total)`` as the dates are computed.
    blocked_categories : collection of str, optional
        Product categories (lower case) that reveal special-category data: they count
        in no category trait (:func:`cible.features.categories.without_special_categories`).

    Returns
    -------
    DataFrame
        One row per (buyer, ``as_of``), sorted by ``as_of`` then ``customer_id``:
        ``customer_id``, ``as_of``, every trait, :data:`CLV_COLUMNS`, ``label``
        (int, 1 = churned) and ``horizon_days``.

    Raises
    ------
    ModelDataError
        When no date is given, the horizon is not a positive whole number of days,
        a date's horizon ends after ``observation_end``, or no date has a buyer.
    """
    horizon = check_horizon(horizon_days)
    moments = sorted({normalise_as_of(moment) for moment in as_of_dates})
    if not moments:
        raise ModelDataError("as_of_dates is empty: give at least one past date.")
    orders = tables("orders")
    purchases = _purchases(orders)
    end = _observation_end(purchases, observation_end)
    late = [moment for moment in moments if moment + horizon > end]
    if late:
        raise ModelDataError(
            f"as_of {late[0]:%Y-%m-%d %H:%M}: its {horizon_days}-day horizon ends after "
            f"the observed history ({end:%Y-%m-%d %H:%M}), so customers would look "
            f"churned for lack of data; use dates up to {end - horizon:%Y-%m-%d}."
        )
    report = reporter(progress)
    sources = {name: tables(name) for name in ("customers", "events", "order_lines", "products")}
    sources["products"] = without_special_categories(sources["products"], blocked_categories)
    frames = []
    for done, moment in enumerate(moments):
        report("snapshots", done, len(moments))
        frames.append(_snapshot(sources, orders, purchases, moment, horizon))
    report("snapshots", len(moments), len(moments))
    snapshots = pd.concat(frames, ignore_index=True)
    if snapshots.empty:
        raise ModelDataError(
            f"No customer had bought anything before {moments[-1]:%Y-%m-%d}: "
            "churn snapshots need buyers."
        )
    snapshots[HORIZON] = int(horizon_days)
    return snapshots


def check_horizon(horizon_days: object) -> timedelta:
    """``horizon_days`` as a timedelta; refuse anything but a positive whole number."""
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, int | np.integer)
        or horizon_days <= 0
    ):
        raise ModelDataError(
            f"horizon_days must be a positive whole number of days, not {horizon_days!r}."
        )
    return timedelta(days=int(horizon_days))


def _purchases(orders: Any) -> pd.DataFrame:
    """``customer_id`` and ``ordered_at`` of every purchase of a known customer."""
    bought = orders.filter(is_purchase(orders), orders.customer_id.notnull())
    frame: pd.DataFrame = bought.select("customer_id", "ordered_at").to_pandas()
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    return frame


def _observation_end(purchases: pd.DataFrame, given: datetime | None) -> datetime:
    if given is not None:
        return normalise_as_of(given)
    if purchases.empty:
        raise ModelDataError("The orders table has no purchase: there is nothing to learn from.")
    last: pd.Timestamp = purchases["ordered_at"].max()
    return normalise_as_of(last.to_pydatetime())


def _snapshot(
    sources: dict[str, Any],
    orders: Any,
    purchases: pd.DataFrame,
    moment: datetime,
    horizon: timedelta,
) -> pd.DataFrame:
    """The buyers' traits, BG/NBD summary and label at one ``moment``."""
    traits = compute_traits(
        sources["customers"],
        orders,
        sources["events"],
        as_of=moment,
        order_lines=sources["order_lines"],
        products=sources["products"],
    )
    frame: pd.DataFrame = traits.filter(traits.frequency > 0).to_pandas()
    before = purchases[purchases["ordered_at"] < moment]
    if frame.empty or before.empty:
        return pd.DataFrame()
    summary = rfm_summary(before, monetary_col=None, observation_end=moment)
    summary = summary.rename(
        columns={
            "repeat_purchases": "clv_repeat_purchases",
            "recency": "clv_recency",
            "T": "clv_T",
        }
    )
    frame = frame.merge(summary, how="left", left_on="customer_id", right_index=True)
    window = purchases["ordered_at"].between(moment, moment + horizon, inclusive="left")
    stayed = frame["customer_id"].isin(purchases.loc[window, "customer_id"])
    frame[LABEL] = (~stayed).astype(np.int64)
    frame.insert(1, "as_of", pd.Timestamp(moment))
    columns = ["customer_id", "as_of", *(t.name for t in TRAITS), *CLV_COLUMNS, LABEL]
    return frame[columns].sort_values("customer_id", ignore_index=True)


def check_snapshots(snapshots: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Refuse a snapshot table a churn model cannot use; return it unchanged.

    Raises
    ------
    ModelDataError
        When it is not a DataFrame, is empty, lacks a column of
        :data:`REQUIRED_COLUMNS`, was labelled for another horizon, holds labels
        other than 0 and 1, or repeats a (``customer_id``, ``as_of``) pair.
    """
    if not isinstance(snapshots, pd.DataFrame):
        raise ModelDataError(
            f"snapshots must be a DataFrame from build_snapshots, not {type(snapshots).__name__}."
        )
    if snapshots.empty:
        raise ModelDataError("The snapshot table is empty.")
    missing = [name for name in REQUIRED_COLUMNS if name not in snapshots.columns]
    if missing:
        raise ModelDataError(
            f"The snapshot table has no {missing[0]!r} column; build it with build_snapshots()."
        )
    horizons = sorted(int(h) for h in snapshots[HORIZON].unique())
    if horizons != [horizon_days]:
        raise ModelDataError(
            f"The snapshots are labelled for a horizon of {horizons} day(s) but the model "
            f"predicts churn over {horizon_days}: build them with horizon_days={horizon_days}."
        )
    labels = set(snapshots[LABEL].unique().tolist())
    if not labels <= {0, 1}:
        raise ModelDataError(f"label must be 0 or 1; found {sorted(labels - {0, 1})[:3]}.")
    repeated = snapshots.duplicated(["customer_id", "as_of"])
    if repeated.any():
        row = snapshots[repeated].iloc[0]
        raise ModelDataError(
            f"Customer {row['customer_id']!r} appears twice at as_of {row['as_of']}."
        )
    return snapshots


def out_of_time_split(snapshots: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split snapshots into training dates and a later, non-overlapping test date.

    The test set is the latest ``as_of``; the training set keeps the dates at least
    one horizon earlier, so that no training label looks at a day the test label
    also covers. Dates in between are dropped.

    Parameters
    ----------
    snapshots : DataFrame
        From :func:`build_snapshots` (one horizon).

    Returns
    -------
    (DataFrame, DataFrame)
        Training rows and test rows.

    Raises
    ------
    ModelDataError
        When no date lies a full horizon before the latest one.
    """
    if HORIZON not in snapshots.columns or snapshots.empty:
        raise ModelDataError("The snapshot table is empty or was not built by build_snapshots().")
    horizon_days = int(snapshots[HORIZON].iloc[0])
    check_snapshots(snapshots, horizon_days)
    latest = snapshots["as_of"].max()
    train = snapshots["as_of"] <= latest - pd.Timedelta(days=horizon_days)
    if not train.any():
        raise ModelDataError(
            f"No snapshot date lies {horizon_days} days or more before the latest one "
            f"({latest:%Y-%m-%d}): add earlier dates."
        )
    test = snapshots["as_of"] == latest
    return (
        snapshots[train].reset_index(drop=True),
        snapshots[test].reset_index(drop=True),
    )
