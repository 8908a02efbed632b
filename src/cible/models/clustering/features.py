"""Which traits a clustering reads, and how they become comparable numbers.

Choice (:func:`choose_features`)
    A clustering describes how customers behave, so by default it reads the
    *observed* traits of :data:`cible.features.TRAITS`, numbers and labels, and
    leaves out, with a reason each:

    - dates and timestamps (``recency_days`` and ``tenure_days`` carry them as
      durations, which mean the same whatever the date of the run);
    - identifiers and bookkeeping (category ``identifier`` or ``technical``);
    - anything whose name is a customer profile field of sensitivity ``personal``
      (name, birth date, postal code...) or ``special`` (health, religion...):
      a special field without a recorded legal basis is refused even when asked for;
    - traits a run derives from the observed ones (RFM scores, lifecycle stage, value
      tier, lifetime value, churn risk): they restate the same behaviour through
      another model's settings, so using them would count it twice and tie the
      clusters to those models. Name them in ``include`` to use them anyway.

Preprocessing (:class:`TraitPreprocessor`, fitted on the clustering sample)
    1. *Missing values* are replaced by the trait's median; a 0/1 "has no value"
       column is added when at least 1 % of customers lack the trait, once per
       distinct pattern (every purchase trait of a prospect is missing at once: one
       column says so, not fifteen).
    2. *Skew*: a non-negative trait whose sample skewness exceeds ``skew_threshold``
       is read through ``log1p``, so that a few large spenders do not stretch the
       distances of everyone else.
    3. *Scaling*: median and interquartile range (scikit-learn's ``RobustScaler``);
       when most customers share one value the IQR is 0, and the scale falls back
       to ``1.349 x std``, the IQR of a normal distribution of that spread.
       Values are then clipped to the [0.1 %, 99.9 %] quantiles seen in fit.
    4. *Labels* with at most ``max_levels`` values are one-hot encoded, each column
       multiplied by a weight ``w`` in the manner of k-prototypes (Huang 1998): two
       customers whose labels differ are at squared distance ``2 w^2``, while two
       customers drawn at random differ by about ``2 s^2`` on a numeric column of
       standard deviation ``s``. With ``w = sqrt(categorical_weight) * s_mean``, a
       label weighs ``categorical_weight`` (default 0.5) times a typical numeric trait.
       Missing-value columns get the same weight: they, too, are one yes/no fact.
    5. Columns where 99 % of the sample share a value, and labels with too many
       values, are dropped and reported; so is a column correlated at 0.9 or more
       (after steps 1-3) with an earlier one, which measures the same behaviour
       (``category_count`` and ``frequency``, sessions and product views): counted
       twice, that behaviour would weigh double in every distance.

Examples
--------
>>> import pandas as pd
>>> from cible.features import TRAITS
>>> choice = choose_features(TRAITS, columns=["frequency", "monetary_value", "top_channel"])
>>> [t.name for t in choice.numeric], [t.name for t in choice.categorical]
(['frequency', 'monetary_value'], ['top_channel'])
>>> frame = pd.DataFrame({"frequency": [1, 2, 3, 40] * 5, "monetary_value": [10.0] * 20,
...                       "top_channel": ["web", "store"] * 10})
>>> prep = TraitPreprocessor(choice.numeric, choice.categorical).fit(frame)
>>> prep.log_, prep.feature_names_out_
(['frequency'], ['frequency', 'top_channel=store', 'top_channel=web'])
>>> [d.trait for d in prep.dropped_]
['monetary_value']
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from cible.domain.schema import CUSTOMERS, Category, Field, Sensitivity
from cible.features import TRAITS, Trait
from cible.models.errors import ModelDataError

#: The observed traits: those :func:`cible.features.compute_traits` returns.
OBSERVED: frozenset[str] = frozenset(t.name for t in TRAITS)

_NUMERIC = ("float64", "int64")
#: Correlation from which a column is taken to measure the same behaviour as an earlier one.
REDUNDANT_CORRELATION = 0.9
_HIDDEN_CATEGORIES = (Category.IDENTIFIER, Category.TECHNICAL)


@dataclass(frozen=True)
class ExcludedTrait:
    """A trait the clustering does not read, and why.

    Attributes
    ----------
    trait : str
        Trait name.
    code : str
        Short reason: ``date``, ``identifier``, ``personal``, ``special``,
        ``derived``, ``excluded``, ``absent``, ``empty``, ``near_constant``,
        ``redundant`` or ``too_many_values``.
    reason : Mapping
        The reason as a sentence, ``{"en": ..., "fr": ...}``.
    """

    trait: str
    code: str
    reason: Mapping[str, str]


_REASONS = {
    "date": (
        "a date: durations such as recency_days carry it",
        "une date : les durées comme recency_days la portent",
    ),
    "identifier": (
        "an identifier or bookkeeping field, not a behaviour",
        "un identifiant ou une donnée technique, pas un comportement",
    ),
    "personal": (
        "a personal profile field, kept out of clustering",
        "une donnée personnelle du profil, tenue à l'écart du clustering",
    ),
    "special": (
        "a special-category field without a recorded legal basis",
        "une donnée sensible sans base légale enregistrée",
    ),
    "derived": (
        "derived from other traits by another model; name it in include to use it",
        "dérivé d'autres traits par un autre modèle ; l'inclure explicitement pour l'utiliser",
    ),
    "excluded": ("excluded on request", "exclu à la demande"),
    "absent": ("not a column of the table", "absent de la table"),
    "empty": (
        "no customer of the sample has a value",
        "aucun client de l'échantillon n'a de valeur",
    ),
    "near_constant": (
        "the same value for at least 99% of the sample",
        "la même valeur pour au moins 99 % de l'échantillon",
    ),
    "too_many_values": (
        "a label with too many distinct values to encode",
        "un libellé aux valeurs distinctes trop nombreuses pour être encodé",
    ),
}


def excluded(trait: str, code: str) -> ExcludedTrait:
    """An :class:`ExcludedTrait` with the standard sentence for ``code``.

    Examples
    --------
    >>> excluded("first_order_at", "date").reason["en"]
    'a date: durations such as recency_days carry it'
    """
    english, french = _REASONS[code]
    return ExcludedTrait(trait, code, {"en": english, "fr": french})


def redundant(column: str, twin: str, correlation: float) -> ExcludedTrait:
    """An :class:`ExcludedTrait` for a column that moves with an earlier one.

    Examples
    --------
    >>> redundant("category_count", "frequency", 0.93).reason["fr"]
    'varie avec frequency (corrélation 0,93) : comptée une fois'
    """
    value = f"{correlation:.2f}"
    return ExcludedTrait(
        column,
        "redundant",
        {
            "en": f"moves with {twin} (correlation {value}): counted once",
            "fr": f"varie avec {twin} (corrélation {value.replace('.', ',')}) : comptée une fois",
        },
    )


@dataclass(frozen=True)
class FeatureChoice:
    """The traits a clustering reads, by kind, and those it leaves out.

    Attributes
    ----------
    numeric : tuple of Trait
        Numbers, scaled.
    categorical : tuple of Trait
        Labels, one-hot encoded.
    excluded : tuple of ExcludedTrait
        Everything else, with the reason.
    """

    numeric: tuple[Trait, ...]
    categorical: tuple[Trait, ...]
    excluded: tuple[ExcludedTrait, ...]


def choose_features(
    traits: Sequence[Trait],
    *,
    columns: Collection[str],
    fields: Iterable[Field] = CUSTOMERS.fields,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    observed: Collection[str] = OBSERVED,
) -> FeatureChoice:
    """Choose the traits a clustering reads (rules in the module docstring).

    Parameters
    ----------
    traits : sequence of Trait
        Every trait known: :data:`cible.features.TRAITS` and a run's additions.
    columns : collection of str
        Columns of the table to cluster; a trait without a column is left out.
    fields : iterable of Field
        Customer profile fields with their sensitivity (a workspace passes its
        registry's ``customers`` fields, custom attributes included).
    include : iterable of str, optional
        Traits to read even when derived; None reads the observed ones.
    exclude : iterable of str
        Traits not to read.
    observed : collection of str
        Names of the observed traits; the others are derived.

    Returns
    -------
    FeatureChoice

    Raises
    ------
    ModelDataError
        When ``include`` names an unknown trait or a special-category field without
        legal basis, or when no trait is left.
    """
    by_name = {t.name: t for t in traits}
    profile = {f.name: f for f in fields}
    wanted = None if include is None else list(include)
    for name in wanted or ():
        if name not in by_name:
            raise ModelDataError(f"include names {name!r}, which is not a known trait.")
        field = profile.get(name)
        if field is not None and not field.usable_for_targeting:
            raise ModelDataError(
                f"{name!r} is a special-category field without a recorded legal basis, "
                "so it cannot feed a clustering."
            )
    dropped = set(exclude)
    numeric: list[Trait] = []
    categorical: list[Trait] = []
    left_out: list[ExcludedTrait] = []
    for trait in traits:
        code = _exclusion(trait, profile.get(trait.name), columns, wanted, dropped, observed)
        if code is not None:
            left_out.append(excluded(trait.name, code))
        elif trait.dtype in _NUMERIC:
            numeric.append(trait)
        else:
            categorical.append(trait)
    if not numeric and not categorical:
        raise ModelDataError(
            "no trait is left to cluster on: pass the traits computed by "
            "cible.features.compute_traits, or name some in include."
        )
    return FeatureChoice(tuple(numeric), tuple(categorical), tuple(left_out))


def _exclusion(
    trait: Trait,
    field: Field | None,
    columns: Collection[str],
    wanted: list[str] | None,
    dropped: set[str],
    observed: Collection[str],
) -> str | None:
    if trait.dtype == "timestamp":
        return "date"
    if trait.category in _HIDDEN_CATEGORIES:
        return "identifier"
    if field is not None and not field.usable_for_targeting:
        return "special"
    if field is not None and field.sensitivity is not Sensitivity.NONE and wanted is None:
        return "personal"
    if trait.name in dropped:
        return "excluded"
    if wanted is None and trait.name not in observed:
        return "derived"
    if wanted is not None and trait.name not in wanted:
        return "excluded"
    if trait.name not in columns:
        return "absent"
    return None


class TraitPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn has no types
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
                scale = 1.349 * float(known.std()) or 1.0
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
