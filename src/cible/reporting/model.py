"""What a report shows, as plain data: filled by the workspace, rendered by :mod:`html`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


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
class TraitDifference:
    """A trait that sets a persona's segment apart from the whole base."""

    trait: str
    #: For a label trait, the value compared; None for a number.
    level: str | None
    mean_in: float
    mean_base: float
    lift: float | None
    #: Test value: ``|z| > 2`` sets the segment apart.
    z: float
    #: What the trait is, per language.
    description: dict[str, str]
    #: The comparison as a sentence, per language.
    text: dict[str, str]
    #: The trait's name for a reader, per language (never its column name).
    label: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Share:
    """A value and the share of a segment's members holding it."""

    value: str
    share: float


@dataclass(frozen=True)
class PersonaCard:
    """Who the customers of one segment are, in English and French, and what to do.

    Texts are ``{"en": ..., "fr": ...}``; figures are over the segment's current
    members. ``avg_clv_12m`` and ``avg_churn_risk`` are None when not computed.
    Preferred times are on the workspace's clock, ``[workspace] timezone``
    (weekday 0 = Monday).
    """

    segment_id: str
    kind: str
    dimension: str | None
    color: str
    name: dict[str, str]
    #: "generated" from the distinguishing traits, or "chosen" in cible.toml.
    name_source: str
    segment_name: dict[str, str]
    size: int
    customer_share: float
    revenue_share: float
    avg_clv_12m: float | None
    avg_churn_risk: float | None
    traits: list[TraitDifference]
    sales_channel: Share | None
    contact_channel: Share | None
    preferred_weekday: Share | None
    preferred_hour: Share | None
    top_categories: list[Share]
    #: Playbook rule id -> action, in rule order.
    actions: list[tuple[str, dict[str, str]]]
    #: The preferred time as a sentence per language.
    time_text: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class MicroSegment:
    """A segment below the portfolio's minimum size or revenue share."""

    segment_id: str
    name: str
    #: The dimension's title in the report's language (None for a segment without one).
    dimension: str | None
    size: int
    revenue_share: float
    too_small: bool
    low_revenue: bool


@dataclass(frozen=True)
class ParetoRow:
    """How many of the top customers by monetary value one segment holds."""

    segment_id: str
    name: str
    color: str
    top_customers: int
    #: Share of all top customers found in this segment.
    share_of_top: float
    #: Share of the segment's own members who are top customers.
    top_density: float


@dataclass(frozen=True)
class ParetoView:
    """Revenue concentration: the top ``top_share`` of buyers and where they sit."""

    top_share: float
    buyers: int
    top_customers: int
    #: Share of revenue coming from the top customers.
    revenue_share: float
    #: Dimension title -> its segments, most top customers first.
    by_dimension: list[tuple[str, list[ParetoRow]]]


@dataclass(frozen=True)
class OverlapMatrix:
    """Customers in segment ``rows[i]`` of one dimension and ``columns[j]`` of another."""

    dimension_x: str
    dimension_y: str
    title_x: str
    title_y: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    #: Jaccard index: shared customers over customers in either segment.
    jaccard: list[list[float]]


@dataclass(frozen=True)
class Coverage:
    """Customers a dimension leaves out: in none of its segments."""

    dimension: str
    title: str
    covered: int
    uncovered: int
    uncovered_share: float


@dataclass(frozen=True)
class Portfolio:
    """Guardrails of the segment portfolio."""

    min_size: int
    min_revenue_share: float
    micro_segments: list[MicroSegment]
    pareto: ParetoView | None
    overlaps: list[OverlapMatrix]
    coverage: list[Coverage]


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
    #: The latest audit (``cible.quality.report.QualityBlock``), None before any audit;
    #: typed loosely because the quality layer sits above this one.
    quality: Any = None
