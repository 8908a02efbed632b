"""What every CLV model shares: input checks, the fitted check, save and load as JSON.

Models take either one table with the columns `rfm_summary` writes
(``repeat_purchases``, ``recency``, ``T``, ``mean_repeat_value``) or one array per
column. Results are keyed by the table's index (the ``customer_id``), or by position
when plain arrays came in.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from cible.clv.errors import ModelError

FloatArray = npt.NDArray[np.float64]
#: One value per customer: a number (the same for all), a list, an array or a Series.
ArrayLike = float | int | Sequence[float] | npt.NDArray[Any] | pd.Series
#: A summary table from `rfm_summary`, or the first of several per-customer arrays.
Data = pd.DataFrame | ArrayLike

_SAVE_FORMAT = 1


def customer_columns(
    names: Sequence[str], values: Sequence[Data | None]
) -> tuple[pd.Index, list[FloatArray]]:
    """Read per-customer columns from one table or from separate arrays.

    ``values[0]`` may be a DataFrame holding every column of ``names`` (and then the
    other values must be None), or each value is array-like; scalars broadcast.
    Returns the index to key results by and one float array per name.
    """
    first = values[0]
    if isinstance(first, pd.DataFrame):
        extra = [name for name, v in zip(names[1:], values[1:], strict=True) if v is not None]
        if extra:
            raise ModelError(
                f"Pass either a table or separate arrays, not both (got a table and {extra[0]})."
            )
        missing = [name for name in names if name not in first.columns]
        if missing:
            raise ModelError(
                f"The table has no {missing[0]!r} column (columns: "
                f"{', '.join(map(str, first.columns))}); build it with rfm_summary()."
            )
        if not first.index.is_unique:
            duplicated = first.index[first.index.duplicated()][0]
            raise ModelError(f"Customer {duplicated!r} appears more than once in the table.")
        arrays = [_numeric(name, first[name]) for name in names]
        return first.index, arrays
    absent = [name for name, v in zip(names, values, strict=True) if v is None]
    if absent:
        raise ModelError(f"{absent[0]} is required when no summary table is given.")
    arrays = [_numeric(name, value) for name, value in zip(names, values, strict=True)]
    try:
        arrays = [np.ascontiguousarray(a) for a in np.broadcast_arrays(*arrays)]
    except ValueError:
        sizes = ", ".join(f"{name}: {a.size}" for name, a in zip(names, arrays, strict=True))
        raise ModelError(f"Per-customer inputs differ in length ({sizes}).") from None
    series = [v for v in values if isinstance(v, pd.Series) and len(v) == arrays[0].size]
    index = series[0].index if series else pd.RangeIndex(arrays[0].size)
    return index, arrays


def _numeric(name: str, value: object) -> FloatArray:
    try:
        array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ModelError(f"{name} must hold numbers.") from None
    if array.ndim != 1:
        raise ModelError(f"{name} must be one-dimensional (got shape {array.shape}).")
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ModelError(f"{name} has {bad} missing or infinite value(s).")
    return array


def check_rfm(repeat_purchases: FloatArray, recency: FloatArray, age: FloatArray) -> None:
    """Refuse histories no customer can have; each message counts the offending rows."""
    checks = [
        (repeat_purchases < 0, "repeat_purchases is negative"),
        (
            repeat_purchases != np.round(repeat_purchases),
            "repeat_purchases is not a whole number of purchases",
        ),
        (recency < 0, "recency is negative"),
        (age < recency, "T (age) is smaller than recency"),
        (
            (repeat_purchases == 0) & (recency != 0),
            "recency is not 0 although repeat_purchases is 0",
        ),
    ]
    for mask, reason in checks:
        count = int(np.count_nonzero(mask))
        if count:
            raise ModelError(f"{count} customer(s) have an impossible history: {reason}.")


class CLVModel:
    """Base class: the setting, the fitted check and JSON persistence of parameters.

    Subclasses list in ``_fitted_attributes`` what `save` writes; every one of them
    ends in ``_`` and holds numbers, booleans or a dict of numbers.

    Parameters
    ----------
    max_iter : int, default 500
        Most BFGS iterations before the fit is declared not to converge.

    Attributes
    ----------
    params_ : dict of str to float
        The fitted parameters, named as in the model's literature.
    standard_errors_ : dict of str to float
        Asymptotic standard errors from the inverse Hessian of the log-likelihood
        (delta method from the log scale the fit works on).
    log_likelihood_ : float
        Log-likelihood at the estimate.
    n_customers_ : int
        Customers the fit used.
    """

    _fitted_attributes: ClassVar[tuple[str, ...]] = (
        "params_",
        "standard_errors_",
        "log_likelihood_",
        "n_customers_",
    )

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int

    def __init__(self, max_iter: int = 500) -> None:
        self.max_iter = max_iter

    def check_is_fitted(self) -> None:
        """Raise `ModelError` unless `fit` (or `load`) has run."""
        if not hasattr(self, "params_"):
            raise ModelError(f"This {type(self).__name__} is not fitted yet: call fit() first.")

    def get_params(self) -> dict[str, Any]:
        """The arguments given to ``__init__`` (scikit-learn convention)."""
        signature = inspect.signature(type(self).__init__)
        return {name: getattr(self, name) for name in list(signature.parameters)[1:]}

    def save(self, path: str | Path) -> None:
        """Write the model's settings and fitted parameters to a JSON file."""
        self.check_is_fitted()
        document = {
            "format": _SAVE_FORMAT,
            "model": type(self).__name__,
            "settings": self.get_params(),
            "fitted": {name: getattr(self, name) for name in self._fitted_attributes},
        }
        Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by `save`; refuse a file written for another model."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"Cannot read a saved model from {path}: {error}.") from None
        if not isinstance(document, dict) or document.get("model") != cls.__name__:
            found = document.get("model") if isinstance(document, dict) else None
            raise ModelError(f"{path} holds a {found or 'unknown'} model, not a {cls.__name__}.")
        if document.get("format") != _SAVE_FORMAT:
            raise ModelError(f"{path} was saved in format {document.get('format')}, not 1.")
        model = cls(**document["settings"])
        fitted = document["fitted"]
        missing = [name for name in cls._fitted_attributes if name not in fitted]
        if missing:
            raise ModelError(f"{path} lacks the fitted value {missing[0]!r}.")
        for name in cls._fitted_attributes:
            setattr(model, name, fitted[name])
        return model

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}({settings})"
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({settings}) fitted on {self.n_customers_}: {fitted}"
