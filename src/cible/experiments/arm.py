"""One arm of an experiment as sufficient statistics: what the backend hands to the tests.

DESIGN.md section 11: the database reduces each (campaign, segment, variant, metric) to
``n``, the sum and sum of squares of the metric ``y`` and, for CUPED, of the customer's
pre-period covariate ``x`` and the sum of products ``x * y``. Every test in this package
reads only these numbers, so an analysis costs the same whatever the number of rows.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from cible.experiments.errors import ExperimentError

# Sums of squares computed in floating point can fall a few ulps below sum**2 / n when
# every value is equal; beyond this relative slack the statistics are inconsistent.
_SLACK = 1e-9


@dataclasses.dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm (variant or control) for one metric.

    Parameters
    ----------
    n : int
        Customers in the arm (at least 2).
    sum_y, sum_y2 : float
        Sum and sum of squares of the metric (revenue per recipient, or 0/1 conversion).
    sum_x, sum_x2, sum_xy : float or None
        Sum and sum of squares of the pre-period covariate and the sum of ``x * y``;
        all three or none (CUPED needs them).

    Examples
    --------
    >>> arm = ArmStats.from_arrays([0.0, 10.0, 20.0], x=[1.0, 2.0, 3.0])
    >>> arm.n, arm.mean, arm.variance, arm.covariance
    (3, 10.0, 100.0, 10.0)
    """

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float | None = None
    sum_x2: float | None = None
    sum_xy: float | None = None

    def __post_init__(self) -> None:
        try:
            whole = not isinstance(self.n, bool) and float(self.n).is_integer()
        except (TypeError, ValueError):
            whole = False
        if not whole or self.n < 2:
            raise ExperimentError(f"An arm needs at least 2 customers (n = {self.n!r}).")
        object.__setattr__(self, "n", int(self.n))
        covariate = (self.sum_x, self.sum_x2, self.sum_xy)
        given = [v is not None for v in covariate]
        if any(given) and not all(given):
            raise ExperimentError(
                "Give all three covariate sums (sum_x, sum_x2, sum_xy) or none of them."
            )
        for name in ("sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ExperimentError(f"{name} is not a number ({value!r}).") from None
            if not math.isfinite(number):
                raise ExperimentError(f"{name} is not a finite number ({value}).")
            # Stored as float whatever the database handed over (int, numpy, Decimal).
            object.__setattr__(self, name, number)
        _check_square("sum_y2", self.sum_y2, self.sum_y, self.n)
        if self.sum_x is not None and self.sum_x2 is not None:
            _check_square("sum_x2", self.sum_x2, self.sum_x, self.n)
            bound = math.sqrt(self._centred(self.sum_y2, self.sum_y, self.sum_y)) * math.sqrt(
                self._centred(self.sum_x2, self.sum_x, self.sum_x)
            )
            products = (self.sum_xy or 0.0) - self.sum_x * self.sum_y / self.n
            if abs(products) > bound * (1 + _SLACK) + _SLACK * (abs(self.sum_xy or 0.0) + 1):
                raise ExperimentError(
                    "sum_xy is inconsistent with the sums of squares "
                    "(a correlation above 1 in absolute value)."
                )

    @classmethod
    def from_arrays(cls, y: npt.ArrayLike, x: npt.ArrayLike | None = None) -> ArmStats:
        """The statistics of one arm from its customers' metric and, optionally, covariate.

        Parameters
        ----------
        y : array-like of shape (n,)
            The metric per customer (revenue, or 1 for a conversion and 0 otherwise).
        x : array-like of shape (n,), optional
            The pre-period covariate per customer (for example pre-period revenue).

        Returns
        -------
        ArmStats

        Examples
        --------
        >>> ArmStats.from_arrays([1, 0, 0, 1]).sum_y
        2.0
        """
        values = _vector(y, "y")
        if x is None:
            return cls(len(values), float(values.sum()), float(values @ values))
        covariate = _vector(x, "x")
        if len(covariate) != len(values):
            raise ExperimentError(
                f"x and y differ in length ({len(covariate)} and {len(values)} customers)."
            )
        return cls(
            len(values),
            float(values.sum()),
            float(values @ values),
            float(covariate.sum()),
            float(covariate @ covariate),
            float(covariate @ values),
        )

    @property
    def has_covariate(self) -> bool:
        """Whether the covariate sums were given."""
        return self.sum_x is not None

    @property
    def mean(self) -> float:
        """Mean of the metric."""
        return self.sum_y / self.n

    @property
    def variance(self) -> float:
        """Sample variance of the metric (denominator ``n - 1``)."""
        return self._centred(self.sum_y2, self.sum_y, self.sum_y) / (self.n - 1)

    @property
    def covariate_mean(self) -> float:
        """Mean of the pre-period covariate."""
        return self._covariate()[0] / self.n

    @property
    def covariate_variance(self) -> float:
        """Sample variance of the covariate (denominator ``n - 1``)."""
        sum_x, sum_x2, _ = self._covariate()
        return self._centred(sum_x2, sum_x, sum_x) / (self.n - 1)

    @property
    def covariance(self) -> float:
        """Sample covariance of covariate and metric (denominator ``n - 1``)."""
        sum_x, _, sum_xy = self._covariate()
        return (sum_xy - sum_x * self.sum_y / self.n) / (self.n - 1)

    def _covariate(self) -> tuple[float, float, float]:
        if self.sum_x is None or self.sum_x2 is None or self.sum_xy is None:
            raise ExperimentError(
                "This arm has no covariate sums (sum_x, sum_x2, sum_xy): CUPED needs them."
            )
        return self.sum_x, self.sum_x2, self.sum_xy

    def _centred(self, sum_products: float, sum_a: float, sum_b: float) -> float:
        # Clipped at zero: the rounding of a constant metric must not give a negative variance.
        return max(sum_products - sum_a * sum_b / self.n, 0.0)


def _check_square(name: str, sum_squares: float, total: float, n: int) -> None:
    floor = total * total / n
    if sum_squares < floor - _SLACK * max(abs(floor), 1.0):
        raise ExperimentError(
            f"{name} ({sum_squares}) is below the square of the sum over n ({floor}): "
            "the statistics are inconsistent."
        )


def _vector(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ExperimentError(f"{name} must be one value per customer (a 1-D array).")
    if not np.isfinite(array).all():
        raise ExperimentError(f"{name} holds missing or infinite values.")
    return array
