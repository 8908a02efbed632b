"""One row per customer from a list of orders: the input of the CLV models.

Orders are merged per calendar day (UTC) before counting, as Fader, Hardie & Lee do
with CDNOW and as lifetimes' ``summary_data_from_transaction_data`` does with
``freq="D"``: two orders on the same day are one purchase occasion, worth their sum.

Names: ``repeat_purchases`` is the number of purchase days after the first one
(purchase days minus one; x in the papers) and ``mean_repeat_value`` the mean value
of those repeat purchase days, the first purchase left out. lifetimes calls these
frequency and monetary_value; Cible does not, because its traits
(`cible.features.registry`) already use ``frequency`` for the number of purchases and
``monetary_value`` for the total spend, and a name has one meaning.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import numpy as np
import pandas as pd

from cible.clv.errors import ModelError

#: A day: text such as "2024-01-31", a date, a datetime or a pandas Timestamp.
DateLike = str | date | datetime | pd.Timestamp | np.datetime64
#: Days per unit of ``recency``, ``T`` and ``duration_holdout``.
PERIOD_DAYS = {"D": 1, "W": 7}


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_id: str = "customer_id",
    datetime_col: str = "ordered_at",
    monetary_col: str | None = "amount",
    observation_end: DateLike | None = None,
    period: Literal["D", "W"] = "D",
    calibration_end: DateLike | None = None,
) -> pd.DataFrame:
    """Summarise orders into repeat purchases, recency, T and mean repeat value per customer.

    Parameters
    ----------
    transactions : DataFrame
        One row per order.
    customer_id, datetime_col, monetary_col : str
        Column names; ``monetary_col=None`` leaves the monetary columns out.
    observation_end : date-like, optional
        Last day observed (inclusive); later orders are ignored. Default: the day
        of the last order.
    period : {"D", "W"}
        Unit of ``recency``, ``T`` and ``duration_holdout``: days, or weeks of
        seven days. Purchases are merged per day in both cases, so ``"W"`` is
        lifetimes' ``freq="D", freq_multiplier=7`` (the CDNOW convention of Fader,
        Hardie & Lee 2005), not its calendar-week ``freq="W"``.
    calibration_end : date-like, optional
        Split the history: the summary columns describe orders up to this day
        (inclusive), the holdout columns the days after it up to
        ``observation_end``. Customers whose first order falls after it are left out.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), with

        - ``repeat_purchases``: the number of distinct purchase days minus one;
        - ``recency``: time from the first to the last purchase day;
        - ``T``: time from the first purchase day to ``observation_end``;
        - ``mean_repeat_value``: mean value of the repeat purchase days, 0 when
          ``repeat_purchases`` is 0;
        - with ``calibration_end``: ``repeat_purchases_holdout`` (purchase days after
          the calibration, all of them repeat purchases), ``mean_repeat_value_holdout``
          (their mean value, 0 when none) and ``duration_holdout`` (length of the
          holdout).

    Raises
    ------
    ModelError
        When a column is missing, holds missing or unreadable values, or the dates
        leave nothing to summarise.

    Notes
    -----
    The calibration columns keep their plain names (lifetimes adds ``_cal``) so the
    table goes straight into `BetaGeoModel.fit`. ``mean_repeat_value_holdout``
    averages daily totals, like ``mean_repeat_value``; lifetimes averages single orders
    there, which differs only for customers with two orders on one holdout day.

    Examples
    --------
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11",
    ...                                   "2024-01-05"]),
    ...     "amount": [10.0, 5.0, 30.0, 20.0],
    ... })
    >>> rfm_summary(orders, observation_end="2024-01-31")  # doctest: +NORMALIZE_WHITESPACE
                 repeat_purchases  recency     T  mean_repeat_value
    customer_id
    a                           1     10.0  30.0               30.0
    b                           0      0.0  26.0                0.0
    """
    if period not in PERIOD_DAYS:
        raise ModelError(f"period must be 'D' (days) or 'W' (weeks), not {period!r}.")
    unit = PERIOD_DAYS[period]
    orders = _daily_orders(transactions, customer_id, datetime_col, monetary_col)
    last_day = orders["day"].max() if observation_end is None else _day(observation_end)
    orders = orders[orders["day"] <= last_day]
    if calibration_end is None:
        if orders.empty:
            raise ModelError(f"No order falls on or before {_date(last_day)}.")
        return _summarise(orders, last_day, unit, monetary_col is not None)
    split_day = _day(calibration_end)
    if split_day >= last_day:
        raise ModelError(
            f"calibration_end ({_date(split_day)}) must come before observation_end "
            f"({_date(last_day)})."
        )
    calibration = orders[orders["day"] <= split_day]
    if calibration.empty:
        raise ModelError(f"No order falls on or before calibration_end {_date(split_day)}.")
    summary = _summarise(calibration, split_day, unit, monetary_col is not None)
    holdout = orders[orders["day"] > split_day].groupby("customer")["value"]
    summary["repeat_purchases_holdout"] = holdout.size().reindex(summary.index, fill_value=0)
    if monetary_col is not None:
        summary["mean_repeat_value_holdout"] = holdout.mean().reindex(summary.index, fill_value=0.0)
    summary["duration_holdout"] = float(last_day - split_day) / unit
    return summary


def _daily_orders(
    transactions: pd.DataFrame, customer_id: str, datetime_col: str, monetary_col: str | None
) -> pd.DataFrame:
    """Orders merged per (customer, UTC day), with day numbers since 1970."""
    columns = [customer_id, datetime_col] + ([monetary_col] if monetary_col else [])
    missing = [name for name in columns if name not in transactions.columns]
    if missing:
        raise ModelError(
            f"The transactions have no {missing[0]!r} column (columns: "
            f"{', '.join(map(str, transactions.columns))})."
        )
    if transactions.empty:
        raise ModelError("The transactions table is empty.")
    for name in columns:
        absent = int(transactions[name].isna().sum())
        if absent:
            raise ModelError(f"Column {name!r} has {absent} missing value(s).")
    try:
        moments = pd.to_datetime(transactions[datetime_col])
    except (ValueError, TypeError) as error:
        raise ModelError(
            f"Column {datetime_col!r} holds values that are not dates: {error}"
        ) from None
    if moments.dt.tz is not None:
        # Canonical timestamps are UTC; the day boundary must not move with a local zone.
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "customer": transactions[customer_id].to_numpy(),
            "day": moments.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64),
        }
    )
    if monetary_col is None:
        frame["value"] = 0.0
    else:
        values = pd.to_numeric(transactions[monetary_col], errors="coerce")
        unreadable = int(values.isna().sum())
        if unreadable:
            raise ModelError(
                f"Column {monetary_col!r} has {unreadable} value(s) that are not numbers."
            )
        frame["value"] = values.to_numpy(np.float64)
    return frame.groupby(["customer", "day"], sort=True)["value"].sum().reset_index()


def _summarise(daily: pd.DataFrame, last_day: int, unit: int, monetary: bool) -> pd.DataFrame:
    """Repeat purchases, recency, T (and mean repeat value) from daily orders sorted by day."""
    per_customer = daily.groupby("customer", sort=True)["day"]
    first = per_customer.min()
    summary = pd.DataFrame(
        {
            "repeat_purchases": per_customer.size() - 1,
            "recency": (per_customer.max() - first) / unit,
            "T": (last_day - first) / unit,
        }
    )
    if monetary:
        # ``daily`` is sorted by customer then day, so the first row of each customer
        # is the first purchase, which the Gamma-Gamma model leaves out.
        repeat = daily[daily["customer"].duplicated()]
        mean_repeat = repeat.groupby("customer")["value"].mean()
        summary["mean_repeat_value"] = mean_repeat.reindex(summary.index, fill_value=0.0)
    summary.index.name = "customer_id"
    return summary


def _day(value: DateLike) -> int:
    """Day number (since 1970, UTC) of a date-like value."""
    try:
        moment = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ModelError(f"{value!r} is not a date.") from None
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return int(moment.to_datetime64().astype("datetime64[D]").astype(np.int64))


def _date(day: int) -> str:
    return str(np.datetime64(int(day), "D"))
