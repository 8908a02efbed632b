"""Predictive models per customer, trained on traits: churn risk.

:func:`build_snapshots` turns the history into training rows (each buyer's traits
at past dates and whether they bought next); :class:`ChurnModel` learns the
probability of no purchase over a horizon, is evaluated out of time against the
BG/NBD and recency baselines, and describes itself in a :class:`ModelCard`;
:func:`risk_band` reads a risk as ``low``, ``medium`` or ``high``.

Models read traits only (:mod:`cible.models.feature_set`): no customer profile
field, and so no special-category attribute, can enter one.

Examples
--------
>>> from cible.models import ChurnModel, risk_band
>>> ChurnModel().horizon_days
90
>>> risk_band(0.7)
'high'
"""

from cible.models.bands import BANDS, risk_band, risk_bands
from cible.models.churn import ChurnModel
from cible.models.errors import ModelDataError
from cible.models.evaluation import BASELINES, churn_metrics, top_decile_lift
from cible.models.feature_set import DEFAULT_FEATURES, check_features
from cible.models.model_card import ModelCard
from cible.models.snapshots import build_snapshots, out_of_time_split

__all__ = [
    "BANDS",
    "BASELINES",
    "DEFAULT_FEATURES",
    "ChurnModel",
    "ModelCard",
    "ModelDataError",
    "build_snapshots",
    "check_features",
    "churn_metrics",
    "out_of_time_split",
    "risk_band",
    "risk_bands",
    "top_decile_lift",
]
