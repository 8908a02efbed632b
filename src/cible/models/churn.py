"""Churn risk: the probability that a buyer makes no purchase over the next horizon.

:class:`ChurnModel` learns from snapshots (:func:`cible.models.build_snapshots`):
each buyer's traits at past dates and whether they bought within ``horizon_days``
after. Gradient-boosted trees rank the buyers; a calibration fitted on a later
date turns the ranking into probabilities; :meth:`ChurnModel.evaluate` measures it
on a date it never saw, against the BG/NBD and recency baselines, and writes the
result in :attr:`ChurnModel.model_card_`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import check_is_fitted

from cible.models.errors import ModelDataError
from cible.models.evaluation import PROBABILITY_BASELINES, baseline_risks, churn_metrics
from cible.models.feature_set import check_features, feature_matrix
from cible.models.model_card import ModelCard, library_versions
from cible.models.model_files import dump_model, load_model
from cible.models.snapshots import LABEL, check_horizon, check_snapshots

#: Calibration methods of scikit-learn's ``CalibratedClassifierCV``.
CALIBRATION_METHODS = ("sigmoid", "isotonic")
#: How many features the model card lists with their permutation importance.
CARD_FEATURES = 15
#: Most evaluation rows permutation importance reads (a random sample beyond).
IMPORTANCE_ROWS = 5_000
_IMPORTANCE_REPEATS = 5
#: What a stored churn model may name beyond the types skops trusts by default
#: (scikit-learn's public estimators, numpy, built-in containers): the output of
#: ``skops.io.get_untrusted_types`` on models fitted with each calibration method,
#: read and found harmless (none of them runs code when built).
TRUSTED_TYPES = (
    "cible.models.churn.ChurnModel",
    "cible.models.model_card.ModelCard",
    "datetime.datetime",
    "datetime.timedelta",
    "datetime.timezone",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class ChurnModel(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no types
    """Probability that a buyer makes no purchase in the next ``horizon_days``.

    Parameters
    ----------
    horizon_days : int, default 90
        The churn window: "churned" means no purchase (an order ``completed`` or
        without status) in ``[as_of, as_of + horizon_days)``.
    random_state : int, default 0
        Seed of the boosting's validation split and of every sample drawn, so that
        the same snapshots give the same model.
    features : sequence of str, optional
        Traits to learn from; default every numeric trait
        (:data:`cible.models.feature_set.DEFAULT_FEATURES`). Anything that is not a
        numeric trait, a customer profile field above all, is refused by `fit`.
    calibration : {"sigmoid", "isotonic"}, default "sigmoid"
        How scores become probabilities. Platt's sigmoid is the default: it is
        monotone, so calibrating never changes the ranking (the AUC is the trees'),
        and two parameters are stable on one date of a few thousand buyers.
        Isotonic regression bends more freely and wants more rows.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to scikit-learn's ``HistGradientBoostingClassifier``, with early
        stopping on a 10 % validation sample. The defaults (slow learning, small
        trees, large leaves) suit a few dozen noisy traits and tens of thousands
        of rows.
    max_rows : int, default 1_000_000
        Training rows beyond which a random sample of this size is used.

    Attributes
    ----------
    features_ : list of str
        The traits the model reads, in order: the requested ones that hold at
        least one value in the training rows.
    empty_features_ : list of str
        Requested traits left out because no training row has a value for them
        (the email rates of a shop that sends no email events, for instance).
    classifier_ : HistGradientBoostingClassifier
        The trees, fitted on the training dates.
    calibrated_ : CalibratedClassifierCV
        The trees frozen and calibrated on the latest date.
    training_ : dict
        The data window: horizon, and dates, rows and churn rate of the
        ``training`` and ``calibration`` sets.
    evaluation_ : dict or None
        What the last `evaluate` returned, with the permutation importance; None
        until then.
    fitted_at_ : datetime
        When `fit` ran (UTC).
    model_card_ : ModelCard
        The model card, rebuilt by `fit` and by `evaluate`.

    Notes
    -----
    `fit` splits the snapshots by date: the latest ``as_of`` calibrates, the dates
    at least ``horizon_days`` before it train the trees, and dates in between are
    left out because their labels overlap the calibration window; a calibration
    fitted on outcomes the trees were trained on would be overconfident.
    `evaluate` refuses a date whose horizon overlaps any label `fit` read.

    Scores are keyed by ``customer_id``. Customers who never bought get no score
    (NaN): churn is defined for buyers only.

    References
    ----------
    .. [1] Platt, J. (1999). "Probabilistic outputs for support vector machines and
       comparisons to regularized likelihood methods". Advances in Large Margin
       Classifiers, 61-74.
    .. [2] Neslin, S. A., Gupta, S., Kamakura, W., Lu, J. and Mason, C. H. (2006).
       "Defection detection: measuring and understanding the predictive accuracy
       of customer churn models". Journal of Marketing Research, 43(2), 204-211.

    Examples
    --------
    >>> model = ChurnModel(horizon_days=60)
    >>> model.get_params()["horizon_days"], model.get_params()["calibration"]
    (60, 'sigmoid')
    >>> ChurnModel(features=["religion"]).fit(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cible.models.errors.ModelDataError: 'religion' is not a trait...
    """

    def __init__(
        self,
        horizon_days: int = 90,
        random_state: int = 0,
        *,
        features: Sequence[str] | None = None,
        calibration: str = "sigmoid",
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        max_rows: int = 1_000_000,
    ) -> None:
        self.horizon_days = horizon_days
        self.random_state = random_state
        self.features = features
        self.calibration = calibration
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_rows = max_rows

    def fit(self, snapshots: pd.DataFrame) -> ChurnModel:
        """Train on the older snapshot dates, calibrate on the latest.

        Parameters
        ----------
        snapshots : DataFrame
            From :func:`cible.models.build_snapshots` with this model's horizon, at
            two dates or more: the latest, and at least one ``horizon_days`` before it.

        Returns
        -------
        ChurnModel
            ``self``, fitted.

        Raises
        ------
        ModelDataError
            On a feature that is not a numeric trait, a missing column, snapshots of
            another horizon, dates too close together, or a set with one class only.
        """
        features = check_features(self.features)
        horizon = check_horizon(self.horizon_days)
        self._check_settings()
        frame = check_snapshots(snapshots, self.horizon_days)
        x = feature_matrix(frame, features)
        y = frame[LABEL].to_numpy(np.int64)
        dates = frame["as_of"]
        latest = dates.max()
        calibrate = (dates == latest).to_numpy()
        train = (dates <= latest - horizon).to_numpy()
        if not train.any():
            raise ModelDataError(
                f"fit needs snapshot dates {self.horizon_days} days or more before the "
                f"latest one ({latest:%Y-%m-%d}), which calibrates; got "
                f"{_dates(dates)}."
            )
        _both_classes(y[train], "training")
        _both_classes(y[calibrate], "calibration")
        rows = np.flatnonzero(train)
        if rows.size > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(rows, self.max_rows, replace=False))
        # A trait with no value at all (email rates in a shop without email events)
        # teaches nothing, and scikit-learn's binning fails on an all-missing column.
        empty = [name for name in features if x[name].iloc[rows].isna().all()]
        used = [name for name in features if name not in empty]
        if not used:
            raise ModelDataError(
                f"None of the features has a value in the training snapshots: {', '.join(empty)}."
            )
        x = x[used]
        classifier = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            random_state=self.random_state,
        ).fit(x.iloc[rows], y[rows])
        calibrated = CalibratedClassifierCV(
            FrozenEstimator(classifier), method=self.calibration
        ).fit(x[calibrate], y[calibrate])
        self.features_ = used
        self.empty_features_ = empty
        self.classifier_ = classifier
        self.calibrated_ = calibrated
        self.training_: dict[str, Any] = {
            "horizon_days": int(self.horizon_days),
            "training": _window(dates[train], y[train], sampled_rows=int(rows.size)),
            "calibration": _window(dates[calibrate], y[calibrate]),
            "boosting_iterations": int(classifier.n_iter_),
            "features_without_values": empty,
        }
        self.evaluation_: dict[str, Any] | None = None
        self.fitted_at_ = datetime.now(UTC)
        self.model_card_ = self._card()
        return self

    def predict_proba(self, traits: pd.DataFrame) -> pd.Series:
        """Churn risk of each customer: P(no purchase in the next ``horizon_days``).

        Parameters
        ----------
        traits : DataFrame
            Traits as :func:`cible.features.compute_traits` returns them (as pandas),
            one row per customer: ``customer_id``, ``frequency`` and the features.

        Returns
        -------
        Series
            ``churn_risk`` indexed by ``customer_id``; NaN for customers without
            a purchase (``frequency`` 0), who cannot churn.
        """
        check_is_fitted(self, "calibrated_")
        if not isinstance(traits, pd.DataFrame):
            raise ModelDataError(
                f"traits must be a DataFrame of compute_traits(), not {type(traits).__name__}."
            )
        for column in ("customer_id", "frequency"):
            if column not in traits.columns:
                raise ModelDataError(f"The traits have no {column!r} column.")
        if not traits["customer_id"].is_unique:
            repeated = traits["customer_id"][traits["customer_id"].duplicated()].iloc[0]
            raise ModelDataError(f"Customer {repeated!r} appears more than once in the traits.")
        risk = np.full(len(traits), np.nan)
        buyers = (traits["frequency"].fillna(0) > 0).to_numpy()
        if buyers.any():
            x = feature_matrix(traits.loc[buyers], tuple(self.features_))
            risk[buyers] = self._risk(x)
        index = pd.Index(traits["customer_id"].to_numpy(), name="customer_id")
        return pd.Series(risk, index=index, name="churn_risk")

    def evaluate(self, snapshots: pd.DataFrame) -> dict[str, Any]:
        """Metrics of the model and of the baselines on later, unseen snapshots.

        Parameters
        ----------
        snapshots : DataFrame
            Snapshots of dates at least ``horizon_days`` after the latest date `fit`
            read, so that no outcome is seen twice (out of time).

        Returns
        -------
        dict
            ``data`` (dates, rows, churn rate), ``model`` (the metrics of
            :func:`cible.models.evaluation.churn_metrics`), ``baselines`` (the same
            for each baseline of :data:`cible.models.evaluation.BASELINES`) and
            ``feature_importance`` (permutation importance on ROC AUC, largest
            first). Also kept in ``evaluation_`` and the model card.

        Raises
        ------
        ModelDataError
            On overlapping dates, snapshots of another horizon, or one class only.
        """
        check_is_fitted(self, "calibrated_")
        frame = check_snapshots(snapshots, self.horizon_days)
        seen = pd.Timestamp(self.training_["calibration"]["as_of"][-1])
        first = frame["as_of"].min()
        if first < seen + pd.Timedelta(days=self.horizon_days):
            raise ModelDataError(
                f"as_of {first:%Y-%m-%d} is not out of time: its labels overlap those of "
                f"{seen:%Y-%m-%d}, which fit read; evaluate on dates from "
                f"{seen + pd.Timedelta(days=self.horizon_days):%Y-%m-%d}."
            )
        x = feature_matrix(frame, tuple(self.features_))
        y = frame[LABEL].to_numpy(np.int64)
        risk = self._risk(x)
        baselines = {
            name: churn_metrics(y, score.to_numpy(), probability=name in PROBABILITY_BASELINES)
            for name, score in baseline_risks(frame, self.horizon_days).items()
        }
        result: dict[str, Any] = {
            "data": _window(frame["as_of"], y),
            "model": churn_metrics(y, risk),
            "baselines": baselines,
            "feature_importance": self._importance(x, y),
        }
        self.evaluation_ = result
        self.model_card_ = self._card()
        return result

    def dumps(self) -> bytes:
        """The model, fitted or not, as skops bytes for the caller to store.

        :meth:`loads` reads them back without running code
        (:mod:`cible.models.model_files`).
        """
        return dump_model(self)

    @classmethod
    def loads(cls, data: bytes) -> ChurnModel:
        """A model from :meth:`dumps` bytes, built only from :data:`TRUSTED_TYPES`.

        Raises
        ------
        StoredModelError
            For a pickle stored by an older Cible (never unpickled), a file naming
            another type, damaged bytes or another object.
        """
        return load_model(
            data,
            cls,
            TRUSTED_TYPES,
            what="churn model",
            redo="train a new one with `cible churn train`",
        )

    def _check_settings(self) -> None:
        if self.calibration not in CALIBRATION_METHODS:
            raise ModelDataError(
                f"calibration must be one of {', '.join(CALIBRATION_METHODS)}, "
                f"not {self.calibration!r}."
            )
        if not isinstance(self.max_rows, int) or self.max_rows < 1:
            raise ModelDataError(f"max_rows must be a positive integer, not {self.max_rows!r}.")

    def _risk(self, x: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.asarray(self.calibrated_.predict_proba(x)[:, 1], dtype=np.float64)

    def _importance(self, x: pd.DataFrame, y: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
        """Drop in ROC AUC when each feature is shuffled, largest first."""
        found = permutation_importance(
            self.calibrated_,
            x,
            y,
            scoring="roc_auc",
            n_repeats=_IMPORTANCE_REPEATS,
            random_state=self.random_state,
            max_samples=min(len(x), IMPORTANCE_ROWS),
        )
        ranked = sorted(
            zip(self.features_, found.importances_mean, found.importances_std, strict=True),
            key=lambda item: (-item[1], item[0]),
        )
        return [
            {"feature": name, "importance": float(mean), "std": float(std)}
            for name, mean, std in ranked
        ]

    def _card(self) -> ModelCard:
        data = dict(self.training_)
        importance: list[dict[str, Any]] = []
        metrics: dict[str, Any] = {}
        if self.evaluation_ is not None:
            data["evaluation"] = self.evaluation_["data"]
            importance = self.evaluation_["feature_importance"][:CARD_FEATURES]
            metrics = {
                "model": self.evaluation_["model"],
                "baselines": self.evaluation_["baselines"],
            }
        parameters = self.get_params()
        if parameters["features"] is not None:
            parameters["features"] = list(parameters["features"])
        return ModelCard(
            model="churn",
            created_at=self.fitted_at_.isoformat(),
            parameters=parameters,
            data=data,
            features=list(self.features_),
            feature_importance=importance,
            metrics=metrics,
            library_versions=library_versions(),
        )


def _both_classes(y: np.ndarray[Any, Any], which: str) -> None:
    if np.unique(y).size < 2:
        state = "churned" if y.size and y[0] == 1 else "bought again"
        raise ModelDataError(
            f"Every customer of the {which} set {state}: a churn model needs both "
            "outcomes. Use more dates or more customers."
        )


def _window(
    dates: pd.Series, y: np.ndarray[Any, Any], *, sampled_rows: int | None = None
) -> dict[str, Any]:
    """Dates (ISO), rows and churn rate of one set, as JSON values."""
    window: dict[str, Any] = {
        "as_of": [moment.isoformat() for moment in sorted(pd.to_datetime(dates.unique()))],
        "rows": int(y.size),
        "churn_rate": float(y.mean()),
    }
    if sampled_rows is not None and sampled_rows != y.size:
        window["sampled_rows"] = sampled_rows
    return window


def _dates(dates: pd.Series) -> str:
    return ", ".join(f"{moment:%Y-%m-%d}" for moment in sorted(pd.to_datetime(dates.unique())))
