"""Settings of scheduled runs and of what watches them (docs/monitoring.md).

``[schedule]`` says when ``cible serve`` runs the whole pipeline by itself and keeps
the result as a snapshot; ``[drift]`` how each scheduled run is compared with a
reference moment, and where alerts go.

Examples
--------
>>> ScheduleSection().runs, ScheduleSection().at.hour
('daily', 3)
>>> ScheduleSection.model_validate({"runs": "weekly", "weekday": "friday"}).weekday
'friday'
>>> DriftSection().psi_alert
0.25
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cible.domain.activation_settings import check_name

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ScheduleSection(_Strict):
    """``[schedule]``: runs the server starts by itself, kept as snapshots."""

    #: How often: ``off``, ``hourly`` (at ``at``'s minute), ``daily`` or ``weekly``.
    runs: Literal["off", "hourly", "daily", "weekly"] = "daily"
    #: Local time of day, in the workspace's time zone (``[workspace] timezone``).
    at: time = time(3, 0)
    #: Day of a weekly run.
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    #: Snapshots of runs older than this many days are removed, except the first of
    #: each month (replays and backfills are never removed by the schedule).
    keep_days: Annotated[int, Field(ge=1, le=36_500)] = 62
    #: After each scheduled run, compare it with the reference and raise alerts.
    check_drift: bool = True

    @field_validator("at", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        if isinstance(value, str) and not _is_clock(value):
            raise ValueError(f"at {value!r} is not a time of day; write it as 03:00")
        return value


def _is_clock(text: str) -> bool:
    """``HH:MM`` or ``HH:MM:SS`` (how a saved ``cible.toml`` writes it)."""
    parts = text.split(":")
    return (
        len(parts) in (2, 3)
        and all(p.isdigit() for p in parts)
        and all(len(p) == 2 for p in parts[1:])
        and int(parts[0]) <= 23
        and all(int(p) <= 59 for p in parts[1:])
    )


class DriftSection(_Strict):
    """``[drift]``: how a moment is compared with its reference, and where alerts go."""

    #: The reference is the snapshot this many days before the moment checked (or the
    #: one a clustering or a model was fitted on, when older checks name it).
    reference_days: Annotated[int, Field(ge=1, le=3_650)] = 90
    #: Population stability index from which a trait has moved (the usual 0.1) and
    #: from which it alerts (the usual 0.25).
    psi_warn: Annotated[float, Field(gt=0, le=10)] = 0.1
    psi_alert: Annotated[float, Field(gt=0, le=10)] = 0.25
    #: A number alerts only when its mean or median also moved by this share of
    #: itself or more (a PSI can be large for a shift too small to act on).
    min_change: Annotated[float, Field(ge=0, le=100)] = 0.05
    #: A segment alerts when its size changes by this share of itself or more.
    size_change: Annotated[float, Field(gt=0, le=100)] = 0.2
    #: A model alerts when its AUC falls by this much below its card.
    auc_drop: Annotated[float, Field(gt=0, le=1)] = 0.05
    #: An alert sent is not sent again (webhook, e-mail) for this many days while it
    #: persists; each check still keeps and audits it.
    repeat_days: Annotated[int, Field(ge=0, le=365)] = 7
    #: Where alerts go besides the audit log: a webhook of ``[webhooks]`` and e-mail
    #: addresses (sent through ``[email]``).
    webhook: str | None = None
    emails: list[Annotated[str, Field(min_length=3, max_length=320)]] = []

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value, "webhook")

    @model_validator(mode="after")
    def _ordered(self) -> DriftSection:
        if self.psi_warn > self.psi_alert:
            raise ValueError(
                f"psi_warn ({self.psi_warn}) is above psi_alert ({self.psi_alert}); "
                "the warning level comes first"
            )
        return self


__all__ = ["WEEKDAYS", "DriftSection", "ScheduleSection"]
