"""The Pareto/NBD model of repeat purchasing, fitted by maximum likelihood.

Each customer buys at a Poisson rate ``lambda`` while alive and dies at an
exponentially distributed time of rate ``mu``, which nobody observes; across
customers ``lambda`` follows a Gamma(r, alpha) and ``mu`` a Gamma(s, beta)
distribution (Schmittlein, Morrison & Colombo 1987). As for BG/NBD,
`cible.clv.purchase.PurchaseModel` does the fitting and the checks; this module
holds the likelihood and the formulas.

The likelihood holds Gaussian hypergeometric functions 2F1(r+s+x, b; r+s+x+1; z).
They are computed here from their Euler integral by a trapezoidal rule, which stays
accurate where ``scipy.special.hyp2f1`` overflows or returns NaN (heavy buyers with
z near 1) and gives, from the same nodes, their derivatives with respect to the
parameters of 2F1: the gradient of the log-likelihood is analytic, not a finite
difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import digamma, exprel, gammaln

from cible.clv.base import FloatArray
from cible.clv.purchase import HINT, Patterns, PurchaseModel

PARAM_NAMES = ("r", "alpha", "s", "beta")

#: Step of the trapezoidal rule for the integral of 2F1 (see `_euler_integral`). Its
#: error falls like exp(-2 pi d / h), d about 1.3 being the half-width of the strip
#: where the integrand is analytic: 0.2 gives about 1e-15 relative error on the
#: integral and 1e-13 on its derivatives (checked against mpmath for r + s + x up to
#: 350 and 1 - z down to 1e-10), with 40 to 60 nodes per integral.
_STEP = 0.2
#: Each tail the rule leaves out holds less than e^-40 of the integral.
_TAIL = 40.0
#: Where the bulk of the integrand sits on the node scale t (see `_euler_integral`).
_BULK = 2.0
#: Most nodes above the bulk; only absurd trial parameters of the optimiser need more.
_MAX_T = 200.0
#: Integrals per block of the quadrature: keeps its arrays in the processor's cache
#: (twice as fast as blocks of 1024 or more).
_BLOCK = 512


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model: how many purchases each customer will make, and whether alive.

    Parameters
    ----------
    max_iter : int, default 500
        As in `CLVModel`.

    Attributes
    ----------
    params_ : dict of str to float
        ``r`` and ``alpha``: shape and rate of the Gamma distribution of purchase
        rates (in purchases per period of the input); ``s`` and ``beta``: shape and
        rate of the Gamma distribution of dropout rates.
    standard_errors_, log_likelihood_, n_customers_, penalized_
        As in `PurchaseModel`.

    Notes
    -----
    The log-likelihood is equation (18) of [2]_, with A_0 from equations (19)
    and (20) and their case split (alpha >= beta or alpha < beta), written in
    log-sum-exp form; `_tail_integral` explains how its hypergeometric terms and
    their derivatives are computed. Those terms are computed once per distinct
    (repeat_purchases, recency) and (repeat_purchases, T) pair, far fewer than
    customers. On small data the prior is centred on r = s = 1, on the alpha that matches the pooled
    repeat-purchase rate and on beta = the mean T, so that s and beta stay finite.

    `expected_purchases` is equation (41) of [2]_: P(alive) times (r + x) (beta + T)
    / ((alpha + T) (s - 1)) times 1 - ((beta + T) / (beta + T + t))^(s - 1) (its
    limit at s = 1 is a logarithm). `expected_probability_alive` is equations (36)
    and (37): the share of the likelihood that comes from customers still alive at
    T, (alpha + T)^-(r + x) (beta + T)^-s against the whole.
    `expected_purchases_new_customer` is equation (27): E[X(t)] = r beta / (alpha
    (s - 1)) (1 - (beta / (beta + t))^(s - 1)).

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). "Counting your
       customers: who are they and what will they do next?". Management Science,
       33(1), 1-24.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). "A note on deriving the
       Pareto/NBD model and related expressions". http://brucehardie.com/notes/009/
    .. [3] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: using
       iso-value curves for customer base analysis". Journal of Marketing Research,
       42(4), 415-430.

    Examples
    --------
    >>> from cible.clv import ParetoNBDModel, simulate_pareto_nbd
    >>> data = simulate_pareto_nbd(4000, r=0.55, alpha=10.6, s=0.6, beta=11.7, T=39.0, seed=1)
    >>> model = ParetoNBDModel().fit(data)
    >>> sorted(model.params_)
    ['alpha', 'beta', 'r', 's']
    >>> abs(model.params_["r"] - 0.55) < 0.1
    True
    >>> alive = model.expected_probability_alive(data)
    >>> bool(alive.between(0, 1).all())
    True

    The customer of the BG/NBD paper's worked example, at the published estimates
    of [3]_:

    >>> model = ParetoNBDModel()
    >>> model.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    >>> round(float(model.expected_purchases(39, 2, 30.43, 38.86).iloc[0]), 3)
    1.455
    """

    param_names = PARAM_NAMES
    _label = "Pareto/NBD"
    _hint = HINT + " BetaGeoModel is often easier to fit on the same data."

    def _likelihood(self, patterns: Patterns) -> _Likelihood:
        return _Likelihood.build(patterns)

    def _conditional_purchases(
        self, t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
    ) -> FloatArray:
        return conditional_expected_purchases(self.params_, t, x, tx, age)

    def _probability_alive(self, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
        return probability_alive(self.params_, x, tx, age)

    def _new_customer_purchases(self, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = (self.params_[name] for name in PARAM_NAMES)
        return r / alpha * beta * _power_difference(s, np.log1p(t / beta))


def _power_difference(s: float, log_ratio: FloatArray) -> FloatArray:
    """(1 - exp(-(s - 1) L)) / (s - 1), continuous through s = 1 where it is L."""
    return np.asarray(log_ratio * exprel(-(s - 1) * log_ratio), dtype=np.float64)


def conditional_expected_purchases(
    params: dict[str, float], t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    """Equation (41) of Fader & Hardie's note 009 on trusted arrays."""
    r, alpha, s, beta = (params[name] for name in PARAM_NAMES)
    growth = (r + x) * (beta + age) / (alpha + age)
    per_alive = growth * _power_difference(s, np.log1p(t / (beta + age)))
    return np.asarray(per_alive * probability_alive(params, x, tx, age), dtype=np.float64)


def probability_alive(
    params: dict[str, float], x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    """P(alive | x, t_x, T) on trusted arrays."""
    vector = np.array([params[name] for name in PARAM_NAMES])
    return _Histories.build(x, tx, age).terms(vector).alive


@dataclass(frozen=True)
class _Tail:
    """log I(t) per (x, t) pair, and its derivatives (4 rows: r, alpha, s, beta)."""

    log: FloatArray
    gradient: FloatArray


def _tail_integral(params: FloatArray, x: FloatArray, t: FloatArray) -> _Tail:
    """I(t) = integral over (t, inf) of (alpha + tau)^-(r + x) (beta + tau)^-(s + 1) dtau.

    s I(t_x) - s I(T) is the density of dying between the last purchase and T, the
    second term of the likelihood; in the note's notation s A_0 / (r + s + x).
    With M the larger and m the smaller of alpha + t and beta + t, b the exponent
    of the smaller factor (s + 1 when alpha >= beta, r + x otherwise: the note's case
    split), n = r + s + x and z = 1 - m / M, the substitution u = M / (M + tau - t)
    gives I = M^-n K with

        K = integral over (0, 1) of u^(n - 1) (1 - z u)^-b du = 2F1(n, b; n + 1; z) / n.

    `_euler_integral` computes K whatever n, b and z, to about 1e-15. The
    derivatives of log I are means under the normalised integrand, taken over the
    same nodes: d/dr = -E[log(alpha + tau)], d/dalpha = -(r + x) E[1 / (alpha + tau)],
    and likewise for s and beta with the exponent s + 1.
    """
    r, alpha, s, beta = params
    alpha_larger = bool(alpha >= beta)
    alpha_t, beta_t = alpha + t, beta + t
    big = np.maximum(alpha_t, beta_t)
    ratio = np.minimum(alpha_t, beta_t) / big  # 1 - z, kept exact for z near 1
    z = abs(alpha - beta) / big
    n = r + s + x
    b = np.full(x.size, s + 1.0) if alpha_larger else r + x
    log_k = np.empty(x.size)
    means = np.empty((4, x.size))
    for start in range(0, x.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        log_k[block], means[:, block] = _euler_integral(n[block], b[block], z[block], ratio[block])
    log_big = np.log(big)
    mean_v, mean_log_d, mean_u, mean_u_over_d = means
    # E[log(. + tau)] and E[1 / (. + tau)] of the larger and the smaller factor:
    # M + tau - t = M / u and m + tau - t = (M / u)(1 - z u).
    larger = (log_big + mean_v, mean_u / big)
    smaller = (log_big + mean_v + mean_log_d, mean_u_over_d / big)
    (log_alpha, inv_alpha), (log_beta, inv_beta) = (
        (larger, smaller) if alpha_larger else (smaller, larger)
    )
    derivatives = np.array([-log_alpha, -(r + x) * inv_alpha, -log_beta, -(s + 1) * inv_beta])
    return _Tail(log=log_k - n * log_big, gradient=derivatives)


def _euler_integral(
    n: FloatArray, b: FloatArray, z: FloatArray, ratio: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log K(n, b, z) by the trapezoidal rule, and the weighted means the gradient needs.

    With v = -log u, K = integral over (0, inf) of e^(-n v) (1 - z e^-v)^-b dv, whose
    bulk lies near v* = min(1 / n, (1 - z) / (b z)) and beyond, up to v = 40 / n
    where e^(-n v) ends it. The substitution v = v* e^-2 exp(t - e^-t) puts the
    bulk near t = 2, keeps the integrand a smooth bump in t, and makes both tails
    vanish double-exponentially, so nodes t = k h from -log 40 to log(40 / (n v*)) + 2
    suffice (one grid per block, wide enough for its widest row). The derivatives of
    K with respect to n and b are integrals over the same nodes, so they agree with
    the computed K to the accuracy of the rule.

    ``ratio`` is 1 - z, passed separately to stay exact when z is near 1. Returns log
    K and the means of v, log(1 - z u), u and u / (1 - z u) under the normalised
    integrand.
    """
    with np.errstate(divide="ignore"):
        log_scale = -np.log(np.maximum(n, b * z / ratio)) - _BULK
    high = float(np.max(np.log(_TAIL / n) - log_scale))
    t = np.arange(np.floor(-np.log(_TAIL) / _STEP), np.ceil(min(high, _MAX_T) / _STEP) + 1)
    t *= _STEP
    log_stretch = t - np.exp(-t)
    log_jacobian = log_stretch + np.log1p(np.exp(-t))
    v = np.exp(log_scale)[:, None] * np.exp(log_stretch)
    one_minus_u = -np.expm1(-v)
    # 1 - z u = (1 - z) + z (1 - u): two non-negative terms, accurate for z near 1.
    distance = ratio[:, None] + z[:, None] * one_minus_u
    log_distance = np.log(distance)
    log_integrand = log_jacobian - n[:, None] * v - b[:, None] * log_distance
    peak = np.max(log_integrand, axis=1)
    weight = np.exp(log_integrand - peak[:, None])
    total = np.sum(weight, axis=1)
    log_k = np.log(_STEP) + log_scale + peak + np.log(total)
    u = 1.0 - one_minus_u
    means = np.array(
        [
            np.einsum("ij,ij->i", weight, v),
            np.einsum("ij,ij->i", weight, log_distance),
            np.einsum("ij,ij->i", weight, u),
            np.einsum("ij,ij->i", weight / distance, u),
        ]
    )
    return log_k, np.asarray(means / total, dtype=np.float64)


@dataclass(frozen=True)
class _Terms:
    """Per-history log-likelihood pieces at one parameter vector.

    ``log_total`` is log[(alpha + T)^-(r + x) (beta + T)^-s + s I(t_x) - s I(T)], the
    part of the log-likelihood that is not Gamma functions; ``alive``, ``recent`` and
    ``end`` are the shares of its three terms (``alive`` - the first - is P(alive)).
    """

    log_total: FloatArray
    alive: FloatArray
    recent: FloatArray
    end: FloatArray
    tail: _Tail


@dataclass(frozen=True)
class _Histories:
    """Histories, and the distinct (x, t) pairs their tail integrals need.

    I(t_x) and I(T) depend on x and one time only, so they are computed once per
    distinct (x, t_x) or (x, T) pair: a few thousand in day or week data, however
    many customers there are. One set of pairs serves both, which makes
    I(t_x) - I(T) exactly 0 when t_x = T.
    """

    x: FloatArray
    tx: FloatArray
    age: FloatArray
    pair_x: FloatArray
    pair_t: FloatArray
    recent_code: npt.NDArray[np.intp]
    end_code: npt.NDArray[np.intp]

    @classmethod
    def build(cls, x: FloatArray, tx: FloatArray, age: FloatArray) -> _Histories:
        # One complex key per (x, t) pair, so that pandas' hashing finds the distinct
        # pairs of millions of rows in a fraction of a second; sorted by x, then t,
        # neighbouring integrals need similar nodes in `_euler_integral`.
        keys = np.empty(2 * x.size, dtype=np.complex128)
        keys.real = np.concatenate([x, x])
        keys.imag = np.concatenate([tx, age])
        code, pairs = pd.factorize(keys, sort=True)
        return cls(
            x=x,
            tx=tx,
            age=age,
            pair_x=np.ascontiguousarray(pairs.real, dtype=np.float64),
            pair_t=np.ascontiguousarray(pairs.imag, dtype=np.float64),
            recent_code=code[: x.size],
            end_code=code[x.size :],
        )

    def terms(self, params: FloatArray) -> _Terms:
        """The likelihood pieces of every history at (r, alpha, s, beta) = ``params``."""
        r, alpha, s, beta = params
        tail = _tail_integral(params, self.pair_x, self.pair_t)
        survive = -(r + self.x) * np.log(alpha + self.age) - s * np.log(beta + self.age)
        dead_recent = np.log(s) + tail.log[self.recent_code]
        dead_end = np.log(s) + tail.log[self.end_code]
        # log(e^survive + e^dead_recent - e^dead_end); dead_recent >= dead_end, and
        # the difference is the density of dying between t_x and T.
        top = np.maximum(survive, dead_recent)
        share_survive = np.exp(survive - top)
        share_recent = np.exp(dead_recent - top)
        share_end = np.exp(dead_end - top)
        total = share_survive + share_recent - share_end
        return _Terms(
            log_total=top + np.log(total),
            alive=share_survive / total,
            recent=share_recent / total,
            end=share_end / total,
            tail=tail,
        )

    def gradient(self, params: FloatArray, terms: _Terms) -> FloatArray:
        """Derivatives of ``terms.log_total`` in (r, alpha, s, beta), one column per history."""
        r, alpha, s, beta = params
        alpha_age, beta_age = alpha + self.age, beta + self.age
        d_survive = np.array(
            [-np.log(alpha_age), -(r + self.x) / alpha_age, -np.log(beta_age), -s / beta_age]
        )
        gradient = (
            terms.alive * d_survive
            + terms.recent * terms.tail.gradient[:, self.recent_code]
            - terms.end * terms.tail.gradient[:, self.end_code]
        )
        gradient[2] += (terms.recent - terms.end) / s  # the factor s of s I(t)
        return np.asarray(gradient, dtype=np.float64)


@dataclass(frozen=True)
class _Likelihood:
    """The weighted log-likelihood of distinct histories, for `ParetoNBDModel.fit`.

    The Gamma-function terms depend on x alone and are computed once per distinct x
    with the summed weight of its rows.
    """

    patterns: Patterns
    histories: _Histories

    @classmethod
    def build(cls, patterns: Patterns) -> _Likelihood:
        """The likelihood of ``patterns``, with the pairs its tail integrals need."""
        return cls(patterns, _Histories.build(patterns.x, patterns.tx, patterns.age))

    def start(self) -> FloatArray:
        """Log of r = s = 1, the alpha matching the pooled repeat rate, beta = mean T.

        With r = 1 the mean purchase rate is 1 / alpha (half a pseudo-purchase keeps
        alpha finite when nobody bought twice); with s = 1 and beta the mean T, half
        of the customers are expected to be alive at the end.
        """
        patterns = self.patterns
        alpha = patterns.pooled_alpha()
        beta = max(patterns.exposure, 1e-9) / patterns.total_weight
        return np.log(np.array([1.0, alpha, 1.0, beta], dtype=np.float64))

    def log_likelihood(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Weighted log-likelihood and its gradient in (log r, log alpha, log s, log beta)."""
        params = np.exp(z)
        r, alpha, s, beta = params
        patterns = self.patterns
        xs, ws, total_weight = patterns.x_values, patterns.x_weight, patterns.total_weight
        terms = self.histories.terms(params)
        value = (
            float(ws @ (gammaln(r + xs) - gammaln(r)))
            + total_weight * (r * np.log(alpha) + s * np.log(beta))
            + float(patterns.weight @ terms.log_total)
        )
        sums = self.histories.gradient(params, terms) @ patterns.weight
        d_r = float(ws @ (digamma(r + xs) - digamma(r))) + total_weight * np.log(alpha) + sums[0]
        d_alpha = total_weight * r / alpha + sums[1]
        d_s = total_weight * np.log(beta) + sums[2]
        d_beta = total_weight * s / beta + sums[3]
        gradient = np.array([d_r, d_alpha, d_s, d_beta]) * params
        return float(value), gradient
