"""The BG/NBD model of repeat purchasing, fitted by maximum likelihood.

Each customer buys at a Poisson rate ``lambda`` while alive and, after each repeat
purchase, drops out for good with probability ``p``; across customers ``lambda``
follows a Gamma(r, alpha) and ``p`` a Beta(a, b) distribution (Fader, Hardie & Lee
2005). The likelihood of one history depends on (frequency, recency, T) only, so
customers with the same three numbers are fitted as one weighted row.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import (
    betaln,
    digamma,
    expit,
    gammaln,
    hyp2f1,
)

from cible.clv.base import ArrayLike, CLVModel, Data, FloatArray, check_rfm, customer_columns
from cible.clv.errors import ModelError
from cible.clv.optimization import maximize_likelihood

PARAM_NAMES = ("r", "alpha", "a", "b")
#: Below this many customers, or this many repeat buyers, maximum likelihood alone is
#: unreliable (a and b in particular run off to infinity), so `fit` adds a prior.
MIN_CUSTOMERS = 200
MIN_REPEAT_BUYERS = 30
#: How close to 1 ``a`` must be for `_near_a_one` to step around the singularity.
_A_NEAR_ONE = 1e-4
#: Standard deviation, on the log scale, of the weakly-informative prior used on small
#: data: two units either side of the centre spans a factor of e^4, about 55.
PRIOR_LOG_SD = 2.0

_HINT = (
    "Try more customers or a longer history (at least a few hundred customers, with "
    "repeat buyers among them), and check that frequency, recency and T vary across "
    "customers: identical histories for everyone cannot identify the model."
)


class BetaGeoModel(CLVModel):
    """BG/NBD model: how many purchases each customer will make, and whether alive.

    Parameters
    ----------
    max_iter : int, default 500
        Most BFGS iterations before the fit is declared not to converge.

    Attributes
    ----------
    params_ : dict of str to float
        ``r`` and ``alpha``: shape and rate of the Gamma distribution of purchase
        rates (in purchases per period of the input); ``a`` and ``b``: the Beta
        distribution of the dropout probability.
    standard_errors_ : dict of str to float
        Asymptotic standard errors from the inverse Hessian of the log-likelihood
        (delta method from the log scale the fit works on).
    log_likelihood_ : float
        Log-likelihood at the estimate (without the prior on small data).
    n_customers_ : int
        Customers the fit used (the sum of the weights when given).
    penalized_ : bool
        True when the data were too small for plain maximum likelihood and the
        weakly-informative prior described in `fit` was added.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
       customers the easy way: an alternative to the Pareto/NBD model".
       Marketing Science, 24(2), 275-284.

    Examples
    --------
    >>> from cible.clv import BetaGeoModel, simulate_beta_geo
    >>> data = simulate_beta_geo(4000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> model = BetaGeoModel().fit(data)
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> abs(model.params_["r"] - 0.25) < 0.05
    True
    >>> alive = model.expected_probability_alive(data)
    >>> bool(alive.between(0, 1).all())
    True
    """

    _fitted_attributes: ClassVar[tuple[str, ...]] = (*CLVModel._fitted_attributes, "penalized_")
    penalized_: bool

    def __init__(self, max_iter: int = 500) -> None:
        self.max_iter = max_iter

    def fit(
        self,
        frequency: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
        *,
        weights: ArrayLike | None = None,
    ) -> BetaGeoModel:
        """Estimate r, alpha, a, b by maximum likelihood.

        Parameters
        ----------
        frequency : DataFrame or array-like
            Repeat purchases per customer, or a table from `rfm_summary` with the
            columns ``frequency``, ``recency`` and ``T`` (then leave the next two out).
        recency : array-like, optional
            Time from first to last purchase.
        T : array-like, optional
            Time from first purchase to the end of observation, in the same unit.
        weights : array-like, optional
            Number of customers each row stands for (default one each).

        Returns
        -------
        BetaGeoModel
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
            distribution, sd 2, on each log-parameter, centred on r = a = b = 1 and on
            the alpha that matches the pooled repeat-purchase rate), so that a and b
            stay finite; ``penalized_`` is True and ``standard_errors_`` come from
            the curvature of the penalised objective.

        Notes
        -----
        The log-likelihood and its gradient follow equation (6) of [1]_, written in
        log-sum-exp form. Rows with equal (frequency, recency, T) are merged into one
        weighted row first: data measured in days or weeks have far fewer distinct
        histories than customers, which makes fitting millions of customers quick.
        """
        _, (x, tx, age) = customer_columns(("frequency", "recency", "T"), (frequency, recency, T))
        check_rfm(x, tx, age)
        w = _weights(weights, x.size)
        data = _Patterns.build(x, tx, age, w)
        if data.total_weight <= 0:
            raise ModelError("BetaGeoModel needs at least one customer with a positive weight.")
        self.penalized_ = bool(
            data.total_weight < MIN_CUSTOMERS or data.repeat_buyers < MIN_REPEAT_BUYERS
        )
        start = data.start()
        prior_mean = start if self.penalized_ else None
        if self.penalized_:
            warnings.warn(
                f"Only {data.total_weight:.0f} customers and {data.repeat_buyers:.0f} repeat "
                f"buyers: BG/NBD needs about {MIN_CUSTOMERS} customers and "
                f"{MIN_REPEAT_BUYERS} repeat buyers for maximum likelihood alone, so a "
                "weakly-informative prior keeps the estimates finite (penalized_ is True).",
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
            names=PARAM_NAMES,
            total_weight=data.total_weight,
            max_iter=self.max_iter,
            model="BG/NBD",
            hint=_HINT,
        )
        self.params_ = dict(zip(PARAM_NAMES, map(float, estimate.params), strict=True))
        self.standard_errors_ = dict(
            zip(PARAM_NAMES, map(float, estimate.standard_errors), strict=True)
        )
        self.log_likelihood_ = float(data.log_likelihood(np.log(estimate.params))[0])
        self.n_customers_ = round(data.total_weight)
        return self

    def expected_purchases(
        self,
        t: float | ArrayLike,
        frequency: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
    ) -> pd.Series:
        """Expected number of purchases in the next ``t`` periods, given the history.

        Equation (10) of [1]_: E[Y(t) | x, t_x, T], the purchases in (T, T + t].

        Parameters
        ----------
        t : float or array-like
            Horizon, in the time unit of the fit (one value, or one per customer).
        frequency, recency, T
            As in `fit`: one table or three arrays.

        Returns
        -------
        Series
            ``expected_purchases`` per customer, indexed like the input.

        Examples
        --------
        >>> model = BetaGeoModel()
        >>> model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> round(float(model.expected_purchases(39, 2, 30.43, 38.86).iloc[0]), 3)
        1.226
        """
        self.check_is_fitted()
        index, (x, tx, age) = customer_columns(
            ("frequency", "recency", "T"), (frequency, recency, T)
        )
        check_rfm(x, tx, age)
        horizon = _horizon(t, x.size)
        values = conditional_expected_purchases(self.params_, horizon, x, tx, age)
        return pd.Series(values, index=index, name="expected_purchases")

    def expected_probability_alive(
        self,
        frequency: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
    ) -> pd.Series:
        """Probability that each customer has not dropped out by the end of observation.

        Fader, Hardie & Lee's note "Computing P(alive) using the BG/NBD model":
        1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)), and 1 when
        x = 0 (in BG/NBD a customer can only drop out right after a repeat purchase).

        Returns
        -------
        Series
            ``probability_alive`` per customer, indexed like the input.
        """
        self.check_is_fitted()
        index, (x, tx, age) = customer_columns(
            ("frequency", "recency", "T"), (frequency, recency, T)
        )
        check_rfm(x, tx, age)
        values = probability_alive(self.params_, x, tx, age)
        return pd.Series(values, index=index, name="probability_alive")

    def expected_purchases_new_customer(self, t: float | ArrayLike) -> pd.Series:
        """Expected repeat purchases in ``t`` periods of a customer just acquired.

        Equation (9) of [1]_: E[X(t)] for a randomly chosen customer.

        Returns
        -------
        Series
            ``expected_purchases`` indexed by ``t``.
        """
        self.check_is_fitted()
        horizon = _horizon(t, None)
        values = _near_a_one(self.params_, lambda params: _new_customer(params, horizon))
        values = np.where(horizon == 0, 0.0, values)  # not -0.0 when a < 1
        return pd.Series(values, index=pd.Index(horizon, name="t"), name="expected_purchases")


def _new_customer(params: dict[str, float], horizon: FloatArray) -> FloatArray:
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    with np.errstate(all="ignore"):
        hyp = hyp2f1(r, b, a + b - 1, horizon / (alpha + horizon))
        values = (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + horizon)) ** r)
    return np.asarray(values, dtype=np.float64)


def _near_a_one(
    params: dict[str, float], compute: Callable[[dict[str, float]], FloatArray]
) -> FloatArray:
    """Evaluate an expectation with a factor 1 / (a - 1) also at a = 1.

    The expectations of equations (9) and (10) are 0 / 0 at a = 1 but smooth there
    (the singularity is removable), and the prior used on small data puts a at 1
    exactly when nobody bought twice. The mean of the values at 1 -/+ 1e-4 is
    exact to about 1e-8.
    """
    if abs(params["a"] - 1) >= _A_NEAR_ONE:
        return compute(params)
    below = compute({**params, "a": 1 - _A_NEAR_ONE})
    above = compute({**params, "a": 1 + _A_NEAR_ONE})
    return np.asarray((below + above) / 2, dtype=np.float64)


def conditional_expected_purchases(
    params: dict[str, float], t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    """Equation (10) of Fader, Hardie & Lee (2005) on trusted arrays."""
    return _near_a_one(params, lambda near: _conditional(near, t, x, tx, age))


def _conditional(
    params: dict[str, float], t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    c = a + b + x - 1
    z = t / (alpha + age + t)
    with np.errstate(all="ignore"):
        log_hyp = np.log(hyp2f1(r + x, b + x, c, z))
        # hyp2f1 overflows for long horizons and heavy buyers; Euler's transformation
        # 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z) gives the same value in range.
        overflow = ~np.isfinite(log_hyp)
        if np.any(overflow):
            euler = np.log(hyp2f1(c - r - x, c - b - x, c, z)) + (c - r - b - 2 * x) * np.log1p(-z)
            log_hyp = np.where(overflow, euler, log_hyp)
        growth = (a + b + x - 1) / (a - 1)
        remaining = -np.expm1(log_hyp + (r + x) * np.log((alpha + age) / (alpha + age + t)))
        result = growth * remaining * probability_alive(params, x, tx, age)
    return np.asarray(result, dtype=np.float64)


def probability_alive(
    params: dict[str, float], x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) on trusted arrays, through a logistic for stability."""
    r, alpha, a, b = (params[name] for name in PARAM_NAMES)
    with np.errstate(all="ignore"):
        odds_dead = (r + x) * np.log((alpha + age) / (alpha + tx)) + np.log(
            a / (b + np.maximum(x, 1) - 1)
        )
    return np.asarray(np.where(x == 0, 1.0, expit(-odds_dead)), dtype=np.float64)


