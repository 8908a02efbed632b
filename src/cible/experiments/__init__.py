"""The statistics of experiments: tests on sufficient statistics, sequential tests, budgets.

The backend reduces each (campaign, segment, variant, metric) to an `ArmStats`
(``n``, sums and sums of squares of the metric and of the pre-period covariate, and
their sum of products); every analysis here reads only those numbers and returns a
frozen result with ``as_dict()``. Frequentist tests come from scipy and statsmodels;
CUPED, the mixture SPRT and the Bayesian probabilities are written by hand, each
module saying why (docs/experiments.md). This package uses numpy, scipy and
statsmodels only.

Examples
--------
>>> from cible.experiments import ArmStats, compare_proportions
>>> result = compare_proportions(ArmStats(400, 48, 48), ArmStats(400, 30, 30))
>>> round(result.p_value, 3)
0.032
"""

from cible.experiments.arm import ArmStats
from cible.experiments.bayes import (
    BayesianComparison,
    probability_to_beat_means,
    probability_to_beat_proportions,
)
from cible.experiments.budget import BudgetAllocation, Cell, Scenario, allocate_budget
from cible.experiments.cuped import CupedComparison, compare_means_cuped
from cible.experiments.errors import ExperimentError
from cible.experiments.means import MeanComparison, compare_means, relative_lift
from cible.experiments.multiple import HolmCorrection, holm_correction
from cible.experiments.power import (
    PowerCalculation,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from cible.experiments.proportions import ProportionComparison, compare_proportions
from cible.experiments.sequential import SequentialTest, sequential_test
from cible.experiments.srm import SRM_THRESHOLD, SampleRatioCheck, check_sample_ratio

__all__ = [
    "SRM_THRESHOLD",
    "ArmStats",
    "BayesianComparison",
    "BudgetAllocation",
    "Cell",
    "CupedComparison",
    "ExperimentError",
    "HolmCorrection",
    "MeanComparison",
    "PowerCalculation",
    "ProportionComparison",
    "SampleRatioCheck",
    "Scenario",
    "SequentialTest",
    "allocate_budget",
    "check_sample_ratio",
    "compare_means",
    "compare_means_cuped",
    "compare_proportions",
    "holm_correction",
    "power_means",
    "power_proportions",
    "probability_to_beat_means",
    "probability_to_beat_proportions",
    "relative_lift",
    "sample_size_means",
    "sample_size_proportions",
    "sequential_test",
]
