"""The words of the fairness page, in English.

They live beside the other messages so that ``make messages`` extracts them into the
French catalog; :mod:`cible.reporting.fairness` translates them with
:func:`cible.locale.gettext`.

Examples
--------
>>> from cible.locale import gettext
>>> gettext("fr", LABELS["groups"])
'Groupes dans la base'
"""

from __future__ import annotations

from cible.locale import N_

#: Labels of the fairness page, translated with the catalog.
LABELS = {
    "title": N_("Fairness and proxies: {attribute}"),
    "intro": N_(
        "How the protected attribute {attribute} ({sensitivity}), held for audit only, "
        "spreads across the segments of the run of {date}: {customers} customers, {missing} "
        "without a value (left out of every rate)."
    ),
    "not_profiled": N_(
        "{count} customers who object to profiling are not profiled: they are in no "
        "automated segment and are left out of the base and of every rate."
    ),
    "rule": N_(
        "A segment is flagged when its disparate-impact ratio (the lowest selection rate over "
        "the highest, among groups of at least {min} customers) is below {threshold}, the "
        "four-fifths rule, and Fisher's exact test of those two rates stays significant at "
        "{alpha} after Holm's correction across the segments of this report."
    ),
    "limits": N_(
        "An association is not a cause: a flagged segment calls for a look at its "
        "definition and at how it is used, not for its automatic removal."
    ),
    "groups": N_("Groups in the base"),
    "group": N_("Group"),
    "customers": N_("Customers"),
    "share": N_("Share"),
    "too_small": N_("too small to compare"),
    "dimension": N_("Dimension {name}"),
    "standalone": N_("Segment outside any dimension"),
    "proxy_line": N_(
        "Membership predicts the attribute with a balanced accuracy of {accuracy} (chance: "
        "{chance}); Cramér's V {v}: {level} proxy."
    ),
    "strong": N_("strong"),
    "moderate": N_("moderate"),
    "weak": N_("weak"),
    "chart": N_("Share of each group among the members of each segment"),
    "whole_base": N_("Whole base"),
    "segment": N_("Segment"),
    "size": N_("Members"),
    "lowest": N_("Least selected"),
    "highest": N_("Most selected"),
    "ratio": N_("Ratio"),
    "p_value": N_("p (Holm)"),
    "cramers_v": N_("Cramér's V"),
    "verdict": N_("Verdict"),
    "flagged": N_("flagged"),
    "not_significant": N_("below 4/5, not significant"),
    "no_ratio": N_("no ratio"),
    "fair": N_("no adverse impact found"),
    "rates": N_("Selection rate per group"),
    "traits": N_("Traits responsible for {segment}"),
    "field": N_("Field"),
    "association": N_("Cramér's V with the attribute, alone"),
    "unmeasured": N_("Also read, not measured: {names}."),
    "none_flagged": N_("No segment flagged."),
    "flagged_count": N_("{count} segment(s) flagged: {names}."),
}
