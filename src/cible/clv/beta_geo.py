"""The BG/NBD model of repeat purchasing, fitted by maximum likelihood.

Each customer buys at a Poisson rate ``lambda`` while alive and, after each repeat
purchase, drops out for good with probability ``p``; across customers ``lambda``
follows a Gamma(r, alpha) and ``p`` a Beta(a, b) distribution (Fader, Hardie & Lee
2005). `cible.clv.purchase.PurchaseModel` does the fitting and the checks; this
module holds the likelihood and the formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import (
    betaln,
    digamma,
    expit,
    gammaln,
    hyp2f1,
)

from cible.clv.base import FloatArray
from cible.clv.purchase import Patterns, PurchaseModel

PARAM_NAMES = ("r", "alpha", "a", "b")
#: How close to 1 ``a`` must be for `_near_a_one` to step around the singularity.
_A_NEAR_ONE = 1e-4


class BetaGeoModel(PurchaseModel):
    """BG/NBD model: how many purchases each customer will make, and whether alive.

    Parameters
    ----------
    max_iter : int, default 500
        As in `CLVModel`.

    Attributes
    ----------
    params_ : dict of str to float
        ``r`` and ``alpha``: shape and rate of the Gamma distribution of purchase
        rates (in purchases per period of the input); ``a`` and ``b``: the Beta
        distribution of the dropout probability.
    standard_errors_, log_likelihood_, n_customers_, penalized_
        As in `PurchaseModel`.

    Notes
    -----
    The log-likelihood and its gradient follow equation (6) of [1]_, written in
    log-sum-exp form. On small data the prior is centred on r = a = b = 1 and on the
    alpha that matches the pooled repeat-purchase rate, so that a and b stay finite.

    `expected_purchases` is equation (10) of [1]_; `expected_purchases_new_customer`
    is equation (9); `expected_probability_alive` follows Fader, Hardie & Lee's note
    "Computing P(alive) using the BG/NBD model": 1 / (1 + a / (b + x - 1) *
    ((alpha + T) / (alpha + t_x))^(r + x)), and 1 when x = 0 (in BG/NBD a customer
    can only drop out right after a repeat purchase).

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

    The worked example of the paper, at its published estimates:

    >>> model = BetaGeoModel()
    >>> model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> round(float(model.expected_purchases(39, 2, 30.43, 38.86).iloc[0]), 3)
    1.226
    """

    param_names = PARAM_NAMES
    _label = "BG/NBD"

    def _likelihood(self, patterns: Patterns) -> _Likelihood:
        return _Likelihood(patterns)

    def _conditional_purchases(
        self, t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
    ) -> FloatArray:
        return conditional_expected_purchases(self.params_, t, x, tx, age)

    def _probability_alive(self, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
        return probability_alive(self.params_, x, tx, age)

    def _new_customer_purchases(self, t: FloatArray) -> FloatArray:
        return _near_a_one(self.params_, lambda params: _new_customer(params, t))


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
class _Likelihood:
    """The BG/NBD log-likelihood of distinct histories, for `BetaGeoModel.fit`.

    Terms that depend on x alone (the Gamma and Beta functions) are computed once
    per distinct x with the summed weight of its rows, and logarithms of alpha + T
    and alpha + t_x once per distinct T and t_x (a few hundred values in day or
    week data), then looked up.
    """

    patterns: Patterns

    def start(self) -> FloatArray:
        """Log of r = a = b = 1 and of the alpha matching the pooled repeat rate."""
        alpha = self.patterns.pooled_alpha()
        return np.log(np.array([1.0, alpha, 1.0, 1.0], dtype=np.float64))

    def log_likelihood(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Weighted log-likelihood and its gradient in (log r, log alpha, log a, log b).

        With A1..A4 as in Fader, Hardie & Lee's note on implementing BG/NBD in Excel,
        LL = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)); the share of the second term,
        ``s``, weighs the derivatives of A3 and A4.
        """
        r, alpha, a, b = np.exp(z)
        data = self.patterns
        x, w, buyer = data.x, data.weight, data.buyer
        xs, ws = data.x_values, data.x_weight
        # b + x - 1 exists for buyers only (b - 1 may be zero or negative at x = 0);
        # the value used for non-buyers is never read.
        b_x_less_one = b + np.maximum(xs - 1, 0.0)
        log_alpha_age = np.log(alpha + data.age_values)[data.age_code]
        inv_alpha_age = (1.0 / (alpha + data.age_values))[data.age_code]
        log_alpha_tx = np.log(alpha + data.tx_values)[data.tx_code]
        inv_alpha_tx = (1.0 / (alpha + data.tx_values))[data.tx_code]
        a3 = -(r + x) * log_alpha_age
        a4 = np.log(a) - np.log(b_x_less_one)[data.x_code] - (r + x) * log_alpha_tx
        gap = np.where(buyer, a4 - a3, -np.inf)
        # One exponential serves both log-sum-exp and the logistic share of A4.
        small = np.exp(-np.abs(gap))
        log_sum = np.maximum(a3, np.where(buyer, a4, -np.inf)) + np.log1p(small)
        share = np.where(gap > 0, 1.0, small) / (1.0 + small)
        rest = 1.0 - share
        value = (
            float(ws @ (gammaln(r + xs) - gammaln(r) + betaln(a, b + xs) - betaln(a, b)))
            + data.total_weight * r * np.log(alpha)
            + float(w @ log_sum)
        )
        ab = digamma(a + b)
        d_r = (
            float(ws @ (digamma(r + xs) - digamma(r)))
            + data.total_weight * np.log(alpha)
            - float(w @ (rest * log_alpha_age + share * log_alpha_tx))
        )
        d_alpha = data.total_weight * r / alpha - float(
            (w * (r + x)) @ (rest * inv_alpha_age + share * inv_alpha_tx)
        )
        w_share = w * share
        d_a = float(ws @ (ab - digamma(a + b + xs))) + float(np.sum(w_share)) / a
        d_b = float(ws @ (ab + digamma(b + xs) - digamma(b) - digamma(a + b + xs))) - float(
            np.bincount(data.x_code, weights=w_share, minlength=xs.size) @ (1.0 / b_x_less_one)
        )
        gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return float(value), gradient
