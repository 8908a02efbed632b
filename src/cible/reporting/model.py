"""What a report shows, as plain data: filled by :mod:`report`, rendered by :mod:`html`.

Persona cards and the portfolio are results of the segments use case, so their data
classes live beside what builds them (:mod:`cible.segments.personas`,
:mod:`cible.segments.portfolio`); the report holds them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cible.reporting.quality import QualityBlock
from cible.segments.personas import PersonaCard
from cible.segments.portfolio import Portfolio


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
    #: Shown instead of the segments when the dimension cannot have members yet.
    note: str | None = None


@dataclass(frozen=True)
class RfmCell:
    """Customers and revenue with a given R and F score."""

    r: int
    f: int
    customers: int
    revenue: float


@dataclass(frozen=True)
class ClusterRow:
    """One cluster of a clustering: its size, how stable it is, the rule that describes it."""

    segment_id: str
    name: str
    color: str
    size: int
    customer_share: float
    revenue_share: float
    #: Mean bootstrap Jaccard (Hennig's clusterboot); None when not measured.
    stability: float | None
    trusted: bool
    rule: str
    rule_precision: float | None
    traits: list[str]


@dataclass(frozen=True)
class ClusterBlock:
    """A clustering (a dimension of cluster segments) as the report shows it."""

    dimension: str
    method: str
    k: int
    reason: str
    #: Agreement of bootstrap refits with the clustering (adjusted Rand index).
    ari: float | None
    clusters: list[ClusterRow]


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
    personas: list[PersonaCard] = field(default_factory=list)
    portfolio: Portfolio | None = None
    clusters: list[ClusterBlock] = field(default_factory=list)
    #: The latest audit, None before any audit.
    quality: QualityBlock | None = None
