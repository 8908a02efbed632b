"""Settings of data retention (GDPR art. 5(1)(e)): how long Cible keeps people it no longer sees.

``[privacy]`` in ``cible.toml`` (docs/privacy-access.md, "Retention"):

Examples
--------
>>> PrivacySection().prospect_days, PrivacySection().customer_inactive_days
(1095, 1825)
>>> import pydantic
>>> try:
...     PrivacySection.model_validate({"prospect_days": 0})
... except pydantic.ValidationError as exc:
...     print(exc.errors()[0]["msg"])
Input should be greater than or equal to 1
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class PrivacySection(BaseModel):
    """``[privacy]``: retention periods, listed by ``cible privacy retention``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: A prospect (no order, no event) is past retention this many days after the
    #: record was created: three years by default, the CNIL's usual period.
    prospect_days: Annotated[int, Field(ge=1, le=36_500)] = 1_095
    #: A customer is past retention this many days after their last order or event.
    customer_inactive_days: Annotated[int, Field(ge=1, le=36_500)] = 1_825
