"""Customers drawn from the BG/NBD, Pareto/NBD and Gamma-Gamma models, for tests with
known truth.

The draws are exact, not event by event, which keeps a million customers to a handful
of numpy calls; each function's notes say how.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from cible.clv.base import ArrayLike, FloatArray


def simulate_beta_geo(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | ArrayLike,  # noqa: N803 - the literature's name for the age
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw (repeat_purchases, recency, T) for customers following the BG/NBD model.

    Parameters
    ----------
    n_customers : int
        How many customers to draw.
    r, alpha, a, b : float
        BG/NBD parameters (Fader, Hardie & Lee 2005).
    T : float or array-like
        Observation length per customer since the first purchase.
    seed : int or numpy Generator, optional
        Source of randomness.

    Returns
    -------
    DataFrame
        ``repeat_purchases``, ``recency``, ``T``, indexed by ``customer_id``
        (0, 1, ...).

    Notes
    -----
    Given a purchase rate ``lambda`` the number of would-be purchases in (0, T] is
    Poisson(lambda T); the customer drops out after the J-th repeat purchase with
    J ~ Geometric(p), so x = min(N, J); and, given N = n, the purchase times are n
    uniform order statistics, so the x-th is T * Beta(x, n - x + 1).

    Examples
    --------
    >>> data = simulate_beta_geo(3, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=0)
    >>> list(data.columns)
    ['repeat_purchases', 'recency', 'T']
    """
    rng = np.random.default_rng(seed)
    age = _ages(T, n_customers)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = rng.beta(a, b, n_customers)
    would_buy = rng.poisson(rate * age)
    # J, the repeat purchase after which the customer leaves, is geometric; drawn by
    # inversion in floating point because a dropout probability near 0 (Beta draws
    # reach 1e-20) gives a J beyond int64, and exactly 0 gives infinity.
    with np.errstate(divide="ignore"):
        last_allowed = np.ceil(np.log(rng.random(n_customers)) / np.log1p(-dropout))
    repeat_purchases = np.minimum(would_buy, np.maximum(last_allowed, 1.0)).astype(np.int64)
    buyers = repeat_purchases > 0
    recency = np.zeros(n_customers)
    recency[buyers] = age[buyers] * rng.beta(
        repeat_purchases[buyers], would_buy[buyers] - repeat_purchases[buyers] + 1
    )
    return _histories(repeat_purchases, recency, age)


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | ArrayLike,  # noqa: N803 - the literature's name for the age
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw (repeat_purchases, recency, T) for customers following the Pareto/NBD model.

    Purchase rates are Gamma(r, alpha) and dropout rates Gamma(s, beta) across
    customers (Schmittlein, Morrison & Colombo 1987); while alive a customer buys at
    Poisson rate ``lambda`` and dies at rate ``mu``.

    Parameters
    ----------
    n_customers : int
        How many customers to draw.
    r, alpha, s, beta : float
        Pareto/NBD parameters: shape and rate of the two Gamma distributions.
    T, seed
        As in `simulate_beta_geo`.

    Returns
    -------
    DataFrame
        As `simulate_beta_geo` returns.

    Notes
    -----
    A customer is active until an Exponential(mu) lifetime ends, so purchases are
    observed during w = min(lifetime, T); their number is Poisson(lambda w) and,
    given x of them, their times are x uniform draws on (0, w), the last of which
    is w * Beta(x, 1).

    Examples
    --------
    >>> data = simulate_pareto_nbd(3, r=0.55, alpha=10.6, s=0.6, beta=11.7, T=39.0, seed=0)
    >>> list(data.columns)
    ['repeat_purchases', 'recency', 'T']
    """
    rng = np.random.default_rng(seed)
    age = _ages(T, n_customers)
    purchase_rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout_rate = rng.gamma(s, 1.0 / beta, n_customers)
    # A dropout rate that underflows to 0 means a lifetime beyond any horizon.
    with np.errstate(divide="ignore"):
        lifetime = rng.exponential(1.0, n_customers) / dropout_rate
    active = np.minimum(lifetime, age)
    repeat_purchases = rng.poisson(purchase_rate * active)
    buyers = repeat_purchases > 0
    recency = np.zeros(n_customers)
    recency[buyers] = active[buyers] * rng.beta(repeat_purchases[buyers], 1.0)
    return _histories(repeat_purchases, recency, age)


def simulate_gamma_gamma(
    repeat_purchases: ArrayLike,
    *,
    p: float,
    q: float,
    v: float,
    seed: int | np.random.Generator | None = None,
) -> FloatArray:
    """Draw each customer's ``mean_repeat_value``: the mean of their repeat purchases.

    Each purchase is Gamma(p, nu) with a customer-level rate nu ~ Gamma(q, v), so the
    mean of x purchases is Gamma(p x, nu) / x (Fader & Hardie 2013). Customers with no
    repeat purchase get 0, the convention of `rfm_summary`.

    Examples
    --------
    >>> spend = simulate_gamma_gamma([0, 1, 3], p=6.0, q=4.0, v=15.0, seed=0)
    >>> float(spend[0])
    0.0
    """
    rng = np.random.default_rng(seed)
    x: npt.NDArray[np.float64] = np.asarray(repeat_purchases, dtype=np.float64).reshape(-1)
    nu = rng.gamma(q, 1.0 / v, x.size)
    spend = np.zeros(x.size)
    buyers = x > 0
    spend[buyers] = rng.gamma(p * x[buyers], 1.0 / nu[buyers]) / x[buyers]
    return spend


def _ages(age: float | ArrayLike, n_customers: int) -> FloatArray:
    """T of each customer: one value for all, or one each."""
    return np.broadcast_to(np.asarray(age, dtype=np.float64), (n_customers,)).copy()


def _histories(
    repeat_purchases: npt.NDArray[np.int64], recency: FloatArray, age: FloatArray
) -> pd.DataFrame:
    """The table `rfm_summary` would give, keyed by ``customer_id`` 0, 1, ..."""
    return pd.DataFrame(
        {"repeat_purchases": repeat_purchases, "recency": recency, "T": age},
        index=pd.RangeIndex(repeat_purchases.size, name="customer_id"),
    )
