"""Settings of campaign analyses: attribution window, pre-period, margin, levels.

``[experiments]`` in ``cible.toml`` (docs/experiments.md, "Campaign analysis"):

Examples
--------
>>> ExperimentsSection().window_days, ExperimentsSection().margin
(14, 0.3)
>>> ExperimentsSection.model_validate({"margin": 1.5})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ExperimentsSection
margin
  Input should be less than or equal to 1 [type=less_than_equal, input_value=1.5, input_type=float]
    ...
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ExperimentsSection(BaseModel):
    """``[experiments]``: how campaign outcomes are attributed and judged."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: Days after a customer's assignment during which their purchases count for the
    #: campaign, in every arm, the holdout included.
    window_days: Annotated[int, Field(ge=1, le=365)] = 14
    #: Days before the assignment whose revenue is the CUPED covariate.
    pre_days: Annotated[int, Field(ge=1, le=3_650)] = 90
    #: Gross margin on revenue: incremental profit = margin x incremental revenue.
    margin: Annotated[float, Field(gt=0, le=1)] = 0.3
    #: One minus the confidence level of intervals; the level of every test.
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    #: Arms with fewer customers are analysed but flagged as too small to trust.
    min_per_arm: Annotated[int, Field(ge=2)] = 200
    #: The effect the always-valid (sequential) test is tuned for, as a share of the
    #: control's mean (its mixing standard deviation).
    sequential_effect: Annotated[float, Field(gt=0, le=10)] = 0.1
