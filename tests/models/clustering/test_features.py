"""Trait choice and preprocessing: exclusions with reasons, log, scaling, encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew
from sklearn.preprocessing import RobustScaler

from cible.domain.schema import CUSTOMERS, Category, Field, FieldType, Sensitivity
from cible.features import TRAITS, Trait, get_trait
from cible.models.clustering import TraitPreprocessor, choose_features
from cible.models.errors import ModelDataError

RELIGION = Field("religion", FieldType.STRING, Category.DEMOGRAPHIC, Sensitivity.SPECIAL)
AGE = Field("age", FieldType.NUMBER, Category.DEMOGRAPHIC, Sensitivity.PERSONAL)
FIELDS = (*CUSTOMERS.fields, RELIGION, AGE)
EXTRA = (
    Trait("religion", "string", "", Category.DEMOGRAPHIC, "Religion.", "Religion."),
    Trait("age", "float64", "", Category.DEMOGRAPHIC, "Age.", "Âge."),
    Trait("postal_code", "string", "", Category.GEOGRAPHIC, "Postal code.", "Code postal."),
    Trait("rfm_r", "int64", "", Category.VALUE, "Recency score.", "Score de récence."),
    Trait("external_id", "string", "", Category.IDENTIFIER, "Id.", "Id."),
)
ALL = (*TRAITS, *EXTRA)
COLUMNS = [t.name for t in ALL]


def _codes(choice) -> dict[str, str]:
    return {e.trait: e.code for e in choice.excluded}


def test_default_choice_reads_observed_traits_and_says_why_others_are_left_out() -> None:
    choice = choose_features(ALL, columns=COLUMNS, fields=FIELDS)
    used = {t.name for t in (*choice.numeric, *choice.categorical)}
    codes = _codes(choice)
    assert codes["first_order_at"] == "date"
    assert codes["religion"] == "special"
    assert codes["age"] == "personal"
    assert codes["postal_code"] == "personal"
    assert codes["rfm_r"] == "derived"
    assert codes["external_id"] == "identifier"
    assert used.isdisjoint(codes)
    assert used | set(codes) == set(COLUMNS)
    assert {"frequency", "discount_share", "top_channel"} <= used
    assert [t.name for t in choice.categorical] == ["top_channel", "top_category"]
    reason = next(e.reason for e in choice.excluded if e.trait == "religion")
    assert set(reason) == {"en", "fr"} and "legal basis" in reason["en"]


def test_include_exclude_and_absent_columns() -> None:
    choice = choose_features(
        ALL,
        columns=["frequency", "rfm_r", "age"],
        fields=FIELDS,
        include=["frequency", "rfm_r", "age", "recency_days"],
    )
    assert [t.name for t in choice.numeric] == ["frequency", "age", "rfm_r"]
    codes = _codes(choice)
    assert codes["recency_days"] == "absent"
    assert codes["monetary_value"] == "excluded"
    dropped = choose_features(TRAITS, columns=COLUMNS, exclude=["frequency"])
    assert _codes(dropped)["frequency"] == "excluded"


def test_special_fields_are_refused_even_when_named() -> None:
    with pytest.raises(ModelDataError, match="'religion' is a special-category field"):
        choose_features(ALL, columns=COLUMNS, fields=FIELDS, include=["religion"])
    allowed = Field(
        "religion",
        FieldType.STRING,
        Category.DEMOGRAPHIC,
        Sensitivity.SPECIAL,
        legal_basis="consent",
    )
    choice = choose_features(ALL, columns=COLUMNS, fields=(allowed,), include=["religion"])
    assert [t.name for t in choice.categorical] == ["religion"]
    with pytest.raises(ModelDataError, match="include names 'recncy', which is not a known trait"):
        choose_features(ALL, columns=COLUMNS, include=["recncy"])
    with pytest.raises(ModelDataError, match="no trait is left"):
        choose_features(ALL, columns=[])


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
    assert prep.scales_[k] == pytest.approx(1.349 * np.log1p(frame["returns"]).std(ddof=0))


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
