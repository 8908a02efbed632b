"""The sentences of the report's "KPIs per segment" section, in English.

They live beside the other messages so that ``make messages`` extracts them into the
French catalog; :mod:`cible.reporting.kpis` translates them with
:func:`cible.locale.gettext`.

Examples
--------
>>> from cible.locale import gettext
>>> gettext("fr", LABELS["title"])
'Indicateurs par segment'
"""

from __future__ import annotations

from cible.locale import N_

#: Labels of the section, translated with the catalog.
LABELS = {
    "title": N_("KPIs per segment"),
    "help": N_(
        "Each segment's figures over the month ending on the date shown (now: the latest "
        "run). Churn: members who bought the month before and not this month. Open and click "
        "rates: members who opened or clicked among those an e-mail reached. NPS: % promoters "
        "(9-10) minus % detractors (0-6). CSAT: share of answers 4 or 5. CAC: average cost of "
        "acquiring a member. A dash: no data for that figure. docs/kpis.md defines each one."
    ),
    "segment": N_("Segment"),
    "size": N_("Customers"),
    "buyers": N_("Buyers"),
    "revenue": N_("Revenue"),
    "aov": N_("Average order"),
    "conversion": N_("Conversion"),
    "churn": N_("Churn"),
    "clv": N_("Average 12-month value"),
    "open_rate": N_("Open rate"),
    "click_rate": N_("Click rate"),
    "nps": N_("NPS"),
    "csat": N_("CSAT"),
    "tickets": N_("Tickets per 100"),
    "cac": N_("Average CAC"),
    "size_chart": N_("Customers per segment over time"),
    "revenue_chart": N_("Revenue per segment over time"),
    "latest": N_("Latest period: {start} to {end}"),
}
