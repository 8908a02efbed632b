"""Holdout evaluation of a purchase model: fit on a calibration period, compare after.

Two views, as in Fader, Hardie & Lee (2005), figures 2 to 4:

- **by calibration repeat purchases**: customers grouped by their repeat purchases in
  the calibration period (0, 1, ..., 7+); mean purchases observed in the holdout against
  the mean the model expected (conditional expectations);
- **cumulative over time**: weekly cumulative repeat purchases of the whole cohort,
  observed against expected (each customer contributes E[X(t)] for the time since
  their first purchase).

Examples
--------
>>> from lifetimes.datasets import load_transaction_data
>>> orders = load_transaction_data()
>>> evaluation = evaluate_holdout(orders, customer_id="id", datetime_col="date",
...     monetary_col=None, calibration_end="2014-09-01", observation_end="2014-12-31")
>>> list(evaluation.by_repeat_purchases.columns)
['customers', 'actual', 'expected']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cible.clv.beta_geo import BetaGeoModel
from cible.clv.summary import rfm_summary

_DAYS = {"D": 1.0, "W": 7.0}


@dataclass(frozen=True)
class HoldoutEvaluation:
    """Both views of a holdout evaluation and the fitted model."""

    model: BetaGeoModel
    by_repeat_purchases: pd.DataFrame
    cumulative: pd.DataFrame
    period: str

    def repeat_purchase_rows(self) -> list[tuple[str, int, float, float]]:
        """(calibration repeat purchases, customers, actual, expected) per group."""
        table = self.by_repeat_purchases
        return [
            (str(label), int(n), float(a), float(e))
            for label, n, a, e in zip(
                table.index.tolist(),
                table["customers"].tolist(),
                table["actual"].tolist(),
                table["expected"].tolist(),
                strict=True,
            )
        ]

    def cumulative_rows(self) -> list[tuple[int, float, float, bool]]:
        """(week, actual, expected, in holdout) per week."""
        table = self.cumulative
        return [
            (int(w), float(a), float(e), bool(h))
            for w, a, e, h in zip(
                table["week"].tolist(),
                table["actual"].tolist(),
                table["expected"].tolist(),
                table["holdout"].tolist(),
                strict=True,
            )
        ]

    def mean_absolute_percentage_error(self) -> float:
        """MAPE of the cumulative curve over the holdout weeks (lower is better)."""
        tail = self.cumulative[self.cumulative["holdout"]]
        actual = tail["actual"].to_numpy()
        keep = actual > 0
        return float(np.mean(np.abs(tail["expected"].to_numpy()[keep] / actual[keep] - 1)))


def evaluate_holdout(
    transactions: pd.DataFrame,
    *,
    calibration_end: Any,
    observation_end: Any,
    customer_id: str = "customer_id",
    datetime_col: str = "ordered_at",
    monetary_col: str | None = "amount",
    period: str = "W",
    max_repeat_purchases: int = 7,
) -> HoldoutEvaluation:
    """Fit BG/NBD up to ``calibration_end`` and compare its predictions afterwards."""
    summary = rfm_summary(
        transactions,
        customer_id=customer_id,
        datetime_col=datetime_col,
        monetary_col=monetary_col,
        calibration_end=calibration_end,
        observation_end=observation_end,
        period="W" if period == "W" else "D",
    )
    model = BetaGeoModel().fit(summary["repeat_purchases"], summary["recency"], summary["T"])
    expected = model.expected_purchases(
        summary["duration_holdout"], summary["repeat_purchases"], summary["recency"], summary["T"]
    )
    groups = summary["repeat_purchases"].clip(upper=max_repeat_purchases).astype(int)
    by_repeat_purchases = pd.DataFrame(
        {
            "customers": groups.value_counts().sort_index(),
            "actual": summary["repeat_purchases_holdout"].groupby(groups).mean(),
            "expected": expected.groupby(groups).mean(),
        }
    )
    by_repeat_purchases.index = [
        str(i) if i < max_repeat_purchases else f"{max_repeat_purchases}+"
        for i in by_repeat_purchases.index
    ]
    by_repeat_purchases.index.name = "calibration_repeat_purchases"
    return HoldoutEvaluation(
        model=model,
        by_repeat_purchases=by_repeat_purchases,
        cumulative=_cumulative(
            transactions, model, customer_id, datetime_col, calibration_end, observation_end, period
        ),
        period=period,
    )


def _cumulative(
    transactions: pd.DataFrame,
    model: BetaGeoModel,
    customer_id: str,
    datetime_col: str,
    calibration_end: Any,
    observation_end: Any,
    period: str,
) -> pd.DataFrame:
    unit = _DAYS["W" if period == "W" else "D"]
    days = pd.DataFrame(
        {
            "customer": transactions[customer_id],
            "day": pd.to_datetime(transactions[datetime_col]).dt.normalize(),
        }
    ).drop_duplicates()
    days = days[days["day"] <= pd.Timestamp(observation_end)]
    first = days.groupby("customer")["day"].min()
    cohort = first[first <= pd.Timestamp(calibration_end)]
    days = days[days["customer"].isin(cohort.index)]
    repeat = days[days["day"] > days["customer"].map(cohort)]
    start = cohort.min()
    weeks = np.arange(1, int((pd.Timestamp(observation_end) - start).days // 7) + 2)
    ends = start + pd.to_timedelta(weeks * 7, unit="D")
    actual = [int((repeat["day"] < end).sum()) for end in ends]
    ages = ((ends.to_numpy()[:, None] - cohort.to_numpy()[None, :]) / np.timedelta64(1, "D")) / unit
    ages = np.clip(ages, 0, None)
    curve = model.expected_purchases_new_customer(np.unique(ages))
    expected = np.interp(ages, curve.index.to_numpy(), curve.to_numpy()).sum(axis=1)
    return pd.DataFrame(
        {
            "week": weeks,
            "week_ending": ends,
            "actual": actual,
            "expected": expected,
            "holdout": ends > pd.Timestamp(calibration_end),
        }
    )
