"""rfm_summary against a hand-made case and against lifetimes on the CDNOW transactions."""

from __future__ import annotations

import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from cible.clv import ModelError, rfm_summary

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources
    from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

#: lifetimes' column names for ours (its frequency counts repeat purchases only, its
#: monetary_value is their mean): used wherever lifetimes' tables meet ours.
FROM_LIFETIMES = {
    "frequency": "repeat_purchases",
    "monetary_value": "mean_repeat_value",
    "frequency_holdout": "repeat_purchases_holdout",
    "monetary_value_holdout": "mean_repeat_value_holdout",
}


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample: customer id, new id (1..2357, the id of the summaries), date, cds, $."""
    path = resources.files("lifetimes") / "datasets" / "CDNOW_sample.txt"
    with path.open("r", encoding="ascii") as handle:
        frame = pd.read_csv(
            handle,
            sep=r"\s+",
            header=None,
            names=["old_id", "customer_id", "date", "cds", "amount"],
            dtype={"date": str},
        )
    frame["ordered_at"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return cdnow_transactions()


def orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    return frame


HAND_MADE = orders(
    [
        ("ann", "2024-01-01 09:00", 10.0),
        ("ann", "2024-01-01 18:00", 5.0),  # same day: one purchase worth 15
        ("ann", "2024-01-08 10:00", 20.0),
        ("ann", "2024-01-15 23:59", 40.0),
        ("bob", "2024-01-10 12:00", 7.0),
        ("cat", "2024-01-03 08:00", 3.0),
        ("cat", "2024-01-29 08:00", 9.0),
        ("cat", "2024-02-05 08:00", 100.0),  # after observation_end: ignored
    ]
)


def test_hand_made_case_in_days():
    summary = rfm_summary(HAND_MADE, observation_end="2024-01-31")
    expected = pd.DataFrame(
        {
            "repeat_purchases": [2, 0, 1],
            "recency": [14.0, 0.0, 26.0],
            "T": [30.0, 21.0, 28.0],
            "mean_repeat_value": [30.0, 0.0, 9.0],
        },
        index=pd.Index(["ann", "bob", "cat"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)


def test_weeks_are_days_over_seven():
    days = rfm_summary(HAND_MADE, observation_end="2024-01-31")
    weeks = rfm_summary(HAND_MADE, observation_end="2024-01-31", period="W")
    assert (weeks["repeat_purchases"] == days["repeat_purchases"]).all()
    np.testing.assert_allclose(weeks["recency"], days["recency"] / 7)
    np.testing.assert_allclose(weeks["T"], days["T"] / 7)


def test_observation_end_defaults_to_the_last_order_day():
    summary = rfm_summary(HAND_MADE)
    assert summary.loc["cat", "T"] == 33.0  # 2024-01-03 to 2024-02-05
    assert summary.loc["cat", "repeat_purchases"] == 2


def test_calibration_and_holdout_by_hand():
    summary = rfm_summary(HAND_MADE, observation_end="2024-01-31", calibration_end="2024-01-09")
    assert list(summary.index) == ["ann", "cat"]  # bob's first order is after the split
    assert summary.loc["ann", "repeat_purchases"] == 1
    assert summary.loc["ann", "T"] == 8.0
    assert summary.loc["ann", "repeat_purchases_holdout"] == 1
    assert summary.loc["ann", "mean_repeat_value_holdout"] == 40.0
    assert summary.loc["cat", "repeat_purchases_holdout"] == 1
    assert summary.loc["cat", "mean_repeat_value_holdout"] == 9.0
    assert (summary["duration_holdout"] == 22.0).all()


def test_utc_days_for_aware_timestamps():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            # 23:30 at UTC-2 is 01:30 the next day in UTC.
            "ordered_at": pd.to_datetime(
                ["2024-01-01T10:00:00+00:00", "2024-01-01T23:30:00-02:00"], utc=True
            ),
            "amount": [1.0, 2.0],
        }
    )
    summary = rfm_summary(frame, observation_end="2024-01-10")
    assert summary.loc["a", "repeat_purchases"] == 1
    assert summary.loc["a", "recency"] == 1.0


def test_without_monetary_column():
    summary = rfm_summary(HAND_MADE.drop(columns="amount"), monetary_col=None)
    assert list(summary.columns) == ["repeat_purchases", "recency", "T"]


@pytest.mark.parametrize("column", ["customer_id", "ordered_at", "amount"])
def test_missing_column_is_named(column: str):
    with pytest.raises(ModelError, match=f"'{column}'"):
        rfm_summary(HAND_MADE.drop(columns=column))


def test_other_column_names():
    renamed = HAND_MADE.rename(columns={"customer_id": "id", "ordered_at": "when", "amount": "eur"})
    summary = rfm_summary(renamed, customer_id="id", datetime_col="when", monetary_col="eur")
    pd.testing.assert_frame_equal(summary, rfm_summary(HAND_MADE))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("amount", None, "missing"),
        ("amount", "ten", "not numbers"),
        ("ordered_at", "not a date", "not dates"),
        ("customer_id", None, "missing"),
    ],
)
def test_bad_values_are_refused(column: str, value: object, message: str):
    frame = HAND_MADE.astype({column: object})
    frame.loc[2, column] = value
    with pytest.raises(ModelError, match=message):
        rfm_summary(frame)


def test_bad_arguments_are_refused():
    with pytest.raises(ModelError, match="period"):
        rfm_summary(HAND_MADE, period="M")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="before observation_end"):
        rfm_summary(HAND_MADE, observation_end="2024-01-10", calibration_end="2024-01-20")
    with pytest.raises(ModelError, match="No order"):
        rfm_summary(HAND_MADE, observation_end="2023-12-31")
    with pytest.raises(ModelError, match="empty"):
        rfm_summary(HAND_MADE.iloc[:0])


@pytest.mark.parametrize("observation_end", [None, "1997-09-30"])
def test_cdnow_equals_lifetimes_summary(cdnow: pd.DataFrame, observation_end: str | None):
    ours = rfm_summary(cdnow, observation_end=observation_end)
    theirs = summary_data_from_transaction_data(
        cdnow,
        "customer_id",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=observation_end,
    )
    theirs.index.name = "customer_id"
    theirs = theirs.rename(columns=FROM_LIFETIMES)
    pd.testing.assert_frame_equal(ours, theirs.sort_index(), check_dtype=False)


def test_cdnow_calibration_and_holdout_equal_lifetimes(cdnow: pd.DataFrame):
    ours = rfm_summary(
        cdnow, observation_end="1998-06-30", calibration_end="1997-09-30", period="W"
    )
    theirs = calibration_and_holdout_data(
        cdnow,
        "customer_id",
        "ordered_at",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
        monetary_value_col="amount",
    ).sort_index()
    # Our calibration columns have plain names; theirs end in _cal.
    theirs = theirs.rename(columns=lambda name: name.removesuffix("_cal"))
    theirs = theirs.rename(columns=FROM_LIFETIMES)
    assert ours.index.equals(theirs.index)
    for name in ["repeat_purchases", "recency", "T", "mean_repeat_value"]:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12, err_msg=name)
    for name in ["repeat_purchases_holdout", "duration_holdout"]:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12, err_msg=name)
    # lifetimes averages single holdout orders; we average daily totals, like the
    # calibration column. They agree wherever nobody ordered twice on a holdout day.
    holdout = cdnow[cdnow["ordered_at"] > "1997-09-30"]
    twice = holdout.groupby(["customer_id", "ordered_at"]).size().loc[lambda s: s > 1]
    single = ~ours.index.isin(twice.index.get_level_values("customer_id"))
    assert 0 < (~single).sum() < 100
    np.testing.assert_allclose(
        ours.loc[single, "mean_repeat_value_holdout"],
        theirs.loc[single, "mean_repeat_value_holdout"],
        rtol=1e-12,
    )
    daily = holdout.groupby(["customer_id", "ordered_at"])["amount"].sum()
    reference = daily.groupby("customer_id").mean()
    np.testing.assert_allclose(
        ours.loc[~single, "mean_repeat_value_holdout"],
        reference.loc[ours.index[~single]],
        rtol=1e-12,
    )


def test_cdnow_reproduces_the_published_39_week_summary(cdnow: pd.DataFrame):
    """lifetimes' CDNOW summaries hold the paper's data, rounded to two decimals."""
    ours = rfm_summary(cdnow, observation_end="1997-09-30", period="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        published = load_cdnow_summary(index_col=[0]).rename(columns=FROM_LIFETIMES)
        with_money = load_cdnow_summary_data_with_monetary_value().rename(columns=FROM_LIFETIMES)
    assert len(ours) == len(published) == 2357
    ours = ours.loc[published.index]
    np.testing.assert_array_equal(ours["repeat_purchases"], published["repeat_purchases"])
    np.testing.assert_allclose(ours["recency"], published["recency"], atol=0.005)
    np.testing.assert_allclose(ours["T"], published["T"], atol=0.005)
    np.testing.assert_allclose(
        ours["mean_repeat_value"], with_money.loc[published.index, "mean_repeat_value"], atol=0.005
    )
