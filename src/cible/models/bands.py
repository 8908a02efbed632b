"""Churn risk into bands a marketer acts on: ``low``, ``medium``, ``high``.

A calibrated risk is a probability of not buying over the horizon, so the cut-offs
read as such. The defaults, ``medium`` from 0.3 and ``high`` from 0.6, put in
``high`` the customers more likely to leave than to stay by a clear margin, and in
``low`` those at least twice as likely to buy again as not. They are settings, not
truths: the right cut depends on what a win-back costs and on the base churn rate,
so both are arguments.

Examples
--------
>>> risk_band(0.1), risk_band(0.3), risk_band(0.75)
('low', 'medium', 'high')
>>> risk_band(0.5, high=0.45)
'high'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cible.models.errors import ModelDataError

#: Band names, from the least to the most at risk.
BANDS = ("low", "medium", "high")
#: Default lower bounds of ``medium`` and ``high``.
MEDIUM = 0.3
HIGH = 0.6


def risk_band(risk: float, *, medium: float = MEDIUM, high: float = HIGH) -> str:
    """The band of one churn risk: ``low`` below ``medium``, ``high`` from ``high``.

    Parameters
    ----------
    risk : float
        A probability between 0 and 1.
    medium, high : float, default 0.3 and 0.6
        Lower bounds (inclusive) of the ``medium`` and ``high`` bands;
        0 <= medium <= high <= 1.

    Raises
    ------
    ModelDataError
        When ``risk`` is missing or outside [0, 1], or the cut-offs are out of order.
    """
    _check_cuts(medium, high)
    value = float(risk)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ModelDataError(f"A churn risk is a probability in [0, 1], not {risk!r}.")
    if value >= high:
        return "high"
    return "medium" if value >= medium else "low"


def risk_bands(risk: pd.Series, *, medium: float = MEDIUM, high: float = HIGH) -> pd.Series:
    """:func:`risk_band` of each value; a missing risk (a prospect) stays missing.

    Returns
    -------
    Series
        Categorical ``churn_risk_band`` with categories :data:`BANDS`, indexed
        like ``risk``.

    Examples
    --------
    >>> risk_bands(pd.Series([0.05, None, 0.61])).tolist()
    ['low', nan, 'high']
    """
    _check_cuts(medium, high)
    values = pd.to_numeric(risk, errors="raise").astype(np.float64)
    outside = values.notna() & ~values.between(0.0, 1.0)
    if outside.any():
        raise ModelDataError(
            f"A churn risk is a probability in [0, 1]; found {values[outside].iloc[0]!r}."
        )
    codes = np.where(values >= high, 2, np.where(values >= medium, 1, 0))
    codes = np.where(values.isna(), -1, codes).astype(np.int64)
    bands = pd.Categorical.from_codes(codes, categories=pd.Index(BANDS))
    return pd.Series(bands, index=risk.index, name="churn_risk_band")


def _check_cuts(medium: float, high: float) -> None:
    if not 0.0 <= medium <= high <= 1.0:
        raise ModelDataError(
            f"Band cut-offs must satisfy 0 <= medium <= high <= 1 (got medium={medium}, "
            f"high={high})."
        )
