"""Which traits feed a model: numeric traits of the registry, and nothing else.

A model reads only traits of :data:`cible.features.TRAITS`, never a customer profile
field, so that no attribute of special category (health, religion, ethnicity...)
can reach it, and no name, address or birth date either. :func:`check_features`
enforces this on every list of features a caller passes, and names what it refuses.

Of the traits, the numeric ones (``float64`` and ``int64``) are used as they are;
missing values stay missing (the gradient boosting in
:class:`cible.models.ChurnModel` handles them natively). The four others are left
out rather than encoded:

- ``first_order_at`` and ``last_order_at`` are dates: ``recency_days`` and
  ``tenure_days`` carry them as durations, which mean the same at any ``as_of``.
- ``top_channel`` is a label whose whole content is in the ``channel_share_*`` traits.
- ``top_category`` holds the workspace's own category names (dozens in a real
  catalogue, different in every workspace); a one-hot encoding of them would make
  the feature set depend on the data. ``top_category_share`` and ``category_count``
  keep its numeric part.

Examples
--------
>>> DEFAULT_FEATURES[:3]
('recency_days', 'frequency', 'monetary_value')
>>> check_features(["frequency", "recency_days"])
('frequency', 'recency_days')
>>> check_features(["gender"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cible.models.errors.ModelDataError: 'gender' is a customer profile field...
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from cible.domain.schema import CUSTOMERS
from cible.features import TRAITS
from cible.models.errors import ModelDataError

#: Trait types a model reads.
NUMERIC_DTYPES = ("float64", "int64")

#: Every numeric trait, in registry order: the features used when none are named.
DEFAULT_FEATURES: tuple[str, ...] = tuple(t.name for t in TRAITS if t.dtype in NUMERIC_DTYPES)

_TRAITS = {t.name: t for t in TRAITS}
_RULE = (
    "Models read only the numeric traits of cible.features.TRAITS: customer profile "
    "fields never enter a model, and special-category ones (health, religion, "
    "ethnicity...) least of all."
)


def check_features(features: Iterable[str] | None) -> tuple[str, ...]:
    """Validate a list of feature names against the trait registry.

    Parameters
    ----------
    features : iterable of str or None
        Trait names; None means :data:`DEFAULT_FEATURES`.

    Returns
    -------
    tuple of str
        The names, in the order given.

    Raises
    ------
    ModelDataError
        When the list is empty or a single string, names a feature twice, or holds
        a name that is not a numeric trait; the message names the first offender.
    """
    if features is None:
        return DEFAULT_FEATURES
    if isinstance(features, str):
        raise ModelDataError(
            f"features must be a list of trait names, not the single string {features!r}."
        )
    names = tuple(features)
    if not names:
        raise ModelDataError("features is empty: name at least one numeric trait, or pass None.")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise ModelDataError(f"feature {name!r} is not a trait name (a string).")
        if name in seen:
            raise ModelDataError(f"feature {name!r} is listed twice.")
        seen.add(name)
        _check_one(name)
    return names


def _check_one(name: str) -> None:
    trait = _TRAITS.get(name)
    if trait is None:
        if name in CUSTOMERS.names:
            sensitivity = CUSTOMERS.field(name).sensitivity.value
            raise ModelDataError(
                f"{name!r} is a customer profile field (sensitivity {sensitivity}), "
                f"not a trait, so it cannot feed a model. {_RULE}"
            )
        raise ModelDataError(
            f"{name!r} is not a trait, so it cannot feed a model. {_RULE} "
            f"Numeric traits: {', '.join(DEFAULT_FEATURES)}."
        )
    if trait.dtype not in NUMERIC_DTYPES:
        raise ModelDataError(
            f"trait {name!r} is a {trait.dtype}, not a number; models read numeric "
            f"traits only (see cible.models.feature_set for how the others are covered)."
        )


def feature_matrix(frame: pd.DataFrame, features: tuple[str, ...]) -> pd.DataFrame:
    """The ``features`` columns of ``frame`` as float64, missing values as NaN.

    Parameters
    ----------
    frame : DataFrame
        Traits, one row per customer (or per customer and date).
    features : tuple of str
        Names already checked by :func:`check_features`.

    Returns
    -------
    DataFrame
        One float64 column per feature, in that order, indexed like ``frame``.

    Raises
    ------
    ModelDataError
        When a column is missing or holds values that are not numbers.
    """
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise ModelDataError(
            f"the table has no {missing[0]!r} column"
            + (f" (nor {len(missing) - 1} other feature(s))" if len(missing) > 1 else "")
            + "; pass the traits computed by cible.features.compute_traits."
        )
    columns: dict[str, pd.Series] = {}
    for name in features:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            raise ModelDataError(f"column {name!r} holds {column.dtype} values, not numbers.")
        columns[name] = column.astype(np.float64)
    return pd.DataFrame(columns, index=frame.index)
