"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood.

`rfm_summary` turns orders into one row per customer (``repeat_purchases``,
``recency``, ``T``, ``mean_repeat_value``; see `cible.clv.summary` for why these are
not lifetimes' names); `BetaGeoModel` and `ParetoNBDModel` (both a `PurchaseModel`)
predict purchases and the probability of being alive; `GammaGammaModel` predicts
the value of those purchases and the CLV.
This package uses numpy, scipy and pandas only.

Examples
--------
>>> from cible.clv import BetaGeoModel, GammaGammaModel, rfm_summary
>>> BetaGeoModel().get_params()
{'max_iter': 500}
"""

from cible.clv.beta_geo import BetaGeoModel
from cible.clv.errors import ModelError
from cible.clv.gamma_gamma import GammaGammaModel
from cible.clv.pareto_nbd import ParetoNBDModel
from cible.clv.purchase import PurchaseModel
from cible.clv.simulation import simulate_beta_geo, simulate_gamma_gamma, simulate_pareto_nbd
from cible.clv.summary import rfm_summary

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModelError",
    "ParetoNBDModel",
    "PurchaseModel",
    "rfm_summary",
    "simulate_beta_geo",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
]
