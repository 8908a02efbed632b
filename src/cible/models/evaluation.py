"""How well a churn score ranks and predicts, and the baselines it must beat.

Every score is judged by the same four numbers (:func:`churn_metrics`):

- ``roc_auc``: the probability that a random churner scores above a random stayer;
- ``pr_auc``: average precision, which weighs the top of the ranking where a
  win-back campaign acts;
- ``top_decile_lift``: the churn rate among the 10 % highest scores divided by the
  overall churn rate (ties at the cut shared out evenly, see :func:`top_decile_lift`);
- ``brier``: the mean squared error of the probability, for scores that are one
  (None for a rule that only ranks), alongside ``mean_risk`` to compare with the
  observed churn rate.

The baselines (:func:`baseline_risks`) are what a careful analyst would use without
a model: the BG/NBD model of Fader, Hardie & Lee (2005) fitted on each date's
purchase history, read as 1 - P(alive) and as the probability of no purchase over
the horizon, and the recency rule (the longer since the last purchase, the riskier).

Examples
--------
>>> import numpy as np
>>> label = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
>>> risk = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.3, 0.2, 0.1, 0.05])
>>> metrics = churn_metrics(label, risk)
>>> round(metrics["roc_auc"], 3), round(metrics["top_decile_lift"], 3)
(0.952, 3.333)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cible.clv import BetaGeoModel
from cible.models.errors import ModelDataError
from cible.models.snapshots import CLV_COLUMNS

#: Baseline name -> what its score is.
BASELINES = {
    "bgnbd_dead": "1 - P(alive) of a BG/NBD model fitted on the history before as_of",
    "bgnbd_no_purchase": "BG/NBD probability of no purchase within the horizon",
    "recency_days": "days since the last purchase (a rule: ranks, is not a probability)",
}
#: Baselines whose score is a probability (Brier score and mean risk apply).
PROBABILITY_BASELINES = ("bgnbd_dead", "bgnbd_no_purchase")

Metrics = dict[str, float | None]


def churn_metrics(
    label: npt.ArrayLike, risk: npt.ArrayLike, *, probability: bool = True
) -> Metrics:
    """ROC AUC, PR AUC, top-decile lift and Brier score of a churn score.

    Parameters
    ----------
    label : array-like of {0, 1}
        1 for a customer who churned.
    risk : array-like of float
        Higher means more likely to churn.
    probability : bool, default True
        Whether ``risk`` is a probability; when False, ``brier`` and ``mean_risk``
        are None.

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc``, ``top_decile_lift``, ``brier``, ``mean_risk``.

    Raises
    ------
    ModelDataError
        When the labels hold one class only (no AUC is defined), the lengths
        differ, or a score is missing.
    """
    y = np.asarray(label, dtype=np.int64)
    score = np.asarray(risk, dtype=np.float64)
    if y.shape != score.shape or y.ndim != 1:
        raise ModelDataError(f"label and risk differ in shape ({y.shape} and {score.shape}).")
    if not np.isfinite(score).all():
        raise ModelDataError(f"{int((~np.isfinite(score)).sum())} risk score(s) are missing.")
    if np.unique(y).size != 2:
        raise ModelDataError(
            "The evaluation set holds one class only (everyone churned, or nobody did): "
            "no ranking metric is defined. Use a date with more customers."
        )
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "top_decile_lift": top_decile_lift(y, score),
        "brier": float(brier_score_loss(y, score)) if probability else None,
        "mean_risk": float(score.mean()) if probability else None,
    }


def top_decile_lift(label: npt.ArrayLike, risk: npt.ArrayLike, *, fraction: float = 0.1) -> float:
    """Churn rate among the ``fraction`` highest scores over the overall churn rate.

    The top set holds exactly ``fraction * n`` customers (a fractional count is
    allowed). Customers tied at the cut enter it in proportion, which is the
    expected lift when ties are broken at random: a score that is the same for
    everyone has a lift of exactly 1, whatever the row order.

    Examples
    --------
    >>> top_decile_lift([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], fraction=0.25)
    1.0
    >>> top_decile_lift([1, 0, 0, 0], [0.9, 0.5, 0.5, 0.1], fraction=0.25)
    4.0
    """
    y = np.asarray(label, dtype=np.float64)
    score = np.asarray(risk, dtype=np.float64)
    if not 0 < fraction <= 1:
        raise ModelDataError(f"fraction must lie in (0, 1], not {fraction}.")
    base_rate = y.mean()
    if y.size == 0 or base_rate == 0:
        raise ModelDataError("No customer churned: the lift is not defined.")
    wanted = fraction * y.size
    # Distinct scores from the highest, with how many customers and churners each.
    values, inverse = np.unique(-score, return_inverse=True)
    size = np.bincount(inverse, minlength=values.size).astype(np.float64)
    churners = np.bincount(inverse, weights=y, minlength=values.size)
    before = np.cumsum(size) - size
    taken = np.clip(wanted - before, 0.0, size)
    caught = float((churners * taken / size).sum())
    return caught / wanted / float(base_rate)


def baseline_risks(snapshots: pd.DataFrame, horizon_days: int) -> dict[str, pd.Series]:
    """Churn scores of the baselines of :data:`BASELINES`, row by row.

    The BG/NBD model is fitted once per ``as_of`` on that date's
    :data:`~cible.models.snapshots.CLV_COLUMNS` (daily purchase occasions before
    ``as_of``, times in days), so it sees exactly the history the traits do. Its
    probability of no purchase in the next ``h`` days is
    ``1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + h))^(r + x)``: a customer
    still alive keeps a Gamma(r + x, alpha + T) purchase rate and, in BG/NBD, can
    only drop out just after a purchase.

    Parameters
    ----------
    snapshots : DataFrame
        From :func:`cible.models.build_snapshots`.
    horizon_days : int
        The churn horizon.

    Returns
    -------
    dict of str to Series
        One score per baseline, indexed like ``snapshots``.
    """
    missing = [c for c in (*CLV_COLUMNS, "recency_days") if c not in snapshots.columns]
    if missing:
        raise ModelDataError(
            f"The snapshot table has no {missing[0]!r} column, which the baselines need; "
            "build it with build_snapshots()."
        )
    dead = pd.Series(np.nan, index=snapshots.index, dtype=np.float64)
    silent = dead.copy()
    for _, group in snapshots.groupby("as_of", sort=True):
        history = pd.DataFrame(
            {
                "repeat_purchases": group["clv_repeat_purchases"].to_numpy(np.float64),
                "recency": group["clv_recency"].to_numpy(np.float64),
                "T": group["clv_T"].to_numpy(np.float64),
            },
            index=group.index,
        )
        alive, no_purchase = _bgnbd(history, float(horizon_days))
        dead[group.index] = 1.0 - alive
        silent[group.index] = no_purchase
    recency = snapshots["recency_days"].astype(np.float64)
    return {
        "bgnbd_dead": dead,
        "bgnbd_no_purchase": silent,
        "recency_days": recency,
    }


def _bgnbd(history: pd.DataFrame, horizon: float) -> tuple[pd.Series, pd.Series]:
    """P(alive) and P(no purchase within ``horizon``) from a BG/NBD fit on ``history``."""
    with warnings.catch_warnings():
        # A small date gets the weakly-informative prior; that is fine for a baseline.
        warnings.simplefilter("ignore", UserWarning)
        model = BetaGeoModel().fit(history)
    alive = model.expected_probability_alive(history)
    params: dict[str, Any] = model.params_
    r, alpha = params["r"], params["alpha"]
    x, age = history["repeat_purchases"], history["T"]
    quiet_if_alive = ((alpha + age) / (alpha + age + horizon)) ** (r + x)
    return alive, (1.0 - alive) + alive * quiet_if_alive
