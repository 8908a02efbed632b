"""The report's campaign section: each campaign against its holdout, and where profit comes from.

For each analysed campaign (:class:`~cible.activation.campaign_analysis.CampaignAnalysis`):
a table per segment and variant (conversion and revenue per customer against the
control, the lift with its interval, Holm's p, the probability to beat the control and
the ROI) and a forest chart of the revenue lifts with their intervals. Then the Pareto
of incremental profit: each segment's net profit over every campaign, largest first,
with its share of the total and the cumulative share. ``templates/_campaigns.html.j2``
draws both charts from :func:`cible.reporting.charts.lift_forest` and
:func:`cible.reporting.charts.profit_pareto`.

Examples
--------
>>> block = campaigns_block([], "en")
>>> block.cards, block.pareto
([], [])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cible.activation.campaign_analysis import ALL, CampaignAnalysis, Comparison


@dataclass(frozen=True)
class CampaignRow:
    """One segment and variant of a campaign, as the table shows it."""

    segment: str
    variant: str
    customers: str
    conversion: tuple[float, float] | None
    revenue: tuple[float, float] | None
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    p_holm: float | None
    probability_to_beat: float | None
    significant: bool
    too_small: bool
    roi: float | None


@dataclass(frozen=True)
class CampaignCard:
    """One campaign's part of the section."""

    campaign_id: str
    name: str
    control: str
    customers: int
    window_days: int
    rows: list[CampaignRow]
    mismatches: list[str]
    notes: list[str]


@dataclass(frozen=True)
class ParetoBar:
    """A segment's net incremental profit over every campaign."""

    segment: str
    net: float
    share: float | None
    cumulative: float | None


@dataclass(frozen=True)
class CampaignsBlock:
    """The section: a card per campaign and the Pareto of incremental profit."""

    cards: list[CampaignCard] = field(default_factory=list)
    pareto: list[ParetoBar] = field(default_factory=list)
    total_net: float = 0.0

    @property
    def empty(self) -> bool:
        """Whether no campaign has been analysed."""
        return not self.cards


def campaigns_block(analyses: Sequence[tuple[CampaignAnalysis, str]], lang: str) -> CampaignsBlock:
    """The section for ``analyses`` (each with the campaign's name in ``lang``)."""
    cards = [_card(analysis, name) for analysis, name in analyses]
    pareto, total = _pareto(analyses)
    return CampaignsBlock(cards, pareto, total)


def _card(analysis: CampaignAnalysis, name: str) -> CampaignCard:
    by_key: dict[tuple[str, str], dict[str, Comparison]] = {}
    for c in analysis.comparisons:
        by_key.setdefault((c.segment, c.variant), {})[c.metric] = c
    returns = {(r.segment, r.variant): r for r in analysis.returns}
    rows = []
    for (segment, variant), metrics in by_key.items():
        conversion, revenue = metrics.get("conversion"), metrics.get("revenue")
        main = revenue or conversion
        assert main is not None  # a key exists because some metric was compared
        found = returns.get((segment, variant))
        rows.append(
            CampaignRow(
                segment=segment,
                variant=variant,
                customers=f"{main.n_variant:,} / {main.n_control:,}",
                conversion=None
                if conversion is None
                else (conversion.variant_value, conversion.control_value),
                revenue=None if revenue is None else (revenue.variant_value, revenue.control_value),
                lift=_finite(revenue.relative_lift) if revenue else None,
                lift_low=_finite(revenue.relative_lift_ci_low) if revenue else None,
                lift_high=_finite(revenue.relative_lift_ci_high) if revenue else None,
                p_holm=None if revenue is None else revenue.adjusted_p_value,
                probability_to_beat=None if revenue is None else revenue.probability_to_beat,
                significant=bool(revenue and revenue.significant),
                too_small=main.too_small,
                roi=None if found is None else found.roi,
            )
        )
    return CampaignCard(
        campaign_id=analysis.campaign_id,
        name=name,
        control=analysis.control,
        customers=analysis.customers,
        window_days=analysis.window_days,
        rows=rows,
        mismatches=[r.segment for r in analysis.sample_ratios if r.mismatch],
        notes=list(analysis.notes),
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _pareto(
    analyses: Sequence[tuple[CampaignAnalysis, str]],
) -> tuple[list[ParetoBar], float]:
    net: dict[str, float] = {}
    for analysis, _name in analyses:
        for r in analysis.returns:
            if r.segment != ALL:
                net[r.segment] = net.get(r.segment, 0.0) + r.net
    ordered = sorted(net.items(), key=lambda kv: -kv[1])
    positive = sum(v for v in net.values() if v > 0)
    bars = []
    running = 0.0
    for segment, value in ordered:
        share = value / positive if positive > 0 and value > 0 else None
        if share is not None:
            running += share
        bars.append(
            ParetoBar(
                segment=segment,
                net=value,
                share=share,
                cumulative=running if share is not None else None,
            )
        )
    return bars, sum(net.values())
