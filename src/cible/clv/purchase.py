"""What BG/NBD and Pareto/NBD share: weights, horizons, the penalised fit, predictions.

Both models predict purchase counts from (repeat_purchases, recency, T) alone, so one
base class, `PurchaseModel`, checks the input, merges customers with identical
histories into weighted rows (`Patterns`), maximises the likelihood (with a
weakly-informative prior on small data) and wraps the formulas of each model into
Series keyed by customer. A subclass brings its log-likelihood and its three formulas.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from cible.clv.base import ArrayLike, CLVModel, Data, FloatArray, check_rfm, customer_columns
from cible.clv.errors import ModelError
from cible.clv.optimization import maximize_likelihood

#: Below this many customers, or this many repeat buyers, maximum likelihood alone is
#: unreliable (the dropout parameters run off to infinity), so `fit` adds a prior.
MIN_CUSTOMERS = 200
MIN_REPEAT_BUYERS = 30
#: Standard deviation, on the log scale, of the weakly-informative prior used on small
#: data: two units either side of the centre spans a factor of e^4, about 55.
PRIOR_LOG_SD = 2.0

#: What to try when a fit fails; a model may add to it (`PurchaseModel._hint`).
HINT = (
    "Try more customers or a longer history (at least a few hundred customers, with "
    "repeat buyers among them), and check that repeat_purchases, recency and T vary "
    "across customers: identical histories for everyone cannot identify the model."
)

_HISTORY = ("repeat_purchases", "recency", "T")


@dataclass(frozen=True)
class Patterns:
    """Distinct (x, t_x, T) histories with their summed weights, ready for a likelihood.

    The likelihood of one history depends on (repeat_purchases, recency, T) only, so
    rows with the same three numbers are fitted as one weighted row: data measured
    in days or weeks have far fewer distinct histories than customers. Each distinct
    x, t_x and T is also numbered (``*_values`` and ``*_code``), so that terms
    depending on one of them alone are computed once per value and looked up.
    """

    x: FloatArray
    weight: FloatArray
    buyer: npt.NDArray[np.bool_]
    x_values: FloatArray
    x_code: npt.NDArray[np.intp]
    x_weight: FloatArray
    tx_values: FloatArray
    tx_code: npt.NDArray[np.intp]
    age_values: FloatArray
    age_code: npt.NDArray[np.intp]
    total_weight: float
    repeat_buyers: float
    exposure: float
    purchases: float

    @classmethod
    def build(cls, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray) -> Patterns:
        """Merge the rows of equal (x, t_x, T), adding up their weights ``w``."""
        grouped = (
            pd.DataFrame({"x": x, "tx": tx, "age": age, "w": w})
            .groupby(["x", "tx", "age"], sort=False)["w"]
            .sum()
        )
        keys = grouped.index
        px = keys.get_level_values("x").to_numpy(np.float64)
        weight = grouped.to_numpy(np.float64)
        x_values, x_code = np.unique(px, return_inverse=True)
        tx_values, tx_code = np.unique(
            keys.get_level_values("tx").to_numpy(np.float64), return_inverse=True
        )
        age_values, age_code = np.unique(
            keys.get_level_values("age").to_numpy(np.float64), return_inverse=True
        )
        return cls(
            x=px,
            weight=weight,
            buyer=px > 0,
            x_values=x_values,
            x_code=x_code,
            x_weight=np.bincount(x_code, weights=weight, minlength=x_values.size).astype(
                np.float64
            ),
            tx_values=tx_values,
            tx_code=tx_code,
            age_values=age_values,
            age_code=age_code,
            total_weight=float(weight.sum()),
            repeat_buyers=float(weight[px > 0].sum()),
            exposure=float(weight @ age_values[age_code]),
            purchases=float(weight @ px),
        )

    @property
    def tx(self) -> FloatArray:
        """t_x of each distinct history."""
        return self.tx_values[self.tx_code]

    @property
    def age(self) -> FloatArray:
        """T of each distinct history."""
        return self.age_values[self.age_code]

    def pooled_alpha(self) -> float:
        """The alpha matching the pooled repeat-purchase rate when r = 1.

        With r = 1 the mean purchase rate is 1 / alpha; half a pseudo-purchase keeps
        alpha finite when nobody bought twice.
        """
        return max(self.exposure, 1e-9) / (self.purchases + 0.5)


class Likelihood(Protocol):
    """A model's weighted log-likelihood of `Patterns`, on the log-parameter scale."""

    @property
    def patterns(self) -> Patterns:
        """The histories it sums over."""
        ...

    def start(self) -> FloatArray:
        """Log-parameters to start from; also the centre of the prior on small data."""
        ...

    def log_likelihood(self, z: FloatArray) -> tuple[float, FloatArray]:
        """The log-likelihood at log-parameters ``z`` and its gradient in ``z``."""
        ...


