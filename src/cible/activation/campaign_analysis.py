"""A campaign's analysis per segment and variant, from its sufficient statistics.

:func:`analyse_statistics` reads the rows of
:func:`cible.activation.campaign_outcomes.arm_statistics` for one campaign (one per
segment and arm) and compares each variant with the control in each segment, and in
all segments together (the sums of sufficient statistics add up):

- **conversion** (share of customers with a purchase in their window): score test and
  Newcombe interval (:func:`cible.experiments.compare_proportions`);
- **revenue per recipient**: Welch's test (:func:`cible.experiments.compare_means`)
  and, when the pre-period revenue varies, CUPED
  (:func:`cible.experiments.compare_means_cuped`), whose p-value is then the one
  judged;
- **Holm** across the segments and variants of each metric (the "all segments" rows
  are a summary, outside the family);
- the Bayesian **probability to beat** the control;
- the **sample-ratio check** of each segment's arms against the planned shares;
- optionally the always-valid **sequential** p-value and confidence sequence of the
  revenue difference over daily looks (:func:`cible.experiments.sequential_test`);
- **return**: incremental revenue and profit against the holdout, the cost (the fixed
  cost shared by treated customers, a price per message sent, the discounts beyond the
  control's) and ROI = (incremental profit - cost) / cost.

The control is the holdout; a campaign without one compares its variants with the
first (an A/B test) and measures no return. Arms under ``min_per_arm`` customers are
analysed but flagged; arms under 2 customers, or metrics constant in both arms, are
left out with a note.

Examples
--------
>>> from cible.activation.campaign_definition import parse_campaign
>>> definition = parse_campaign({"id": "c", "segments": ["s"], "channel": "email",
...     "variants": [{"id": "v", "share": 0.5, "message": "m"}], "holdout": 0.5,
...     "start": "2025-01-01", "end": "2025-01-31", "cost": {"per_send": 0.1}})
>>> rows = [
...     {"segment_id": "s", "arm": "v", "n": 500, "sum_y": 6000.0, "sum_y2": 400000.0,
...      "sum_x": 5000.0, "sum_x2": 300000.0, "sum_xy": 200000.0, "conversions": 100,
...      "orders": 120, "discount": 0.0, "complete": 500},
...     {"segment_id": "s", "arm": "holdout", "n": 500, "sum_y": 4000.0, "sum_y2": 300000.0,
...      "sum_x": 5000.0, "sum_x2": 300000.0, "sum_xy": 150000.0, "conversions": 70,
...      "orders": 80, "discount": 0.0, "complete": 500}]
>>> result = analyse_statistics(definition, rows, margin=0.3)
>>> conversion = result.comparisons[0]
>>> conversion.metric, conversion.variant_value, conversion.control_value
('conversion', 0.2, 0.14)
>>> round(result.returns[0].incremental_revenue, 2), result.returns[0].cost
(2000.0, 50.0)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cible.activation.campaign_definition import HOLDOUT, CampaignDefinition
from cible.experiments import (
    ArmStats,
    ExperimentError,
    check_sample_ratio,
    compare_means,
    compare_means_cuped,
    compare_proportions,
    holm_correction,
    probability_to_beat_means,
    probability_to_beat_proportions,
    sequential_test,
)
from cible.experiments.result import Result

#: The segment of the rows that sum every segment (not a valid segment id, so no
#: segment can be mistaken for it).
ALL = "*"
METRICS = ("conversion", "revenue")


@dataclasses.dataclass(frozen=True)
class Comparison(Result):
    """One variant against the control in one segment, for one metric.

    ``p_value`` is the one judged: CUPED's for revenue when it applies, else Welch's;
    the score test's for conversion. ``adjusted_p_value`` is Holm's, across the
    segments and variants of the metric (None on the all-segments rows, :data:`ALL`).
    """

    segment: str
    variant: str
    control: str
    metric: str
    n_variant: int
    n_control: int
    variant_value: float
    control_value: float
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float
    relative_lift_ci_low: float
    relative_lift_ci_high: float
    p_value: float
    adjusted_p_value: float | None
    significant: bool
    probability_to_beat: float
    unadjusted_difference: float | None = None
    unadjusted_p_value: float | None = None
    variance_reduction: float | None = None
    sequential_p_value: float | None = None
    sequential_ci_low: float | None = None
    sequential_ci_high: float | None = None
    too_small: bool = False


@dataclasses.dataclass(frozen=True)
class SampleRatio(Result):
    """The customers per arm of one segment against the planned shares."""

    segment: str
    arms: tuple[str, ...]
    counts: tuple[int, ...]
    planned_shares: tuple[float, ...]
    p_value: float
    mismatch: bool


@dataclasses.dataclass(frozen=True)
class Return(Result):
    """What one variant earned over the holdout in one segment, and what it cost.

    ``incremental_revenue`` = (mean revenue of the variant - of the holdout,
    CUPED-adjusted when the pre-period revenue varies) x treated customers, revenue
    being the amounts paid (after discounts); ``extra_discount`` = (discount per
    customer of the variant - of the holdout) x treated; ``incremental_profit`` =
    margin x incremental revenue + (margin - ``discount_share``) x extra discount (the
    margin is on list prices, and ``1 - discount_share`` of a discount is funded by
    someone else); ``cost`` = the fixed cost's share (by treated customers) +
    ``per_send`` x messages sent; ``net`` = profit - cost; ``roi`` = net / cost (None
    without a cost).
    ``profit_per_treated`` (the incremental profit per treated customer, with the
    standard error of its revenue part) and ``cost_per_treated`` (the cost without its
    fixed part) feed budget allocation.
    """

    segment: str
    variant: str
    treated: int
    sent: int
    incremental_revenue: float
    incremental_revenue_ci_low: float
    incremental_revenue_ci_high: float
    extra_discount: float
    incremental_profit: float
    profit_per_treated: float
    profit_per_treated_se: float
    cost_per_treated: float
    cost: float
    net: float
    net_ci_low: float
    net_ci_high: float
    roi: float | None
    roi_ci_low: float | None
    roi_ci_high: float | None


@dataclasses.dataclass(frozen=True)
class CampaignAnalysis(Result):
    """The whole analysis of one campaign (see the module)."""

    campaign_id: str
    as_of: datetime | None
    control: str
    window_days: int
    pre_days: int
    margin: float
    alpha: float
    min_per_arm: int
    customers: int
    complete: int
    comparisons: tuple[Comparison, ...]
    sample_ratios: tuple[SampleRatio, ...]
    returns: tuple[Return, ...]
    engagement: dict[str, dict[str, int]]
    notes: tuple[str, ...]


def analyse_statistics(
    definition: CampaignDefinition,
    rows: Sequence[Mapping[str, Any]],
    *,
    margin: float,
    alpha: float = 0.05,
    min_per_arm: int = 200,
    sent: Mapping[tuple[str, str], int] | None = None,
    looks: Sequence[Mapping[str, Any]] | None = None,
    sequential_effect: float = 0.1,
    engagement: Mapping[str, Mapping[str, int]] | None = None,
    window_days: int = 14,
    pre_days: int = 90,
    as_of: datetime | None = None,
) -> CampaignAnalysis:
    """Compare each variant with the control, per segment and overall (see the module).

    Parameters
    ----------
    definition : CampaignDefinition
    rows : sequence of mapping
        :func:`~cible.activation.campaign_outcomes.arm_statistics` rows of this campaign.
    margin : float
        Gross margin on revenue.
    alpha : float, default 0.05
    min_per_arm : int, default 200
    sent : mapping, optional
        Messages sent per (segment, variant); None when the campaign is sent outside
        Cible (every treated customer then counts as one message).
    looks : sequence of mapping, optional
        :func:`~cible.activation.campaign_outcomes.look_statistics` rows, for the
        sequential test; None leaves it out.
    sequential_effect : float, default 0.1
        The lift the sequential test is tuned for, as a share of the control's mean.
    engagement : mapping, optional
        Customers per arm and e-mail event.
    """
    arms = [arm for arm, _ in definition.arms()]
    shares = dict(definition.arms())
    control = HOLDOUT if HOLDOUT in shares else arms[0]
    variants = [arm for arm in arms if arm != control]
    stats = _by_segment(rows)
    segments = [s for s in definition.segments if s in stats] + sorted(
        s for s in stats if s not in definition.segments
    )
    stats[ALL] = _sum_segments(stats)
    notes: list[str] = []
    if not variants:
        notes.append("Nothing to compare: the campaign has a single variant and no holdout.")
    if control != HOLDOUT:
        notes.append(
            f"No holdout: each variant is compared with {control!r}; no return is measured "
            "(ROI needs a control group that was not treated)."
        )
    comparisons: list[Comparison] = []
    for segment in [*segments, ALL]:
        for variant in variants:
            comparisons.extend(
                _compare(segment, variant, control, stats[segment], alpha, min_per_arm, notes)
            )
    comparisons = _holm(comparisons, alpha)
    if looks is not None:
        # The mixing scale comes from the pre-period (revenue over a window's length),
        # not from the outcomes: an always-valid test must not be tuned on its data.
        customers_all = sum(a["n"] for a in stats[ALL].values())
        pre_sum = sum(a["sum_x"] for a in stats[ALL].values())
        scale = pre_sum / customers_all * window_days / pre_days if customers_all else 0.0
        comparisons = _with_sequential(comparisons, looks, control, alpha, sequential_effect, scale)
    ratios = [
        _sample_ratio(segment, arms, [shares[a] for a in arms], stats[segment])
        for segment in [*segments, ALL]
        if stats[segment] and len(arms) > 1
    ]
    for ratio in ratios:
        if ratio.mismatch:
            notes.append(
                f"Sample-ratio mismatch in {ratio.segment!r} (p = {ratio.p_value:.2g}): the "
                "arms do not hold their planned shares; find why before trusting the results."
            )
    returns: list[Return] = []
    if control == HOLDOUT:
        treated_total = sum(stats[ALL].get(v, _EMPTY)["n"] for v in variants)
        for segment in [*segments, ALL]:
            for variant in variants:
                found = _return(
                    definition,
                    segment,
                    variant,
                    stats[segment],
                    margin=margin,
                    alpha=alpha,
                    sent=_sent(sent, segment, variant, stats[segment]),
                    treated_total=treated_total,
                )
                if found is not None:
                    returns.append(found)
    customers = sum(int(r["n"]) for r in rows)
    complete = sum(int(r["complete"]) for r in rows)
    if complete < customers:
        notes.append(
            f"{customers - complete} of {customers} customers' windows had not closed by "
            "the analysis: their purchases so far count, in every arm alike; the effect "
            "over a whole window may differ."
        )
    return CampaignAnalysis(
        campaign_id=definition.id,
        as_of=as_of,
        control=control,
        window_days=window_days,
        pre_days=pre_days,
        margin=margin,
        alpha=alpha,
        min_per_arm=min_per_arm,
        customers=customers,
        complete=complete,
        comparisons=tuple(comparisons),
        sample_ratios=tuple(ratios),
        returns=tuple(returns),
        engagement={arm: dict(events) for arm, events in (engagement or {}).items()},
        notes=tuple(dict.fromkeys(notes)),
    )


_EMPTY: dict[str, float] = {
    "n": 0,
    "sum_y": 0.0,
    "sum_y2": 0.0,
    "sum_x": 0.0,
    "sum_x2": 0.0,
    "sum_xy": 0.0,
    "conversions": 0,
    "orders": 0,
    "discount": 0.0,
    "complete": 0,
}


def _by_segment(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    found: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        segment = str(row.get("segment_id") or "(none)")
        found.setdefault(segment, {})[str(row["arm"])] = {k: float(row[k]) for k in _EMPTY}
    return found


def _sum_segments(
    stats: Mapping[str, Mapping[str, Mapping[str, float]]],
) -> dict[str, dict[str, float]]:
    total: dict[str, dict[str, float]] = {}
    for arms in stats.values():
        for arm, values in arms.items():
            into = total.setdefault(arm, dict(_EMPTY))
            for key, value in values.items():
                into[key] += value
    return total


def _arm(values: Mapping[str, float], metric: str) -> ArmStats:
    if metric == "conversion":
        c = values["conversions"]
        return ArmStats(int(values["n"]), c, c)
    return ArmStats(
        int(values["n"]),
        values["sum_y"],
        values["sum_y2"],
        values["sum_x"],
        values["sum_x2"],
        values["sum_xy"],
    )


def _compare(
    segment: str,
    variant: str,
    control: str,
    arms: Mapping[str, Mapping[str, float]],
    alpha: float,
    min_per_arm: int,
    notes: list[str],
) -> list[Comparison]:
    v, c = arms.get(variant, _EMPTY), arms.get(control, _EMPTY)
    if v["n"] < 2 or c["n"] < 2:
        notes.append(
            f"{segment!r}: {variant!r} has {int(v['n'])} and {control!r} {int(c['n'])} "
            "customers; at least 2 in each arm are needed to compare them."
        )
        return []
    small = v["n"] < min_per_arm or c["n"] < min_per_arm
    if small:
        notes.append(
            f"{segment!r}: fewer than {min_per_arm} customers in an arm ({int(v['n'])} and "
            f"{int(c['n'])}); its results are shown but too uncertain to act on."
        )
    found = []
    for metric in METRICS:
        variant_stats, control_stats = _arm(v, metric), _arm(c, metric)
        try:
            found.append(
                _comparison(segment, variant, control, metric, variant_stats, control_stats, alpha)
                | {"too_small": small}
            )
        except ExperimentError as error:
            notes.append(f"{segment!r}, {variant!r}, {metric}: not tested ({error})")
    return [Comparison(**fields) for fields in found]


def _comparison(
    segment: str,
    variant: str,
    control: str,
    metric: str,
    v: ArmStats,
    c: ArmStats,
    alpha: float,
) -> dict[str, Any]:
    common: dict[str, Any] = {
        "segment": segment,
        "variant": variant,
        "control": control,
        "metric": metric,
    }
    common |= {"n_variant": v.n, "n_control": c.n, "adjusted_p_value": None}
    if metric == "conversion":
        p = compare_proportions(v, c, alpha)
        bayes = probability_to_beat_proportions(v, c)
        return common | {
            "variant_value": p.variant_rate,
            "control_value": p.control_rate,
            "difference": p.difference,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "relative_lift": p.relative_lift,
            "relative_lift_ci_low": p.relative_lift_ci_low,
            "relative_lift_ci_high": p.relative_lift_ci_high,
            "p_value": p.p_value,
            "significant": p.p_value <= alpha,
            "probability_to_beat": bayes.probability_to_beat,
        }
    welch = compare_means(v, c, alpha)
    bayes = probability_to_beat_means(v, c)
    fields = common | {
        "variant_value": welch.variant_mean,
        "control_value": welch.control_mean,
        "difference": welch.difference,
        "ci_low": welch.ci_low,
        "ci_high": welch.ci_high,
        "relative_lift": welch.relative_lift,
        "relative_lift_ci_low": welch.relative_lift_ci_low,
        "relative_lift_ci_high": welch.relative_lift_ci_high,
        "p_value": welch.p_value,
        "significant": welch.p_value <= alpha,
        "probability_to_beat": bayes.probability_to_beat,
    }
    if v.covariate_variance > 0 and c.covariate_variance > 0:
        cuped = compare_means_cuped(v, c, alpha)
        fields |= {
            "difference": cuped.difference,
            "ci_low": cuped.ci_low,
            "ci_high": cuped.ci_high,
            # A lift is relative to what the control spent: none when it spent nothing
            # (CUPED's adjusted control mean is then a small artefact of the pre-period).
            "relative_lift": cuped.relative_lift if c.mean > 0 else math.nan,
            "relative_lift_ci_low": cuped.relative_lift_ci_low if c.mean > 0 else math.nan,
            "relative_lift_ci_high": cuped.relative_lift_ci_high if c.mean > 0 else math.nan,
            "p_value": cuped.p_value,
            "significant": cuped.p_value <= alpha,
            "unadjusted_difference": welch.difference,
            "unadjusted_p_value": welch.p_value,
            "variance_reduction": cuped.variance_reduction,
        }
    return fields


def _holm(comparisons: list[Comparison], alpha: float) -> list[Comparison]:
    adjusted: dict[int, float] = {}
    for metric in METRICS:
        family = [i for i, c in enumerate(comparisons) if c.metric == metric and c.segment != ALL]
        if family:
            holm = holm_correction([comparisons[i].p_value for i in family], alpha)
            adjusted.update(zip(family, holm.adjusted_p_values, strict=True))
    return [
        dataclasses.replace(c, adjusted_p_value=adjusted[i], significant=adjusted[i] <= alpha)
        if i in adjusted
        else c
        for i, c in enumerate(comparisons)
    ]


def _with_sequential(
    comparisons: list[Comparison],
    looks: Sequence[Mapping[str, Any]],
    control: str,
    alpha: float,
    effect: float,
    scale: float,
) -> list[Comparison]:
    per: dict[tuple[Any, str], dict[str, dict[str, float]]] = {}
    for row in looks:
        key = (row["look"], str(row.get("segment_id") or "(none)"))
        per.setdefault(key, {})[str(row["arm"])] = {
            k: float(row[k]) for k in ("n", "sum_y", "sum_y2")
        }
    moments = sorted({look for look, _ in per})
    by_look: dict[Any, dict[str, dict[str, dict[str, float]]]] = {m: {} for m in moments}
    for (look, segment), arms in per.items():
        by_look[look][segment] = arms
    result = []
    for c in comparisons:
        if c.metric != "revenue":
            result.append(c)
            continue
        pairs = []
        for moment in moments:
            segments = by_look[moment]
            arms = _sum_segments(segments) if c.segment == ALL else segments.get(c.segment, {})
            v, k = arms.get(c.variant), arms.get(control)
            if v is None or k is None or v["n"] < 2 or k["n"] < 2:
                continue
            pair = (ArmStats(int(v["n"]), v["sum_y"], v["sum_y2"]), _control(k))
            if pair[0].variance > 0 and pair[1].variance > 0:
                pairs.append(pair)
        size = scale or abs(c.control_value) or abs(c.variant_value)
        if not pairs or size == 0:
            result.append(c)
            continue
        test = sequential_test(pairs, mixing_sd=effect * size, alpha=alpha)
        result.append(
            dataclasses.replace(
                c,
                sequential_p_value=test.p_value[-1],
                sequential_ci_low=test.ci_low[-1],
                sequential_ci_high=test.ci_high[-1],
            )
        )
    return result


def _control(values: Mapping[str, float]) -> ArmStats:
    return ArmStats(int(values["n"]), values["sum_y"], values["sum_y2"])


def _sample_ratio(
    segment: str, arms: Sequence[str], shares: Sequence[float], stats: Mapping[str, Any]
) -> SampleRatio:
    counts = [int(stats.get(arm, _EMPTY)["n"]) for arm in arms]
    check = check_sample_ratio(counts, shares)
    return SampleRatio(
        segment=segment,
        arms=tuple(arms),
        counts=tuple(counts),
        planned_shares=tuple(shares),
        p_value=check.p_value,
        mismatch=check.mismatch,
    )


def _sent(
    sent: Mapping[tuple[str, str], int] | None,
    segment: str,
    variant: str,
    arms: Mapping[str, Mapping[str, float]],
) -> int:
    treated = int(arms.get(variant, _EMPTY)["n"])
    if sent is None:
        return treated
    if segment == ALL:
        return sum(n for (_, v), n in sent.items() if v == variant)
    return int(sent.get((segment, variant), 0))


def _return(
    definition: CampaignDefinition,
    segment: str,
    variant: str,
    arms: Mapping[str, Mapping[str, float]],
    *,
    margin: float,
    alpha: float,
    sent: int,
    treated_total: float,
) -> Return | None:
    v, c = arms.get(variant, _EMPTY), arms.get(HOLDOUT, _EMPTY)
    if v["n"] < 2 or c["n"] < 2:
        return None
    variant_stats, control_stats = _arm(v, "revenue"), _arm(c, "revenue")
    difference = variant_stats.mean - control_stats.mean
    se = math.sqrt(variant_stats.variance / v["n"] + control_stats.variance / c["n"])
    low = high = difference  # a metric constant in both arms has no interval
    try:
        # The same estimate as the comparison: CUPED's when the pre-period varies.
        if variant_stats.covariate_variance > 0 and control_stats.covariate_variance > 0:
            cuped = compare_means_cuped(variant_stats, control_stats, alpha)
            difference, se = cuped.difference, cuped.standard_error
            low, high = cuped.ci_low, cuped.ci_high
        else:
            welch = compare_means(variant_stats, control_stats, alpha)
            low, high = welch.ci_low, welch.ci_high
    except ExperimentError:
        pass
    treated = v["n"]
    cost_model = definition.cost
    # Amounts are paid after discounts and the margin is on list prices (amount +
    # discount): a customer's gross profit is margin x amount - (1 - margin) x discount,
    # plus the share of the discount someone else funds (1 - discount_share).
    extra_discount = v["discount"] / v["n"] - c["discount"] / c["n"]
    per_treated = margin * difference + (margin - cost_model.discount_share) * extra_discount
    variable = cost_model.per_send * sent
    cost = cost_model.fixed * (treated / treated_total if treated_total else 0.0) + variable
    profit = per_treated * treated
    net = profit - cost
    shift = (margin - cost_model.discount_share) * extra_discount
    net_low = (margin * low + shift) * treated - cost
    net_high = (margin * high + shift) * treated - cost
    return Return(
        segment=segment,
        variant=variant,
        treated=int(treated),
        sent=sent,
        incremental_revenue=difference * treated,
        incremental_revenue_ci_low=low * treated,
        incremental_revenue_ci_high=high * treated,
        extra_discount=extra_discount * treated,
        incremental_profit=profit,
        profit_per_treated=per_treated,
        profit_per_treated_se=margin * se,
        cost_per_treated=variable / treated,
        cost=cost,
        net=net,
        net_ci_low=net_low,
        net_ci_high=net_high,
        roi=net / cost if cost > 0 else None,
        roi_ci_low=net_low / cost if cost > 0 else None,
        roi_ci_high=net_high / cost if cost > 0 else None,
    )
