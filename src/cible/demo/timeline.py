"""The calendar of the synthetic retailer: its period and the hours people shop.

All instants are whole seconds since the Unix epoch (UTC), held in ``int64`` arrays,
so every step can be vectorised and the output does not depend on the local clock.

Examples
--------
>>> from datetime import date
>>> period = Period.ending(date(2025, 1, 1))
>>> period.days
1096
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Seconds in a day.
DAY = 86_400
#: Average month, in days, to turn monthly rates into counts.
MONTH_DAYS = 30.44

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# Relative activity per hour of the day (French e-commerce: lunch and evening peaks).
_MORNING = (0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.6, 1.0, 1.3, 1.5, 1.6)
_AFTERNOON = (1.9, 1.7, 1.4, 1.4, 1.5, 1.7, 2.0, 2.4, 2.6, 2.3, 1.5, 0.7)
_SHOPPING_HOURS = np.array(_MORNING + _AFTERNOON)
_SHOPPING_CDF = np.cumsum(_SHOPPING_HOURS) / _SHOPPING_HOURS.sum()


@dataclass(frozen=True)
class Period:
    """The span of history the demo covers, ``[start, end)`` in epoch seconds.

    Parameters
    ----------
    start : int
        First second covered (midnight UTC).
    end : int
        First second after the history (midnight UTC of the end date).

    Examples
    --------
    >>> from datetime import date
    >>> p = Period.ending(date(2024, 6, 1), years=1)
    >>> (p.end - p.start) // DAY
    366
    """

    start: int
    end: int

    @classmethod
    def ending(cls, end_date: dt.date, years: int = 3) -> Period:
        """Return the ``years`` years that end at midnight UTC of ``end_date``."""
        try:
            first = end_date.replace(year=end_date.year - years)
        except ValueError:  # 29 February of a leap year
            first = end_date.replace(year=end_date.year - years, day=28)
        return cls(_epoch_seconds(first), _epoch_seconds(end_date))

    @property
    def days(self) -> int:
        """Length of the period in days."""
        return (self.end - self.start) // DAY


def _epoch_seconds(day: dt.date) -> int:
    return int((day - dt.date(1970, 1, 1)).days) * DAY


def at_shopping_hour(rng: np.random.Generator, instants: IntArray) -> IntArray:
    """Move each instant to a random time of its own day, drawn from shopping hours.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> moved = at_shopping_hour(rng, np.array([0, DAY + 5], dtype=np.int64))
    >>> (moved // DAY).tolist()
    [0, 1]
    """
    hours = np.searchsorted(_SHOPPING_CDF, rng.random(instants.size), side="right")
    seconds = rng.integers(0, 3600, instants.size)
    moved = (instants // DAY) * DAY + np.minimum(hours, 23) * 3600 + seconds
    return np.asarray(moved, dtype=np.int64)


def spread(
    rng: np.random.Generator, low: IntArray, high: IntArray, skew: FloatArray | float = 1.0
) -> IntArray:
    """Draw one instant in ``[low, high)`` per row; ``skew > 1`` favours recent ones.

    The instant is ``high - (high - low) * u ** skew``, so with ``skew = 2`` about 30% of
    the draws fall in the last 9% of the span.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> at = spread(rng, np.zeros(1000, dtype=np.int64), np.full(1000, 100), skew=2.0)
    >>> bool(at.min() >= 0 and at.max() < 100 and (at >= 91).mean() > 0.2)
    True
    """
    u = rng.random(low.size) ** skew
    span = np.maximum(high - low, 1)
    return np.asarray(high - 1 - np.floor(u * (span - 1)), dtype=np.int64)


def clip_to(instants: IntArray, low: IntArray, high: IntArray) -> IntArray:
    """Clip instants to ``[low, high - 1]`` row by row.

    Examples
    --------
    >>> clip_to(np.array([-5, 5, 50]), np.zeros(3, dtype=np.int64), np.full(3, 10)).tolist()
    [0, 5, 9]
    """
    return np.minimum(np.maximum(instants, low), high - 1)
