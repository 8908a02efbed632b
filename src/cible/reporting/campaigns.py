"""The report's campaign section: each campaign against its holdout, and where profit comes from.

For each analysed campaign (:class:`~cible.activation.campaign_analysis.CampaignAnalysis`):
a table per segment and variant (conversion and revenue per customer against the
control, the lift with its interval, Holm's p, the probability to beat the control and
the ROI) and a forest chart of the revenue lifts with their intervals. Then the Pareto
of incremental profit: each segment's net profit over every campaign, largest first,
with its share of the total and the cumulative share. Geometry is computed here;
``templates/_campaigns.html.j2`` draws it as inline SVG.

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

#: Width of the charts, and of the label column inside them.
WIDTH, LABELS = 640, 190
#: Height of one row of a chart.
ROW = 24


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
class ForestPoint:
    """A revenue lift with its interval, placed on the forest chart."""

    label: str
    lift: float
    low: float
    high: float
    significant: bool
    x: float
    x_low: float
    x_high: float
    y: float


@dataclass(frozen=True)
class CampaignCard:
    """One campaign's part of the section."""

    campaign_id: str
    name: str
    control: str
    customers: int
    window_days: int
    rows: list[CampaignRow]
    forest: list[ForestPoint]
    zero_x: float
    height: int
    ticks: list[tuple[float, str]]
    mismatches: list[str]
    notes: list[str]


@dataclass(frozen=True)
class ParetoBar:
    """A segment's net incremental profit over every campaign."""

    segment: str
    net: float
    share: float | None
    cumulative: float | None
    x: float
    width: float
    y: float


@dataclass(frozen=True)
class CampaignsBlock:
    """The section: a card per campaign and the Pareto of incremental profit."""

    cards: list[CampaignCard] = field(default_factory=list)
    pareto: list[ParetoBar] = field(default_factory=list)
    pareto_zero_x: float = LABELS
    pareto_height: int = 0
    total_net: float = 0.0

    @property
    def empty(self) -> bool:
        """Whether no campaign has been analysed."""
        return not self.cards


def campaigns_block(analyses: Sequence[tuple[CampaignAnalysis, str]], lang: str) -> CampaignsBlock:
    """The section for ``analyses`` (each with the campaign's name in ``lang``)."""
    cards = [_card(analysis, name) for analysis, name in analyses]
    pareto, zero, height, total = _pareto(analyses)
    return CampaignsBlock(cards, pareto, zero, height, total)


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
    forest, zero, ticks = _forest(rows)
    return CampaignCard(
        campaign_id=analysis.campaign_id,
        name=name,
        control=analysis.control,
        customers=analysis.customers,
        window_days=analysis.window_days,
        rows=rows,
        forest=forest,
        zero_x=zero,
        height=max(len(forest), 1) * ROW + 30,
        ticks=ticks,
        mismatches=[r.segment for r in analysis.sample_ratios if r.mismatch],
        notes=list(analysis.notes),
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _forest(
    rows: Sequence[CampaignRow],
) -> tuple[list[ForestPoint], float, list[tuple[float, str]]]:
    shown = [
        r for r in rows if r.lift is not None and r.lift_low is not None and r.lift_high is not None
    ]
    if not shown:
        return [], float(LABELS), []
    low = min(0.0, *(r.lift_low or 0.0 for r in shown))
    high = max(0.0, *(r.lift_high or 0.0 for r in shown))
    span = (high - low) or 1.0
    inner = WIDTH - LABELS - 20

    def x(value: float) -> float:
        return round(LABELS + (value - low) / span * inner, 1)

    points = [
        ForestPoint(
            label=("∑" if r.segment == ALL else r.segment) + " · " + r.variant,
            lift=r.lift or 0.0,
            low=r.lift_low or 0.0,
            high=r.lift_high or 0.0,
            significant=r.significant,
            x=x(r.lift or 0.0),
            x_low=x(r.lift_low or 0.0),
            x_high=x(r.lift_high or 0.0),
            y=i * ROW + 12,
        )
        for i, r in enumerate(shown)
    ]
    ticks = [(x(v), f"{v:+.0%}") for v in _ticks(low, high)]
    return points, x(0.0), ticks


def _ticks(low: float, high: float) -> list[float]:
    """About five round values between ``low`` and ``high``, 0 included."""
    step = 10 ** math.floor(math.log10((high - low) / 4)) if high > low else 1.0
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= 5:
            step *= factor
            break
    first = math.ceil(low / step) * step
    values = []
    value = first
    while value <= high + 1e-12:
        values.append(round(value, 10))
        value += step
    return values


def _pareto(
    analyses: Sequence[tuple[CampaignAnalysis, str]],
) -> tuple[list[ParetoBar], float, int, float]:
    net: dict[str, float] = {}
    for analysis, _name in analyses:
        for r in analysis.returns:
            if r.segment != ALL:
                net[r.segment] = net.get(r.segment, 0.0) + r.net
    if not net:
        return [], float(LABELS), 0, 0.0
    ordered = sorted(net.items(), key=lambda kv: -kv[1])
    positive = sum(v for v in net.values() if v > 0)
    low = min(0.0, *net.values())
    high = max(0.0, *net.values())
    span = (high - low) or 1.0
    inner = WIDTH - LABELS - 20
    zero = LABELS + (0 - low) / span * inner
    bars = []
    running = 0.0
    for i, (segment, value) in enumerate(ordered):
        end = LABELS + (value - low) / span * inner
        share = value / positive if positive > 0 and value > 0 else None
        if share is not None:
            running += share
        bars.append(
            ParetoBar(
                segment=segment,
                net=value,
                share=share,
                cumulative=running if share is not None else None,
                x=round(min(zero, end), 1),
                width=round(abs(end - zero), 1),
                y=i * ROW + 4,
            )
        )
    return bars, round(zero, 1), len(bars) * ROW + 10, sum(net.values())
