"""How the chosen traits become numbers that Euclidean distance compares fairly.

:class:`TraitPreprocessor` is fitted on the clustering sample and applied unchanged to
every customer afterwards:

1. *Missing values* are replaced by the trait's median; a 0/1 "has no value" column
   is added when at least 1 % of customers lack the trait (step 5 keeps one column
   per pattern: every purchase trait of a prospect is missing at once).
2. *Skew*: a non-negative trait whose sample skewness exceeds ``skew_threshold`` is
   read through ``log1p``, so that a few large spenders do not stretch the distances
   of everyone else.
3. *Scaling*: median and interquartile range (scikit-learn's ``RobustScaler``).
   When more than half of the customers share one value (0 returns, 0 orders by
   phone) the IQR is 0; the scale is then the distance from that value to the median
   of the others, so that "one return rather than none" weighs one interquartile
   step. (A standard deviation would make a rare event weigh the more, the rarer it
   is: a 0/1 column with 10 % of ones moves by 3.3 standard deviations.) The scale is
   never below 1.349 standard deviations (the IQR of a normal distribution, so the
   two agree on bell-shaped traits): a long tail that log1p cannot fold, such as a
   return rate near 0 for most customers, would otherwise spread one column over many
   IQRs and let it outweigh every other trait (on a simulated base, k-means then split
   off "return rate >= 19 %" customers of every planted group as a seventh cluster).
   Values are clipped to the [0.1 %, 99.9 %] quantiles seen in fit.
4. *Labels* with at most ``max_levels`` values are one-hot encoded, each column
   multiplied by a weight ``w`` in the manner of k-prototypes (Huang 1998): two
   customers whose labels differ are at squared distance ``2 w^2``, while two
   customers drawn at random differ by about ``2 s^2`` on a numeric column of
   standard deviation ``s``. With ``w = sqrt(categorical_weight) * s_mean``, a label
   weighs ``categorical_weight`` (default 0.5) times a typical numeric trait.
   Missing-value columns get the same weight: they, too, are one yes/no fact.
5. Columns where 99 % of the sample share a value, and labels with too many values,
   are dropped and reported; so is a column correlated at 0.9 or more (after steps
   1-3) with an earlier one, which measures the same behaviour (``category_count``
   and ``frequency``, sessions and product views): counted twice, that behaviour
   would weigh double in every distance.

Examples
--------
>>> import pandas as pd
>>> from cible.features import get_trait
>>> frame = pd.DataFrame({"frequency": [1, 2, 3, 40] * 5, "monetary_value": [10.0] * 20,
...                       "top_channel": ["web", "store"] * 10})
>>> prep = TraitPreprocessor([get_trait("frequency"), get_trait("monetary_value")],
...                          [get_trait("top_channel")]).fit(frame)
>>> prep.log_, prep.feature_names_out_
(['frequency'], ['frequency', 'top_channel=store', 'top_channel=web'])
>>> [d.trait for d in prep.dropped_]
['monetary_value']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from cible.features import Trait
from cible.models.clustering.features import ExcludedTrait, excluded, redundant
from cible.models.errors import ModelDataError

#: Correlation from which a column is taken to measure the same behaviour as an earlier one.
REDUNDANT_CORRELATION = 0.9
#: The IQR of a normal distribution, in standard deviations: the smallest scale is this
#: times the column's standard deviation.
TAIL_SPREAD = 1.349


class TraitPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn: no types
    """Turn traits into a matrix where Euclidean distance compares customers fairly.

    Steps and the reasons for them are in the module docstring.

    Parameters
    ----------
    numeric : sequence of Trait
        Number traits.
    categorical : sequence of Trait
        Label traits.
    skew_threshold : float, default 1.0
        Sample skewness above which a non-negative trait is log-transformed.
    categorical_weight : float, default 0.5
        Weight of a label (and of a missing-value column) relative to a numeric trait.
    max_levels : int, default 10
        Labels with more distinct values are dropped.
    min_missing_share : float, default 0.01
        Share of missing values from which a "has no value" column is added.
    near_constant_share : float, default 0.99
        Share of one value from which a column is dropped.

    Attributes
    ----------
    numeric_ : list of str
        Numeric traits kept.
    log_ : list of str
        Numeric traits read through ``log1p``.
    skewness_ : dict
        Sample skewness of each numeric trait, before any transform.
    medians_, centers_, scales_, lower_, upper_ : ndarray
        Imputation values (after log), centre and scale, clipping bounds.
    indicators_ : list of str
        Traits whose missing values got their own column (one per pattern).
    levels_ : dict
        Label trait -> encoded values, most frequent first.
    categorical_weight_ : float
        Multiplier of one-hot and missing-value columns.
    dropped_ : list of ExcludedTrait
        Columns left out in fit, with the reason.
    feature_names_out_ : list of str
        Column names of the transformed matrix.
    """

    def __init__(
        self,
        numeric: Sequence[Trait] = (),
        categorical: Sequence[Trait] = (),
        skew_threshold: float = 1.0,
        categorical_weight: float = 0.5,
        max_levels: int = 10,
        min_missing_share: float = 0.01,
        near_constant_share: float = 0.99,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.skew_threshold = skew_threshold
        self.categorical_weight = categorical_weight
        self.max_levels = max_levels
        self.min_missing_share = min_missing_share
        self.near_constant_share = near_constant_share

    def fit(self, frame: pd.DataFrame, y: object = None) -> TraitPreprocessor:
        """Learn imputation, transforms, scales and label values from ``frame``."""
        _check_columns(frame, [t.name for t in (*self.numeric, *self.categorical)])
        self.dropped_: list[ExcludedTrait] = []
        self._fit_numeric(frame)
        self._fit_labels(frame)
        typical = float(self._numeric_block(frame).std(axis=0).mean()) if self.numeric_ else 1.0
        self.categorical_weight_ = float(np.sqrt(self.categorical_weight) * typical)
        self.feature_names_out_ = [
            *self.numeric_,
            *(f"{name}:missing" for name in self.indicators_),
            *(f"{name}={level}" for name, levels in self.levels_.items() for level in levels),
        ]
        return self

    def _fit_numeric(self, frame: pd.DataFrame) -> None:
        self.log_: list[str] = []
        self.skewness_: dict[str, float] = {}
        names, stats = [], []
        for trait in self.numeric:
            raw = _numbers(frame, trait.name)
            known = raw[~np.isnan(raw)]
            if known.size == 0:
                self.dropped_.append(excluded(trait.name, "empty"))
                continue
            if _top_share(known, raw.size) >= self.near_constant_share:
                self.dropped_.append(excluded(trait.name, "near_constant"))
                continue
            skewness = float(skew(known)) if np.ptp(known) > 0 else 0.0
            self.skewness_[trait.name] = skewness
            if known.min() >= 0 and skewness > self.skew_threshold:
                self.log_.append(trait.name)
                known = np.log1p(known)
            low, q1, median, q3, high = np.quantile(known, [0.001, 0.25, 0.5, 0.75, 0.999])
            scale = q3 - q1
            if scale <= 0:
                # Most customers share one value (0 returns): the step that matters is
                # to the others' typical value, which then counts as one IQR.
                others = known[known != median]
                scale = abs(float(np.median(others)) - median) if others.size else 1.0
            # A long tail (a few customers with many returns) would otherwise spread one
            # column over many IQRs and let it outweigh the others in every distance.
            scale = max(scale, TAIL_SPREAD * float(np.clip(known, low, high).std()))
            names.append(trait.name)
            stats.append((median, scale, low, high))
        self.numeric_ = names
        table = np.array(stats, dtype=np.float64).reshape(-1, 4).T.copy()
        self.medians_, self.scales_, self.lower_, self.upper_ = table
        self.centers_ = self.medians_
        self.indicators_ = [
            name
            for name in names
            if np.isnan(_numbers(frame, name)).mean() >= self.min_missing_share
        ]
        self._drop_redundant(frame)

    def _drop_redundant(self, frame: pd.DataFrame) -> None:
        """Keep, in registry order, only columns correlated below 0.9 with every kept one."""
        columns = [*self.numeric_, *(f"{name}:missing" for name in self.indicators_)]
        block = np.hstack(
            [
                self._numeric_block(frame),
                *(np.isnan(_numbers(frame, n))[:, None] for n in self.indicators_),
            ]
        ).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation: np.ndarray = np.atleast_2d(
                np.nan_to_num(np.corrcoef(block, rowvar=False), nan=0.0)
            )
        kept: list[int] = []
        for j, column in enumerate(columns):
            twins = [i for i in kept if abs(correlation[i, j]) >= REDUNDANT_CORRELATION]
            if not twins:
                kept.append(j)
                continue
            twin = columns[twins[0]]
            self.dropped_.append(redundant(column, twin, float(correlation[twins[0], j])))
        numeric = [j for j in kept if j < len(self.numeric_)]
        self.indicators_ = [
            self.indicators_[j - len(self.numeric_)] for j in kept if j >= len(self.numeric_)
        ]
        self.numeric_ = [self.numeric_[j] for j in numeric]
        self.log_ = [name for name in self.log_ if name in self.numeric_]
        for attribute in ("medians_", "scales_", "lower_", "upper_"):
            setattr(self, attribute, getattr(self, attribute)[numeric])
        self.centers_ = self.medians_

    def _fit_labels(self, frame: pd.DataFrame) -> None:
        self.levels_: dict[str, list[str]] = {}
        for trait in self.categorical:
            counts = frame[trait.name].dropna().astype(str).value_counts()
            if counts.empty:
                self.dropped_.append(excluded(trait.name, "empty"))
            elif len(counts) > self.max_levels:
                self.dropped_.append(excluded(trait.name, "too_many_values"))
            elif counts.iloc[0] >= self.near_constant_share * len(frame):
                self.dropped_.append(excluded(trait.name, "near_constant"))
            else:
                self.levels_[trait.name] = sorted(counts.index, key=lambda v: (-counts[v], v))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The matrix of ``frame``: one row per customer, :attr:`feature_names_out_` columns."""
        check_is_fitted(self, "feature_names_out_")
        _check_columns(frame, [*self.numeric_, *self.indicators_, *self.levels_])
        blocks = [self._numeric_block(frame)]
        weight = self.categorical_weight_
        for name in self.indicators_:
            blocks.append(np.isnan(_numbers(frame, name))[:, None] * weight)
        for name, levels in self.levels_.items():
            labels = frame[name].astype("object").to_numpy()
            blocks.append((labels[:, None] == np.array(levels, dtype=object)) * weight)
        return np.hstack(blocks).astype(np.float64)

    def _numeric_block(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.numeric_:
            return np.empty((len(frame), 0))
        values = np.column_stack([_numbers(frame, name) for name in self.numeric_])
        logged = np.isin(self.numeric_, self.log_)
        # A value below -1 cannot come from a trait that was non-negative in fit.
        values[:, logged] = np.log1p(np.maximum(values[:, logged], 0.0))
        values = np.where(np.isnan(values), self.medians_, values)
        values = np.clip(values, self.lower_, self.upper_)
        result: np.ndarray = (values - self.centers_) / self.scales_
        return result


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    column = frame[name]
    if not pd.api.types.is_numeric_dtype(column):
        raise ModelDataError(f"column {name!r} holds {column.dtype} values, not numbers.")
    values: np.ndarray = column.to_numpy(np.float64, na_value=np.nan)
    return values


def _check_columns(frame: pd.DataFrame, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ModelDataError(
            f"the table has no {missing[0]!r} column; pass the same traits as in fit."
        )


def _top_share(known: np.ndarray, total: int) -> float:
    _, counts = np.unique(known, return_counts=True)
    return float(counts.max()) / total