class PurchaseModel(CLVModel, ABC):
    """Base class of the models of purchase counts: `BetaGeoModel`, `ParetoNBDModel`.

    It owns the input checks, the weights, the penalised maximum-likelihood fit and
    the prediction API; a subclass gives its parameter names (``param_names``), its
    likelihood and its formulas. `GammaGammaModel.customer_lifetime_value` takes any
    fitted `PurchaseModel`.

    Parameters
    ----------
    max_iter : int, default 500
        As in `CLVModel`.

    Attributes
    ----------
    penalized_ : bool
        True when the data were too small for plain maximum likelihood and the
        weakly-informative prior described in `fit` was added.
    params_, standard_errors_, log_likelihood_, n_customers_
        As in `CLVModel`; the log-likelihood is without the prior, and the
        customers are the sum of the weights when weights are given.
    """

    #: Names of the parameters, in the order of the likelihood's vector.
    param_names: ClassVar[tuple[str, ...]]
    #: The model's name in messages ("BG/NBD").
    _label: ClassVar[str]
    #: What to try when the fit fails.
    _hint: ClassVar[str] = HINT

    _fitted_attributes: ClassVar[tuple[str, ...]] = (*CLVModel._fitted_attributes, "penalized_")
    penalized_: bool

    def fit(
        self,
        repeat_purchases: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
        *,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        repeat_purchases : DataFrame or array-like
            Repeat purchases per customer, or a table from `rfm_summary` with the
            columns ``repeat_purchases``, ``recency`` and ``T`` (then leave the next
            two out).
        recency : array-like, optional
            Time from first to last purchase.
        T : array-like, optional
            Time from first purchase to the end of observation, in the same unit.
        weights : array-like, optional
            Number of customers each row stands for (default one each).

        Returns
        -------
        PurchaseModel
            ``self``, fitted.

        Raises
        ------
        ModelError
            On impossible histories (negative values, recency beyond T), or when the
            maximum cannot be found; the message says what to try.

        Warns
        -----
        UserWarning
            With fewer than 200 customers or fewer than 30 repeat buyers. The fit
            then maximises the likelihood times a weakly-informative prior (a normal
            distribution, sd 2, on each log-parameter, centred on the start point
            the model's documentation gives), so that the dropout parameters stay
            finite; ``penalized_`` is True and ``standard_errors_`` come from the
            curvature of the penalised objective.

        Notes
        -----
        Rows with equal (repeat_purchases, recency, T) are merged into one weighted
        row first (`Patterns`), which makes fitting millions of customers quick.
        """
        _, (x, tx, age) = _histories(repeat_purchases, recency, T)
        data = self._likelihood(Patterns.build(x, tx, age, _weights(weights, x.size)))
        patterns = data.patterns
        if patterns.total_weight <= 0:
            raise ModelError(
                f"{type(self).__name__} needs at least one customer with a positive weight."
            )
        self.penalized_ = bool(
            patterns.total_weight < MIN_CUSTOMERS or patterns.repeat_buyers < MIN_REPEAT_BUYERS
        )
        start = data.start()
        prior_mean = start if self.penalized_ else None
        if self.penalized_:
            warnings.warn(
                f"Only {patterns.total_weight:.0f} customers and "
                f"{patterns.repeat_buyers:.0f} repeat buyers: {self._label} needs about "
                f"{MIN_CUSTOMERS} customers and {MIN_REPEAT_BUYERS} repeat buyers for "
                "maximum likelihood alone, so a weakly-informative prior keeps the "
                "estimates finite (penalized_ is True).",
                UserWarning,
                stacklevel=2,
            )

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            value, gradient = data.log_likelihood(z)
            if prior_mean is not None:
                gap = z - prior_mean
                value -= float(gap @ gap) / (2 * PRIOR_LOG_SD**2)
                gradient = gradient - gap / PRIOR_LOG_SD**2
            return -value, -gradient

        estimate = maximize_likelihood(
            objective,
            start,
            names=self.param_names,
            total_weight=patterns.total_weight,
            max_iter=self.max_iter,
            model=self._label,
            hint=self._hint,
        )
        self.params_ = dict(zip(self.param_names, map(float, estimate.params), strict=True))
        self.standard_errors_ = dict(
            zip(self.param_names, map(float, estimate.standard_errors), strict=True)
        )
        self.log_likelihood_ = float(data.log_likelihood(np.log(estimate.params))[0])
        self.n_customers_ = round(patterns.total_weight)
        return self

    def expected_purchases(
        self,
        t: float | ArrayLike,
        repeat_purchases: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
    ) -> pd.Series:
        """Expected number of purchases in the next ``t`` periods, given the history.

        E[Y(t) | x, t_x, T], the purchases in (T, T + t]; the model's documentation
        names the equation.

        Parameters
        ----------
        t : float or array-like
            Horizon, in the time unit of the fit (one value, or one per customer).
        repeat_purchases, recency, T
            As in `fit`: one table or three arrays.

        Returns
        -------
        Series
            ``expected_purchases`` per customer, indexed like the input.
        """
        self.check_is_fitted()
        index, (x, tx, age) = _histories(repeat_purchases, recency, T)
        values = self._conditional_purchases(_horizon(t, x.size), x, tx, age)
        return pd.Series(values, index=index, name="expected_purchases")

    def expected_probability_alive(
        self,
        repeat_purchases: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
    ) -> pd.Series:
        """Probability that each customer has not dropped out by the end of observation.

        Parameters
        ----------
        repeat_purchases, recency, T
            As in `fit`: one table or three arrays.

        Returns
        -------
        Series
            ``probability_alive`` per customer, indexed like the input.
        """
        self.check_is_fitted()
        index, (x, tx, age) = _histories(repeat_purchases, recency, T)
        return pd.Series(self._probability_alive(x, tx, age), index=index, name="probability_alive")

    def expected_purchases_new_customer(self, t: float | ArrayLike) -> pd.Series:
        """Expected repeat purchases in ``t`` periods of a customer just acquired.

        E[X(t)] for a randomly chosen customer.

        Returns
        -------
        Series
            ``expected_purchases`` indexed by ``t``.
        """
        self.check_is_fitted()
        horizon = _horizon(t, None)
        values = np.where(horizon == 0, 0.0, self._new_customer_purchases(horizon))  # not -0.0
        return pd.Series(values, index=pd.Index(horizon, name="t"), name="expected_purchases")

    @abstractmethod
    def _likelihood(self, patterns: Patterns) -> Likelihood:
        """The model's log-likelihood of ``patterns``."""

    @abstractmethod
    def _conditional_purchases(
        self, t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T] at ``params_``, on checked arrays."""

    @abstractmethod
    def _probability_alive(self, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
        """P(alive | x, t_x, T) at ``params_``, on checked arrays."""

    @abstractmethod
    def _new_customer_purchases(self, t: FloatArray) -> FloatArray:
        """E[X(t)] at ``params_`` for each horizon of ``t``."""


def _histories(
    repeat_purchases: Data, recency: ArrayLike | None, age: ArrayLike | None
) -> tuple[pd.Index, list[FloatArray]]:
    index, columns = customer_columns(_HISTORY, (repeat_purchases, recency, age))
    check_rfm(*columns)
    return index, columns


def _weights(weights: ArrayLike | None, size: int) -> FloatArray:
    if weights is None:
        return np.ones(size)
    array = np.asarray(weights, dtype=np.float64).reshape(-1)
    if array.size != size:
        raise ModelError(f"weights has {array.size} values for {size} customers.")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ModelError("weights must be finite and non-negative.")
    return array


def _horizon(t: float | ArrayLike, size: int | None) -> FloatArray:
    horizon = np.atleast_1d(np.asarray(t, dtype=np.float64)).reshape(-1)
    if not np.all(np.isfinite(horizon)) or np.any(horizon < 0):
        raise ModelError("t (the horizon) must be finite and non-negative.")
    if size is not None and horizon.size not in (1, size):
        raise ModelError(f"t has {horizon.size} values for {size} customers.")
    return horizon
