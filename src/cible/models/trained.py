"""The models of a workspace (``ws.models``): churn risk to train and read, CLV to check.

:class:`Models` is the capability object a workspace hands out: it trains the churn
model that later runs score with (:mod:`cible.models.churn_risk`), reads the newest
model's card, and checks the BG/NBD purchase model of :mod:`cible.clv` on a holdout
period before its scores are trusted.

Examples
--------
>>> import tempfile
>>> from datetime import datetime
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.demo import build_demo
>>> folder = Path(tempfile.mkdtemp()) / "cdnow"
>>> _ = build_demo(folder, dataset="cdnow")
>>> with Workspace.open(folder) as ws:
...     models = Models(ws.store)
...     card = models.churn_card()
...     evaluation = models.clv_evaluation(datetime(1997, 10, 1))
>>> card is None, evaluation.period
(True, 'W')
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from cible.clv.evaluation import HoldoutEvaluation, evaluate_holdout
from cible.domain.errors import CibleError
from cible.domain.progress import Progress
from cible.features.orders import is_purchase
from cible.models.churn_risk import latest_card, train_churn
from cible.models.model_card import ModelCard
from cible.store.store import Store


class Models:
    """Train and read the predictive models of a workspace.

    Parameters
    ----------
    store : Store
        The workspace database: its orders and traits, and the stored models.
    blocked_categories : collection of str, optional
        Product categories revealing special-category data (``[privacy]``), which
        the models never see through the category traits.
    """

    def __init__(self, store: Store, blocked_categories: Collection[str] = ()) -> None:
        self._store = store
        self._blocked = frozenset(blocked_categories)

    def train_churn(
        self, *, horizon_days: int = 90, progress: Progress | None = None
    ) -> tuple[int, ModelCard]:
        """Train and evaluate a churn model out of time; later runs score with it.

        Parameters
        ----------
        horizon_days : int
            The model estimates the probability of no purchase over this many days.
        progress : Progress, optional
            Told of each step (snapshots, fitting, evaluating).

        Returns
        -------
        tuple of (int, ModelCard)
            The stored model's id and its card (data window, features and their
            importance, metrics of the model and of the BG/NBD and recency baselines).

        Raises
        ------
        CibleError
            When the workspace has no order, or a history too short to train and test
            out of time.
        """
        return train_churn(
            self._store,
            horizon_days=horizon_days,
            progress=progress,
            blocked_categories=self._blocked,
        )

    def churn_card(self) -> tuple[int, ModelCard] | None:
        """The newest churn model's id and card, or None before any training."""
        return latest_card(self._store)

    def clv_evaluation(
        self,
        calibration_end: datetime,
        observation_end: datetime | None = None,
        *,
        period: str = "W",
    ) -> HoldoutEvaluation:
        """Fit BG/NBD on purchases up to ``calibration_end``; compare with what followed.

        Parameters
        ----------
        calibration_end : datetime
            End of the purchases the model is fitted on.
        observation_end : datetime, optional
            End of the holdout period; defaults to the last purchase day.
        period : str
            Width of the steps of the cumulative comparison (pandas frequency, ``W``).

        Raises
        ------
        CibleError
            When the workspace has no purchase, or the calibration does not end before
            the last purchase.
        """
        orders = self._store.table("orders")
        bought = orders.filter(is_purchase(orders))
        frame = bought.select("customer_id", "ordered_at", "amount").to_pandas()
        if frame.empty:
            raise CibleError("No purchase in this workspace: import orders first.")
        end = observation_end or frame["ordered_at"].max()
        if calibration_end >= end:
            raise CibleError(f"The calibration must end before the last purchase ({end:%Y-%m-%d}).")
        return evaluate_holdout(
            frame, calibration_end=calibration_end, observation_end=end, period=period
        )
