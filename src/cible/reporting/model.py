"""What a report shows, as plain data: filled by :mod:`report`, rendered by :mod:`html`.

Persona cards and the portfolio are results of the segments use case, so their data
classes live beside what builds them (:mod:`cible.segments.personas`,
:mod:`cible.segments.portfolio`); the report holds them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cible.reporting.campaigns import CampaignsBlock
from cible.reporting.kpis import KpiSection
from cible.reporting.quality import QualityBlock
from cible.reporting.sankey import Sankey
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
class MovementRow:
    """One segment of a dimension between the start and the end of a migration."""

    segment_id: str
    name: str
    color: str
    at_start: int
    at_end: int
    inflow: int
    outflow: int
    #: Share of its members at the start who are elsewhere at the end.
    churn: float | None
    median_days: float | None


@dataclass(frozen=True)
class MovementBlock:
    """Where one dimension's customers went between ``start`` and ``end``."""

    dimension: str
    title: str
    start: datetime
    end: datetime
    customers: int
    sankey: Sankey
    rows: list[MovementRow]


@dataclass(frozen=True)
class MovementAlert:
    """An alert of the latest drift check, in the report's language."""

    kind: str
    subject: str
    what: str
    action: str


@dataclass(frozen=True)
class Movement:
    """The movement section: migrations, and the latest drift check's alerts.

    Empty (the default) draws no section. ``missing`` holds the titles of the
    dimensions left out for want of a moment ``reference_days`` before ``end``.
    """

    end: datetime | None = None
    reference_days: int = 0
    blocks: list[MovementBlock] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: The latest drift check: its moment and reference, None before the first.
    check_as_of: datetime | None = None
    check_reference: datetime | None = None
    alerts: list[MovementAlert] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether there is nothing to show."""
        return not (self.blocks or self.missing or self.check_as_of)


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
    #: Migrations since a moment ``[drift] reference_days`` earlier, and drift alerts.
    movement: Movement = field(default_factory=Movement)
    #: Launched campaigns against their holdouts, and the Pareto of incremental profit.
    campaigns: CampaignsBlock = field(default_factory=CampaignsBlock)
    #: KPIs per segment over the kept snapshots and now; None draws no section.
    kpis: KpiSection | None = None
