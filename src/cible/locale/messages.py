"""Every sentence of the report, in English; French and other languages come from the catalog.

The sentences are keyed by a short name the templates use (``t("title")``); their
translations live with every other message in ``cible/locale/<lang>/LC_MESSAGES/cible.po``
(:mod:`cible.locale`).

Examples
--------
>>> text("title", "fr")
'Segments clients'
>>> text("coverage", "en", covered=3, total=4)
'3 of 4 customers are in a segment of this dimension.'
"""

from __future__ import annotations

from cible.locale import LANGUAGES, N_, gettext

#: Each sentence's key and its English text.
ENGLISH: dict[str, str] = {
    "title": N_("Customer segments"),
    "as_of": N_("Situation on"),
    "run": N_("run"),
    "customers": N_("customers"),
    "buyers": N_("buyers"),
    "revenue": N_("revenue"),
    "segment": N_("Segment"),
    "size": N_("Customers"),
    "share_customers": N_("% of customers"),
    "share_revenue": N_("% of revenue"),
    "aov": N_("Average order"),
    "recency": N_("Days since last order"),
    "guide": N_("Reading guide"),
    "rfm_grid": N_("RFM grid"),
    "rfm_help": N_(
        "Customers by recency score (rows, 5 = most recent) and frequency score (columns, 5 = "
        "most frequent). Darker cells hold more revenue."
    ),
    "funnel": N_("Lifecycle"),
    "funnel_help": N_("Where customers stand in their relationship with the brand."),
    "coverage": N_("{covered} of {total} customers are in a segment of this dimension."),
    "dimension_rfm": N_("RFM segments"),
    "dimension_lifecycle": N_("Lifecycle stages"),
    "dimension_churn_risk": N_("Churn risk (trained model)"),
    "churn_untrained": N_(
        "No churn model is trained yet, so no customer has a churn risk. Train one on your "
        "purchase history with `cible churn train`, then run `cible run` again."
    ),
    "dimension_value": N_("Value tiers (expected 12-month value)"),
    "dimension_other": N_("Segments: {name}"),
    "holdout_title": N_("Purchase model, holdout check"),
    "holdout": N_("holdout"),
    "holdout_cumulative": N_("Cumulative repeat purchases per week"),
    "holdout_by_frequency": N_("Mean holdout purchases by calibration repeat purchases"),
    "calibration_frequency": N_("Calibration repeat purchases"),
    "actual": N_("actual"),
    "expected": N_("expected"),
    "week": N_("week"),
    "no_segments": N_("No segment yet."),
    "dimension_typology": N_("Typologies (shopper types)"),
    "personas": N_("Personas"),
    "personas_help": N_(
        "Who the customers of each segment are and what to do with them. Names are generated "
        "from what sets the segment apart; choose your own in cible.toml."
    ),
    "of_revenue": N_("of revenue"),
    "avg_clv": N_("Average 12-month value"),
    "avg_churn": N_("Average churn risk"),
    "sales_channel": N_("Preferred sales channel"),
    "contact_channel": N_("Most consented contact channel"),
    "preferred_time": N_("When they buy"),
    "top_categories": N_("Top categories"),
    "distinguishing": N_("What sets them apart"),
    "no_distinguishing": N_("Nothing sets them clearly apart from the whole base."),
    "in_segment": N_("segment"),
    "base": N_("whole base"),
    "actions": N_("Recommended actions"),
    "time_pattern": N_("Mostly on {weekday}s; busiest hour {hour}:00-{next}:00 ({zone} time)."),
    "time_unknown": N_("No purchase yet."),
    "sales_web": N_("website"),
    "sales_app": N_("mobile app"),
    "sales_store": N_("store"),
    "sales_phone": N_("phone"),
    "sales_marketplace": N_("marketplace"),
    "contact_email": N_("email"),
    "contact_sms": N_("SMS"),
    "contact_phone": N_("phone"),
    "contact_post": N_("post"),
    "contact_push": N_("push notifications"),
    "contact_ads": N_("online ads"),
    "contact_none": N_("a channel they consented to"),
    "category_none": N_("their favourite categories"),
    "portfolio": N_("Portfolio guardrails"),
    "micro_segments": N_("Micro-segments"),
    "micro_help": N_(
        "Segments with fewer than {min_size} customers or less than {min_share} of revenue: "
        "too small for a campaign of their own or for stable figures."
    ),
    "micro_none": N_("No micro-segment."),
    "too_small": N_("too few customers"),
    "low_revenue": N_("little revenue"),
    "reason": N_("Why"),
    "dimension": N_("Dimension"),
    "pareto": N_("Revenue concentration (Pareto)"),
    "pareto_summary": N_(
        "The top {top} of buyers by amount spent ({customers} customers) bring {share} of revenue."
    ),
    "top_customers": N_("Top customers"),
    "share_of_top": N_("% of top customers"),
    "top_density": N_("% of the segment"),
    "overlaps": N_("Overlaps between dimensions"),
    "overlap_help": N_(
        "Customers in both segments; darker cells share more of their customers (Jaccard index)."
    ),
    "coverage_title": N_("Coverage"),
    "coverage_help": N_("Customers that each dimension leaves in none of its segments."),
    "covered": N_("In a segment"),
    "uncovered": N_("In none"),
    "clusters_title": N_("Clusters found in the data ({dimension})"),
    "clusters_help": N_(
        "{k} groups of customers who behave alike, found by {method}, each described by a "
        "readable rule and the traits that set it apart."
    ),
    "clusters_ari": N_(
        "Refitted on resampled customers, the clustering agrees with itself at {ari} (adjusted "
        "Rand index, 1 = identical)."
    ),
    "cluster_stability": N_("Stability"),
    "cluster_rule": N_("Rule that describes it"),
    "cluster_traits": N_("What sets it apart"),
    "cluster_untrusted": N_("unstable: do not act on it"),
    "movement_title": N_("Movement"),
    "movement_help": N_(
        "Where the customers of each dimension went between two moments, {days} days or more "
        "apart: on the left the segments at the start, on the right at the end; each band is "
        "as thick as the customers who took it. Hover over a band for its count."
    ),
    "movement_between": N_("From {start} to {end}, {customers} customers."),
    "movement_missing": N_(
        "No moment {days} days or more before {date} to compare with for: {dimensions}. "
        "Replay past months with `cible snapshots backfill` (or keep runs as snapshots), "
        "then make the report again."
    ),
    "movement_none": N_("(in no segment)"),
    "movement_other": N_("other segments"),
    "movement_merged": N_("{count} small segments merged"),
    "movement_node": N_("{label}: {customers} customers ({share})"),
    "movement_band": N_("{source} → {target}: {customers} customers ({share} of {source})"),
    "movement_at_start": N_("At the start"),
    "movement_at_end": N_("At the end"),
    "movement_inflow": N_("Came in"),
    "movement_outflow": N_("Left"),
    "movement_churn": N_("Churn"),
    "movement_median_days": N_("Median days in segment"),
    "movement_chart": N_("Customers moving between segments: {dimension}"),
    "drift_title": N_("Drift alerts"),
    "drift_check": N_("Latest drift check: {date}, compared with {reference}."),
    "drift_none": N_("No alert: nothing moved more than it usually does."),
    "drift_action": N_("What to do: {action}"),
    "footer": N_("Made by Cible. Shares of revenue are over purchases before the date above."),
    "quality_title": N_("Data quality"),
    "quality_score": N_("quality score out of 100"),
    "quality_audit": N_("Audit #{audit_id} of {date}, {customers} customers."),
    "quality_change": N_("{change} points since the previous audit ({previous})."),
    "quality_first": N_("First audit: the trend shows from the next one."),
    "quality_help": N_(
        "Each check weighs the share of records it hurts by how much less a record hurt by it "
        "is worth (its severity: 1 for a duplicate profile, 0.8 for a stale one, 0.2 for a "
        "missing phone...). The score multiplies what is left after each check, so problems "
        "compound. If fixed: the points the score gains once that problem is fixed, the others "
        "left as they are."
    ),
    "quality_formula_changed": N_(
        "The score's formula changed since the previous audit: the change reflects the "
        "formula, not the data."
    ),
    "quality_best_fix": N_("Biggest gain: {label}, {rows} rows to fix, +{gain} points."),
    "quality_problems": N_("Fixes that gain the most points"),
    "quality_problem": N_("Problem"),
    "quality_rows": N_("Rows"),
    "quality_share": N_("Share"),
    "quality_points": N_("If fixed"),
    "quality_examples": N_("Examples"),
    "quality_none": N_("No problem found."),
    "quality_area_completeness": N_("completeness"),
    "quality_area_validity": N_("validity"),
    "quality_area_consistency": N_("consistency"),
    "quality_area_freshness": N_("freshness"),
    "quality_area_duplicates": N_("duplicates"),
    "quality_area_outliers": N_("outliers"),
    "quality_area_consent": N_("consent"),
    "campaigns_title": N_("Campaigns against their holdout"),
    "campaigns_help": N_(
        "Each variant is compared with the customers of the same segments who received "
        "nothing (the holdout): purchases in the attribution window after each customer's "
        "assignment, in every arm alike. Lifts are on revenue per customer, adjusted for "
        "each customer's earlier revenue (CUPED); p-values are corrected across segments "
        "(Holm)."
    ),
    "campaign_summary": N_(
        "{customers} customers, window of {days} days, compared with: {control}."
    ),
    "campaign_mismatch": N_(
        "Sample-ratio mismatch in {segment}: the arms do not hold their planned shares; "
        "find why before trusting these results."
    ),
    "campaign_variant": N_("Variant"),
    "campaign_customers": N_("Customers (variant / control)"),
    "campaign_conversion": N_("Conversion (variant / control)"),
    "campaign_revenue": N_("Revenue per customer (variant / control)"),
    "campaign_lift": N_("Revenue lift, adjusted for earlier revenue [interval]"),
    "campaign_p": N_("p (Holm)"),
    "campaign_beat": N_("Probability to beat the control"),
    "campaign_roi": N_("ROI"),
    "campaign_all": N_("All segments"),
    "campaign_forest": N_("Revenue lift of each segment and variant of {name}, with its interval"),
    "campaign_point": N_("{label}: lift {lift} [{low} ; {high}]"),
    "campaign_forest_help": N_(
        "Each line is a lift with its 95% interval; green where it is significant after "
        "Holm's correction. An interval that crosses the axis is compatible with no effect."
    ),
    "campaigns_pareto": N_("Where incremental profit comes from"),
    "campaigns_pareto_help": N_(
        "Net incremental profit (margin on the revenue earned over the holdout, minus "
        "costs) of each segment over every campaign, largest first; {total} in all."
    ),
    "campaigns_net": N_("Net incremental profit"),
    "campaigns_share": N_("Share of the gains"),
    "campaigns_cumulative": N_("cumulative"),
}

LANGS = LANGUAGES

#: Each sentence in every language: ``MESSAGES[key][lang]``.
MESSAGES: dict[str, dict[str, str]] = {
    key: {lang: gettext(lang, english) for lang in LANGS} for key, english in ENGLISH.items()
}


def text(key: str, lang: str, **values: object) -> str:
    """The sentence ``key`` in ``lang``, with ``values`` filled in."""
    return gettext(lang, ENGLISH[key]).format(**values)
