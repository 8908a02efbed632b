"""Preprocessing: log decided on skewness, robust scaling, missing values, labels, redundancy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew
from sklearn.preprocessing import RobustScaler

from cible.features import get_trait
from cible.models.clustering import TraitPreprocessor
from cible.models.errors import ModelDataError


def _frame(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    spend = rng.lognormal(4, 1.2, n)
    frame = pd.DataFrame(
        {
            "monetary_value": spend,
            "avg_order_value": spend * rng.uniform(0.95, 1.05, n),  # the same behaviour
            "tenure_days": rng.uniform(0, 1000, n),
            "recency_days": rng.uniform(0, 365, n),
            "returns": (rng.random(n) < 0.1) * rng.integers(1, 4, n),
            "cancellations": np.zeros(n, dtype=int),
            "discount_share": rng.normal(0.3, 0.1, n),
            "email_open_rate": rng.uniform(0, 1, n),
            "top_channel": rng.choice(["web", "store", "app"], n, p=[0.5, 0.3, 0.2]),
            "top_category": [f"cat{i}" for i in rng.integers(0, 20, n)],
        }
    )
    frame.loc[:199, "recency_days"] = np.nan
    frame.loc[:199, "email_open_rate"] = np.nan  # the same pattern: one indicator
    return frame


def _prep(frame: pd.DataFrame, **settings: object) -> TraitPreprocessor:
    numeric = [get_trait(c) for c in frame.columns if c not in ("top_channel", "top_category")]
    labels = [get_trait("top_channel"), get_trait("top_category")]
    return TraitPreprocessor(numeric, labels, **settings).fit(frame)


def test_log_is_decided_on_skewness_and_recorded() -> None:
    frame = _frame()
    prep = _prep(frame)
    assert prep.skewness_["monetary_value"] == pytest.approx(skew(frame["monetary_value"]))
    assert "monetary_value" in prep.log_
    assert "tenure_days" not in prep.log_
    assert "discount_share" not in prep.log_
    assert "monetary_value" not in _prep(frame, skew_threshold=100.0).log_


def test_scaling_matches_robust_scaler_and_falls_back_when_iqr_is_zero() -> None:
    frame = _frame()
    prep = _prep(frame)
    x = prep.transform(frame)
    names = prep.feature_names_out_
    reference = RobustScaler().fit(np.log1p(frame[["monetary_value"]]))
    j = prep.numeric_.index("monetary_value")
    assert prep.centers_[j] == pytest.approx(reference.center_[0])
    assert prep.scales_[j] == pytest.approx(reference.scale_[0])
    inside = (x[:, names.index("monetary_value")] > -2) & (x[:, names.index("monetary_value")] < 2)
    assert x[inside, names.index("monetary_value")] == pytest.approx(
        reference.transform(np.log1p(frame[["monetary_value"]]))[inside, 0]
    )
    k = prep.numeric_.index("returns")  # 90% zeros: IQR 0
    logged = np.log1p(frame["returns"])
    assert prep.scales_[k] == pytest.approx(logged[logged > 0].median())
    one_return = prep.transform(frame.iloc[:1].assign(returns=1))[0, names.index("returns")]
    assert one_return == pytest.approx(np.log1p(1) / logged[logged > 0].median())


def test_missing_values_near_constant_and_redundant_columns() -> None:
    frame = _frame()
    prep = _prep(frame)
    names = prep.feature_names_out_
    assert prep.indicators_ == ["recency_days"]
    x = prep.transform(frame)
    j = names.index("recency_days")
    median = np.nanmedian(frame["recency_days"])
    assert x[0, j] == pytest.approx((median - prep.centers_[j]) / prep.scales_[j])
    assert x[:200, names.index("recency_days:missing")] == pytest.approx(prep.categorical_weight_)
    dropped = {d.trait: d for d in prep.dropped_}
    assert dropped["cancellations"].code == "near_constant"
    assert dropped["avg_order_value"].code == "redundant"
    assert "monetary_value" in dropped["avg_order_value"].reason["en"]
    assert dropped["email_open_rate:missing"].code == "redundant"
    assert dropped["top_category"].code == "too_many_values"
    assert "avg_order_value" not in names and "cancellations" not in names


def test_labels_are_one_hot_with_the_k_prototypes_weight() -> None:
    frame = _frame()
    prep = _prep(frame, categorical_weight=0.5)
    names = prep.feature_names_out_
    assert names[-3:] == ["top_channel=web", "top_channel=store", "top_channel=app"]
    x = prep.transform(frame)
    numeric = x[:, : len(prep.numeric_)]
    assert prep.categorical_weight_ == pytest.approx(np.sqrt(0.5) * numeric.std(axis=0).mean())
    web = x[:, names.index("top_channel=web")]
    assert set(np.round(web, 12)) == {0.0, round(prep.categorical_weight_, 12)}
    unseen = frame.iloc[:3].assign(top_channel=["phone", None, "web"])
    encoded = prep.transform(unseen)[:, -3:]
    assert (encoded[:2] == 0).all() and encoded[2, 0] > 0


def test_transform_needs_the_columns_seen_in_fit() -> None:
    frame = _frame()
    prep = _prep(frame)
    with pytest.raises(ModelDataError, match="no 'tenure_days' column"):
        prep.transform(frame.drop(columns="tenure_days"))
    with pytest.raises(ModelDataError, match=r"holds .* values, not numbers"):
        prep.transform(frame.assign(tenure_days="x"))


def test_a_long_tail_cannot_spread_a_column_over_many_iqrs() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "return_rate": rng.beta(0.3, 6.0, 5_000),  # most near 0, a long tail
            "tenure_days": rng.normal(500, 100, 5_000),
        }
    )
    prep = TraitPreprocessor([get_trait("return_rate"), get_trait("tenure_days")]).fit(frame)
    x = prep.transform(frame)
    values = frame["return_rate"].to_numpy()
    iqr = np.subtract(*np.quantile(values, [0.75, 0.25]))
    assert prep.scales_[0] > iqr  # the IQR alone would give a std of about 1.5
    assert x[:, 0].std() == pytest.approx(1 / 1.349, rel=0.01)
    reference = RobustScaler().fit(frame[["tenure_days"]])
    # No tail: the IQR and 1.349 standard deviations estimate the same spread.
    assert prep.scales_[1] == pytest.approx(reference.scale_[0], rel=0.05)