@dataclass(frozen=True)
class _Patterns:
    """Distinct (x, t_x, T) histories with their weights, ready for the likelihood.

    Terms that depend on x alone (the Gamma and Beta functions) are computed once
    per distinct x with the summed weight of its rows, and logarithms of alpha + T
    and alpha + t_x once per distinct T and t_x (a few hundred values in day or
    week data), then looked up.
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
    def build(cls, x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray) -> _Patterns:
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

    def start(self) -> FloatArray:
        """Log of r = a = b = 1 and of the alpha matching the pooled repeat rate.

        With r = 1 the mean purchase rate is 1 / alpha; half a pseudo-purchase keeps
        alpha finite when nobody bought twice.
        """
        alpha = max(self.exposure, 1e-9) / (self.purchases + 0.5)
        return np.log(np.array([1.0, alpha, 1.0, 1.0], dtype=np.float64))

    def log_likelihood(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Weighted log-likelihood and its gradient in (log r, log alpha, log a, log b).

        With A1..A4 as in Fader, Hardie & Lee's note on implementing BG/NBD in Excel,
        LL = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)); the share of the second term,
        ``s``, weighs the derivatives of A3 and A4.
        """
        r, alpha, a, b = np.exp(z)
        x, w, buyer = self.x, self.weight, self.buyer
        xs, ws = self.x_values, self.x_weight
        # b + x - 1 exists for buyers only (b - 1 may be zero or negative at x = 0);
        # the value used for non-buyers is never read.
        b_x_less_one = b + np.maximum(xs - 1, 0.0)
        log_alpha_age = np.log(alpha + self.age_values)[self.age_code]
        inv_alpha_age = (1.0 / (alpha + self.age_values))[self.age_code]
        log_alpha_tx = np.log(alpha + self.tx_values)[self.tx_code]
        inv_alpha_tx = (1.0 / (alpha + self.tx_values))[self.tx_code]
        a3 = -(r + x) * log_alpha_age
        a4 = np.log(a) - np.log(b_x_less_one)[self.x_code] - (r + x) * log_alpha_tx
        gap = np.where(buyer, a4 - a3, -np.inf)
        # One exponential serves both log-sum-exp and the logistic share of A4.
        small = np.exp(-np.abs(gap))
        log_sum = np.maximum(a3, np.where(buyer, a4, -np.inf)) + np.log1p(small)
        share = np.where(gap > 0, 1.0, small) / (1.0 + small)
        rest = 1.0 - share
        value = (
            float(ws @ (gammaln(r + xs) - gammaln(r) + betaln(a, b + xs) - betaln(a, b)))
            + self.total_weight * r * np.log(alpha)
            + float(w @ log_sum)
        )
        ab = digamma(a + b)
        d_r = (
            float(ws @ (digamma(r + xs) - digamma(r)))
            + self.total_weight * np.log(alpha)
            - float(w @ (rest * log_alpha_age + share * log_alpha_tx))
        )
        d_alpha = self.total_weight * r / alpha - float(
            (w * (r + x)) @ (rest * inv_alpha_age + share * inv_alpha_tx)
        )
        w_share = w * share
        d_a = float(ws @ (ab - digamma(a + b + xs))) + float(np.sum(w_share)) / a
        d_b = float(ws @ (ab + digamma(b + xs) - digamma(b) - digamma(a + b + xs))) - float(
            np.bincount(self.x_code, weights=w_share, minlength=xs.size) @ (1.0 / b_x_less_one)
        )
        gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return float(value), gradient


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
