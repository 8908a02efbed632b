"""The Gamma-Gamma model of spend per purchase, and the CLV it gives with BG/NBD.

Each purchase of a customer is worth Gamma(p, nu); across customers nu follows a
Gamma(q, v) distribution (Fader & Hardie 2013, after Colombo & Jiang 1999). The
model assumes that how much a customer spends per purchase does not depend on how
often they buy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cible.clv.base import ArrayLike, CLVModel, Data, FloatArray, check_rfm, customer_columns
from cible.clv.errors import ModelError
from cible.clv.optimization import maximize_likelihood
from cible.clv.purchase import PurchaseModel

PARAM_NAMES = ("p", "q", "v")
#: Above this absolute correlation between the repeat purchases and the mean spend of
#: repeat buyers, `GammaGammaModel.fit` warns that the independence assumption looks broken.
MAX_ABS_CORRELATION = 0.3
#: Below this many repeat buyers the estimates are too noisy to trust; `fit` warns.
MIN_REPEAT_BUYERS = 30
#: Average month of a 365-day year: 4.345 weeks, lifetimes' weekly step, to 0.005%.
DAYS_PER_MONTH = 365 / 12

_HINT = (
    "Try more repeat buyers (a few hundred), and check that mean_repeat_value varies "
    "across customers and holds the mean spend of repeat purchases, not totals."
)


class GammaGammaModel(CLVModel):
    """Gamma-Gamma model: the expected spend per purchase of each customer.

    Parameters
    ----------
    max_iter : int, default 500
        As in `CLVModel`.

    Attributes
    ----------
    params_ : dict of str to float
        ``p``: shape of the spend of one purchase; ``q`` and ``v``: shape and rate
        of the Gamma distribution of its rate across customers. The mean spend per
        purchase across customers is p v / (q - 1).
    n_customers_ : int
        Repeat buyers the fit used.
    standard_errors_, log_likelihood_
        As in `CLVModel`.
    repeat_purchases_value_correlation_ : float
        Pearson correlation of ``repeat_purchases`` and ``mean_repeat_value`` among
        repeat buyers; the model assumes it is near 0.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2013). "The Gamma-Gamma model of
       monetary value". http://www.brucehardie.com/notes/025/
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV:
       using iso-value curves for customer base analysis". Journal of Marketing
       Research, 42(4), 415-430.

    Examples
    --------
    >>> from cible.clv import GammaGammaModel, simulate_beta_geo, simulate_gamma_gamma
    >>> data = simulate_beta_geo(4000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> data["mean_repeat_value"] = simulate_gamma_gamma(
    ...     data["repeat_purchases"], p=6.0, q=4.0, v=15.0, seed=2)
    >>> model = GammaGammaModel().fit(data)
    >>> sorted(model.params_)
    ['p', 'q', 'v']
    >>> value = model.expected_average_value(data)
    >>> bool((value > 0).all())
    True
    """

    _fitted_attributes: ClassVar[tuple[str, ...]] = (
        *CLVModel._fitted_attributes,
        "repeat_purchases_value_correlation_",
    )
    repeat_purchases_value_correlation_: float

    def fit(
        self, repeat_purchases: Data, mean_repeat_value: ArrayLike | None = None
    ) -> GammaGammaModel:
        """Estimate p, q, v by maximum likelihood on the repeat buyers.

        Parameters
        ----------
        repeat_purchases : DataFrame or array-like
            Repeat purchases per customer, or a table from `rfm_summary` with the
            columns ``repeat_purchases`` and ``mean_repeat_value``.
        mean_repeat_value : array-like, optional
            Mean spend of each customer's repeat purchases.

        Returns
        -------
        GammaGammaModel
            ``self``, fitted. Customers with ``repeat_purchases == 0`` are left out:
            they have no repeat purchase to average.

        Raises
        ------
        ModelError
            Without repeat buyers, with a repeat buyer whose mean spend is not
            positive, or when the maximum cannot be found.

        Warns
        -----
        UserWarning
            When repeat purchases and mean spend correlate beyond 0.3 in absolute value,
            and with fewer than 30 repeat buyers (the fit still runs, without a prior).

        Notes
        -----
        The log-likelihood is equation (1a) of [1]_; its gradient is written out in
        ``_Spend.log_likelihood``.
        """
        _, (x, z) = customer_columns(
            ("repeat_purchases", "mean_repeat_value"), (repeat_purchases, mean_repeat_value)
        )
        _check_spend(x, z)
        buyers = x > 0
        x, z = x[buyers], z[buyers]
        if x.size == 0:
            raise ModelError(
                "GammaGammaModel needs repeat buyers (repeat_purchases > 0); none were given."
            )
        if np.any(z <= 0):
            count = int(np.count_nonzero(z <= 0))
            raise ModelError(
                f"{count} repeat buyer(s) have a mean spend of 0 or less; the Gamma-Gamma "
                "model needs positive amounts (leave out free orders and refunds)."
            )
        if x.size < MIN_REPEAT_BUYERS:
            warnings.warn(
                f"Only {x.size} repeat buyers: Gamma-Gamma estimates from fewer than "
                f"{MIN_REPEAT_BUYERS} are unreliable (p and v may run off to extremes).",
                UserWarning,
                stacklevel=2,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = float(np.corrcoef(x, z)[0, 1]) if x.size > 2 else float("nan")
        if abs(correlation) > MAX_ABS_CORRELATION:
            warnings.warn(
                f"Frequency and mean spend of repeat buyers correlate ({correlation:.2f}); "
                "the Gamma-Gamma model assumes they are independent, so its values are "
                "biased for frequent or for rare buyers.",
                UserWarning,
                stacklevel=2,
            )
        spend = _Spend.build(x, z)

        def objective(u: FloatArray) -> tuple[float, FloatArray]:
            value, gradient = spend.log_likelihood(u)
            return -value, -gradient

        # p = 1, q = 3 and the v that matches the observed mean spend p v / (q - 1).
        start = np.log(np.array([1.0, 3.0, 2.0 * float(z.mean())]))
        estimate = maximize_likelihood(
            objective,
            start,
            names=PARAM_NAMES,
            total_weight=float(x.size),
            max_iter=self.max_iter,
            model="Gamma-Gamma",
            hint=_HINT,
        )
        self.params_ = dict(zip(PARAM_NAMES, map(float, estimate.params), strict=True))
        self.standard_errors_ = dict(
            zip(PARAM_NAMES, map(float, estimate.standard_errors), strict=True)
        )
        self.log_likelihood_ = -estimate.objective
        self.n_customers_ = int(x.size)
        self.repeat_purchases_value_correlation_ = correlation
        return self

    def expected_average_value(
        self, repeat_purchases: Data, mean_repeat_value: ArrayLike | None = None
    ) -> pd.Series:
        """Expected spend per future purchase, given the spend observed so far.

        Equation (5) of [1]_: a weighted mean of the population mean p v / (q - 1)
        and the customer's own mean, weighted p x / (p x + q - 1) towards the latter.

        Returns
        -------
        Series
            ``expected_average_value`` per customer, indexed like the input.
        """
        self.check_is_fitted()
        index, (x, z) = customer_columns(
            ("repeat_purchases", "mean_repeat_value"), (repeat_purchases, mean_repeat_value)
        )
        _check_spend(x, z)
        return pd.Series(self._expected_value(x, z), index=index, name="expected_average_value")

    def customer_lifetime_value(
        self,
        purchase_model: PurchaseModel,
        repeat_purchases: Data,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,  # noqa: N803 - the literature's name for the age
        mean_repeat_value: ArrayLike | None = None,
        *,
        horizon_months: int = 12,
        discount_rate: float = 0.01,
        margin: float = 1.0,
        period_days: float = 7,
    ) -> pd.Series:
        """Discounted value of each customer's purchases over the next months.

        Month by month, the expected purchases of ``purchase_model`` in that month
        times the expected spend per purchase times ``margin``, discounted by
        (1 + discount_rate)^month. This is lifetimes' ``customer_lifetime_value``
        scheme, so results can be compared with it.

        Parameters
        ----------
        purchase_model : PurchaseModel
            A fitted model of purchase counts (`BetaGeoModel`, `ParetoNBDModel`), on
            the same time unit as the data.
        repeat_purchases, recency, T, mean_repeat_value
            One table from `rfm_summary`, or four arrays.
        horizon_months : int, default 12
            Months to add up.
        discount_rate : float, default 0.01
            Monthly discount rate.
        margin : float, default 1.0
            Share of the spend that is profit.
        period_days : float, default 7
            Days per time unit of ``recency`` and ``T`` (7 for weeks, 1 for days); a
            month is 365 / 12 days.

        Returns
        -------
        Series
            ``clv`` per customer, indexed like the input.
        """
        self.check_is_fitted()
        if not (isinstance(horizon_months, int) and horizon_months >= 1):
            raise ModelError(f"horizon_months must be a whole number >= 1, not {horizon_months!r}.")
        if not (np.isfinite(discount_rate) and discount_rate > -1):
            raise ModelError(f"discount_rate must be above -1, not {discount_rate!r}.")
        if not (np.isfinite(period_days) and period_days > 0):
            raise ModelError(f"period_days must be positive, not {period_days!r}.")
        index, (x, tx, age, z) = customer_columns(
            ("repeat_purchases", "recency", "T", "mean_repeat_value"),
            (repeat_purchases, recency, T, mean_repeat_value),
        )
        check_rfm(x, tx, age)
        _check_spend(x, z)
        value = self._expected_value(x, z) * margin
        month = DAYS_PER_MONTH / period_days
        total = np.zeros(x.size)
        previous = np.zeros(x.size)
        for step in range(1, horizon_months + 1):
            cumulative = purchase_model.expected_purchases(step * month, x, tx, age).to_numpy()
            total += value * (cumulative - previous) / (1 + discount_rate) ** step
            previous = cumulative
        return pd.Series(total, index=index, name="clv")

    def _expected_value(self, x: FloatArray, z: FloatArray) -> FloatArray:
        p, q, v = (self.params_[name] for name in PARAM_NAMES)
        if q <= 1:
            raise ModelError(
                f"The fitted q is {q:.3g} <= 1: the mean spend it implies is infinite. "
                "Refit on more repeat buyers, or drop extreme order values."
            )
        return np.asarray(p * (v + x * z) / (p * x + q - 1), dtype=np.float64)


@dataclass(frozen=True)
class _Spend:
    """Repeat buyers' spend reduced to what the likelihood needs at each iteration.

    Per customer, ll = lnG(px + q) - lnG(px) - lnG(q) + q ln v + (px - 1) ln z
    + px ln x - (px + q) ln(xz + v). The Gamma functions depend on x alone, so they
    are evaluated once per distinct x; the ln z and ln x terms are constant sums; only
    ln(xz + v) needs a pass over the customers.
    """

    x: FloatArray
    spent: FloatArray
    x_values: FloatArray
    x_count: FloatArray
    sum_x_log_xz: float
    sum_log_z: float

    @classmethod
    def build(cls, x: FloatArray, z: FloatArray) -> _Spend:
        x_values, position = np.unique(x, return_inverse=True)
        return cls(
            x=x,
            spent=x * z,
            x_values=x_values,
            x_count=np.bincount(position, minlength=x_values.size).astype(np.float64),
            sum_x_log_xz=float(x @ np.log(x * z)),
            sum_log_z=float(np.sum(np.log(z))),
        )

    def log_likelihood(self, u: FloatArray) -> tuple[float, FloatArray]:
        """Log-likelihood and gradient in (log p, log q, log v)."""
        p, q, v = np.exp(u)
        n = float(self.x.size)
        xs, counts = self.x_values, self.x_count
        log_total = np.log(self.spent + v)
        inverse_total = 1.0 / (self.spent + v)
        x_log_total = float(self.x @ log_total)
        sum_log_total = float(np.sum(log_total))
        psi_all = digamma(p * xs + q)
        value = (
            float(counts @ (gammaln(p * xs + q) - gammaln(p * xs)))
            + n * (q * np.log(v) - gammaln(q))
            + p * self.sum_x_log_xz
            - self.sum_log_z
            - p * x_log_total
            - q * sum_log_total
        )
        d_p = float((counts * xs) @ (psi_all - digamma(p * xs))) + self.sum_x_log_xz - x_log_total
        d_q = float(counts @ psi_all) + n * (np.log(v) - digamma(q)) - sum_log_total
        d_v = n * q / v - p * float(self.x @ inverse_total) - q * float(np.sum(inverse_total))
        return float(value), np.array([d_p * p, d_q * q, d_v * v])


def _check_spend(x: FloatArray, z: FloatArray) -> None:
    negative = int(np.count_nonzero(z < 0))
    if negative:
        raise ModelError(f"mean_repeat_value is negative for {negative} customer(s).")
    if np.any(x < 0):
        count = int(np.count_nonzero(x < 0))
        raise ModelError(f"repeat_purchases is negative for {count} customer(s).")
