"""What a report shows, as plain data: filled by the workspace, rendered by :mod:`html`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SegmentRow:
    """One segment's figures in a run."""

    segment_id: str
    name: str
    description: str
    color: str
    size: int
    customer_share: float
    revenue: float
    revenue_share: float
    avg_order_value: float | None
    mean_recency_days: float | None


@dataclass(frozen=True)
class DimensionBlock:
    """The segments of one dimension, largest first unless the order means something."""

    dimension: str
    title: str
    segments: list[SegmentRow]
    covered: int


@dataclass(frozen=True)
class RfmCell:
    """Customers and revenue with a given R and F score."""

    r: int
    f: int
    customers: int
    revenue: float


@dataclass(frozen=True)
class Report:
    """Everything the report page needs."""

    workspace: str
    lang: str
    as_of: datetime
    run_id: int
    customers: int
    buyers: int
    revenue: float
    currency: str
    dimensions: list[DimensionBlock]
    rfm_grid: list[RfmCell] = field(default_factory=list)
    funnel: list[SegmentRow] = field(default_factory=list)
