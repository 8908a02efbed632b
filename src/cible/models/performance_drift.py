"""Is a churn model obsolete? Its AUC and calibration on the latest labelled period.

:func:`performance_drift` reads what the model card promised (ROC AUC, Brier score,
mean risk and churn rate on its evaluation set, see
:mod:`cible.models.model_card` and :func:`cible.models.evaluation.churn_metrics`)
and measures the same on the latest period whose outcome is known:

- **ROC AUC** (:func:`sklearn.metrics.roc_auc_score`) and its standard error by
  DeLong, DeLong & Clarke-Pearson (*Biometrics* 44, 1988), computed from midranks as
  in Sun & Xu (*IEEE Signal Processing Letters* 21, 2014). The card keeps no scores,
  so the card's AUC gets the standard error of Hanley & McNeil (*Radiology* 143,
  1982) from its value and its numbers of churners and stayers; the two periods are
  independent samples, so the variances add.
- **Obsolete** when the AUC dropped by more than ``auc_tolerance`` (0.05) beyond its
  sampling error: the one-sided ``1 - alpha`` lower bound of the drop,
  ``drop - z * se``, exceeds the tolerance. A small labelled period therefore needs a
  larger drop; a drop within noise never retires a model.
- **Calibration**: the Brier score (:func:`sklearn.metrics.brier_score_loss`) beside
  the card's; calibration in the large, observed churn rate over mean predicted risk
  (``observed_over_expected``, 1 when the risks add up to the churners); and the
  calibration slope, the coefficient of a logistic regression of the outcome on the
  logit of the risk (Cox, *Biometrika* 45, 1958; 1 is ideal, below 1 the risks are
  too extreme). Expected calibration error is not used: it depends on a binning and
  has no standard error. **Recalibrate** when either ratio leaves
  :data:`CALIBRATION_BAND` (0.8 to 1.25) and differs from 1 beyond noise (a
  two-sided ``alpha`` test: the binomial z of observed against expected churners,
  the Wald z of the slope). Van Calster et al. (*BMC Medicine* 17, 2019) describe
  these levels of calibration.

Written by hand, and why: scikit-learn gives the AUC but no standard error, and
statsmodels (not a dependency) would only add the slope's standard error, which is
the 2 x 2 Fisher information computed here.

Examples
--------
>>> import numpy as np
>>> from cible.models.model_card import ModelCard
>>> card = ModelCard(model="churn", created_at="2025-01-01T00:00:00+00:00",
...     parameters={}, features=[], feature_importance=[], library_versions={},
...     data={"evaluation": {"rows": 20000, "churn_rate": 0.3}},
...     metrics={"model": {"roc_auc": 0.80, "brier": 0.17, "mean_risk": 0.3}})
>>> rng = np.random.default_rng(0)
>>> label = rng.random(5000) < 0.3
>>> risk = 1 / (1 + np.exp(-(np.where(label, 0.8, -0.5) + rng.normal(0, 1.0, 5000))))
>>> result = performance_drift(card, label, risk)
>>> round(result.auc, 2), result.obsolete
(0.82, False)
>>> worse = 1 / (1 + np.exp(-(np.where(label, 0.2, -0.2) + rng.normal(0, 1.0, 5000))))
>>> performance_drift(card, label, worse).obsolete
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm, rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from cible.models.errors import ModelDataError
from cible.models.model_card import ModelCard

#: An AUC drop beyond this (and beyond its sampling error) makes a model obsolete.
AUC_TOLERANCE = 0.05
#: Observed-over-expected and calibration slope inside this band are well calibrated.
CALIBRATION_BAND = (0.8, 1.25)
# Risks are clipped this far from 0 and 1 before their logit.
_CLIP = 1e-6


@dataclass(frozen=True)
class PerformanceDrift:
    """A model's card against its latest labelled period.

    Attributes
    ----------
    rows, churners : int
        Customers of the period, and those who churned.
    auc, auc_se : float
        ROC AUC of the period and its DeLong standard error.
    card_auc, card_auc_se : float
        The card's AUC and its Hanley-McNeil standard error (None without the
        evaluation set's size on the card).
    auc_drop : float
        ``card_auc - auc``.
    auc_drop_low : float
        One-sided ``1 - alpha`` lower bound of the drop.
    obsolete : bool
        ``auc_drop_low > auc_tolerance``.
    brier, card_brier : float or None
        Brier score now and on the card.
    observed_rate, mean_risk : float
        Churn rate and mean predicted risk of the period.
    observed_over_expected : float
        ``observed_rate / mean_risk``.
    calibration_slope, calibration_slope_se : float
        Logistic slope of the outcome on the logit of the risk, and its standard error.
    recalibrate : bool
        Calibration in the large or the slope left :data:`CALIBRATION_BAND` beyond noise.
    auc_tolerance, alpha : float
        The settings used.
    """

    rows: int
    churners: int
    auc: float
    auc_se: float
    card_auc: float
    card_auc_se: float | None
    auc_drop: float
    auc_drop_low: float
    obsolete: bool
    brier: float
    card_brier: float | None
    observed_rate: float
    mean_risk: float
    observed_over_expected: float
    calibration_slope: float
    calibration_slope_se: float
    recalibrate: bool
    auc_tolerance: float
    alpha: float

    def as_dict(self) -> dict[str, Any]:
        """The result as a dictionary of JSON values."""
        return asdict(self)


def performance_drift(
    card: ModelCard,
    label: npt.ArrayLike,
    risk: npt.ArrayLike,
    *,
    auc_tolerance: float = AUC_TOLERANCE,
    alpha: float = 0.05,
) -> PerformanceDrift:
    """Compare a model's card with its AUC and calibration on a new labelled period.

    Parameters
    ----------
    card : ModelCard
        The model's card, evaluated (its ``metrics`` hold the model's ``roc_auc``).
    label : array-like of {0, 1}
        1 for a customer who churned in the period.
    risk : array-like of float
        The model's churn probability for each customer at the period's start.
    auc_tolerance : float, default :data:`AUC_TOLERANCE`
        AUC drop that makes a model obsolete once beyond its sampling error.
    alpha : float, default 0.05
        Error rate of the one-sided bound on the drop and of the calibration tests.

    Returns
    -------
    PerformanceDrift

    Raises
    ------
    ModelDataError
        When the card was never evaluated, the labels hold one class, the lengths
        differ, or a risk is missing or outside [0, 1].
    """
    y, p = _check(label, risk, auc_tolerance, alpha)
    model = card.metrics.get("model") if isinstance(card.metrics, dict) else None
    if not model or model.get("roc_auc") is None:
        raise ModelDataError(
            f"the {card.model} model's card holds no evaluation metrics: evaluate the model "
            "before comparing it with a new period."
        )
    card_auc = float(model["roc_auc"])
    card_se = _card_auc_se(card, card_auc)
    auc = float(roc_auc_score(y, p))
    auc_se = delong_se(y, p)
    drop = card_auc - auc
    spread = np.sqrt(auc_se**2 + (card_se or 0.0) ** 2)
    low = drop - float(norm.ppf(1 - alpha)) * spread
    slope, slope_se = calibration_slope(y, p)
    observed, expected = float(y.mean()), float(p.mean())
    # Binomial z of the churners against the sum of the risks (calibration in the large).
    z_large = (y.sum() - p.sum()) / np.sqrt(max(float(np.sum(p * (1 - p))), 1e-12))
    critical = float(norm.ppf(1 - alpha / 2))
    lower, upper = CALIBRATION_BAND
    ratio = observed / expected if expected > 0 else float("inf")
    off_large = not lower <= ratio <= upper and abs(z_large) > critical
    off_slope = not lower <= slope <= upper and abs(slope - 1) / slope_se > critical
    brier = model.get("brier")
    return PerformanceDrift(
        rows=int(y.size),
        churners=int(y.sum()),
        auc=auc,
        auc_se=auc_se,
        card_auc=card_auc,
        card_auc_se=card_se,
        auc_drop=drop,
        auc_drop_low=float(low),
        obsolete=bool(low > auc_tolerance),
        brier=float(brier_score_loss(y, p)),
        card_brier=None if brier is None else float(brier),
        observed_rate=observed,
        mean_risk=expected,
        observed_over_expected=ratio,
        calibration_slope=slope,
        calibration_slope_se=slope_se,
        recalibrate=bool(off_large or off_slope),
        auc_tolerance=auc_tolerance,
        alpha=alpha,
    )


def delong_se(label: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """DeLong standard error of the ROC AUC, from midranks (Sun & Xu 2014).

    Examples
    --------
    >>> round(delong_se([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7]), 4)
    0.1571
    """
    y = np.asarray(label).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    positives, negatives = s[y], s[~y]
    m, n = positives.size, negatives.size
    if m < 2 or n < 2:
        raise ModelDataError("the DeLong standard error needs two churners and two stayers.")
    # Midranks in the pooled sample minus those within each class give, for each
    # positive, the number of negatives below it (ties count half), and vice versa.
    pooled = rankdata(np.r_[positives, negatives])
    above = (pooled[:m] - rankdata(positives)) / n  # V10: per positive
    below = 1.0 - (pooled[m:] - rankdata(negatives)) / m  # V01: per negative
    variance = above.var(ddof=1) / m + below.var(ddof=1) / n
    return float(np.sqrt(variance))


def hanley_mcneil_se(auc: float, positives: int, negatives: int) -> float:
    """Standard error of an AUC from its value and class sizes (Hanley & McNeil 1982).

    Examples
    --------
    >>> round(hanley_mcneil_se(0.8, 100, 200), 4)
    0.0291
    """
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    return float(np.sqrt(variance))


def calibration_slope(label: npt.ArrayLike, risk: npt.ArrayLike) -> tuple[float, float]:
    """Slope of a logistic regression of the outcome on ``logit(risk)``, and its standard error.

    The standard error is the square root of the slope's entry of the inverse Fisher
    information ``X' W X``, ``W`` the fitted ``p (1 - p)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = 1 / (1 + np.exp(-rng.normal(0, 1.5, 20000)))
    >>> label = rng.random(20000) < truth
    >>> slope, se = calibration_slope(label, truth)
    >>> abs(slope - 1) < 3 * se
    True
    """
    y = np.asarray(label).astype(np.int64)
    p = np.clip(np.asarray(risk, dtype=np.float64), _CLIP, 1 - _CLIP)
    logit = np.log(p / (1 - p))
    fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100).fit(
        logit[:, None], y
    )
    fitted = fit.predict_proba(logit[:, None])[:, 1]
    design = np.c_[np.ones_like(logit), logit]
    information = design.T @ (design * (fitted * (1 - fitted))[:, None])
    covariance = np.linalg.inv(information)
    return float(fit.coef_[0, 0]), float(np.sqrt(covariance[1, 1]))


def _card_auc_se(card: ModelCard, auc: float) -> float | None:
    evaluation = card.data.get("evaluation") if isinstance(card.data, dict) else None
    if not evaluation or "rows" not in evaluation or "churn_rate" not in evaluation:
        return None
    rows = int(evaluation["rows"])
    positives = round(rows * float(evaluation["churn_rate"]))
    if positives < 1 or rows - positives < 1:
        return None
    return hanley_mcneil_se(auc, positives, rows - positives)


def _check(
    label: npt.ArrayLike, risk: npt.ArrayLike, auc_tolerance: float, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(label)
    p = np.asarray(risk, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ModelDataError(f"label and risk differ in shape ({y.shape} and {p.shape}).")
    if not np.isin(y, (0, 1)).all():
        raise ModelDataError("label must hold 0 (stayed) and 1 (churned) only.")
    y = y.astype(np.int64)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ModelDataError("every risk must be a probability between 0 and 1.")
    if np.unique(y).size != 2 or min(y.sum(), y.size - y.sum()) < 2:
        raise ModelDataError(
            "the period needs at least two churners and two stayers to measure an AUC."
        )
    if not 0 < alpha < 1:
        raise ModelDataError(f"alpha must lie in (0, 1), not {alpha!r}.")
    if not 0 <= auc_tolerance < 1:
        raise ModelDataError(f"auc_tolerance must lie in [0, 1), not {auc_tolerance!r}.")
    return y, p
