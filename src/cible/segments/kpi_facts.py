"""What each customer did in each KPI period, and the KPIs of each segment from it.

A KPI *moment* is a kept snapshot (or the latest run, "now"); its *period* is the
window that ends at the moment, ``[period_start, as_of)``, and the *previous period*
the window of the same length before it, ``[previous_start, period_start)`` (see
:func:`cible.segments.kpi_moments.kpi_moments`). Both are given as a small table of
moments, ``moment_id, as_of, period_start, previous_start``, so every source is read
once with a range join, whatever the number of moments.

:func:`period_facts` reduces orders, e-mail events, survey answers and support
tickets to one row per ``(moment_id, customer_id)`` with counts only
(:data:`FACT_COLUMNS`); :func:`segment_kpis` joins them to the moment's members and
turns them into the KPIs of docs/kpis.md, ratios left NULL where their denominator
is empty (no survey answer gives no NPS, not 0).

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> moments = ibis.memtable({"moment_id": [1], "as_of": [datetime(2024, 3, 1)],
...     "period_start": [datetime(2024, 2, 1)], "previous_start": [datetime(2024, 1, 1)]})
>>> orders = ibis.memtable({"customer_id": ["a", "a", "b"], "amount": [10.0, 30.0, 5.0],
...     "ordered_at": [datetime(2024, 1, 5), datetime(2024, 2, 5), datetime(2024, 1, 9)],
...     "status": [None, "completed", None]})
>>> facts = order_facts(orders, moments)
>>> found = facts.order_by("customer_id").to_pyarrow().to_pylist()
>>> [(r["customer_id"], r["orders"], r["revenue"], r["orders_before"]) for r in found]
[('a', 1, 30.0, 1), ('b', 0, 0.0, 1)]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

from cible.features.events import normalise_event_name
from cible.features.orders import is_purchase

#: Counts kept per ``(moment_id, customer_id)``; ``revenue`` is an amount.
FACT_COLUMNS = (
    "orders",
    "revenue",
    "orders_before",
    "delivered",
    "opened",
    "clicked",
    "nps_answers",
    "promoters",
    "detractors",
    "csat_answers",
    "satisfied",
    "tickets",
)

#: Normalised event names (:func:`~cible.features.events.normalise_event_name`) of
#: Segment's e-mail spec, with the spellings the demo and older exports use.
EMAIL_DELIVERED = ("email_delivered", "email_sent")
EMAIL_OPENED = ("email_opened",)
EMAIL_CLICKED = ("email_link_clicked", "email_clicked")

#: NPS: promoters answer 9 or 10, detractors 0 to 6 (Reichheld, 2003).
PROMOTER_MIN, DETRACTOR_MAX = 9, 6
#: CSAT: the share of answers 4 or 5 on a 1-5 scale.
SATISFIED_MIN = 4


def _in_period(table: Any, column: str, moments: Any, start: str) -> Any:
    """Rows of ``table`` joined to every moment whose window from ``start`` holds them."""
    at = table[column]
    return table.join(moments, [at >= moments[start], at < moments.as_of])


def _complete(facts: Any, **values: Any) -> Any:
    """``facts`` with every :data:`FACT_COLUMNS` column, 0 where this source has none."""
    columns = {
        name: values[name]
        if name in values
        else ibis.literal(
            0.0 if name == "revenue" else 0, dt.float64 if name == "revenue" else dt.int64
        )
        for name in FACT_COLUMNS
    }
    return facts.select("moment_id", "customer_id", **columns)


def order_facts(orders: Any, moments: Any) -> Any:
    """Per moment and customer: purchases and their amount in the period, and
    purchases in the previous period (``orders_before``).

    A purchase is what :func:`cible.features.orders.is_purchase` says (completed or
    without status); cancelled, returned and pending orders count nowhere.
    """
    bought = orders.filter(orders.customer_id.notnull(), is_purchase(orders)).select(
        "customer_id", "ordered_at", "amount"
    )
    joined = _in_period(bought, "ordered_at", moments, "previous_start")
    now = joined.ordered_at >= joined.period_start
    per = joined.group_by(["moment_id", "customer_id"]).aggregate(
        orders=joined.count(where=now),
        revenue=joined.amount.cast(dt.float64).sum(where=now).fill_null(0.0),
        orders_before=joined.count(where=~now),
    )
    return _complete(per, orders=per.orders, revenue=per.revenue, orders_before=per.orders_before)


def _named_in(name: Any, spellings: tuple[str, ...]) -> Any:
    return name.isin(list(spellings))


def email_facts(events: Any, moments: Any) -> Any:
    """Per moment and customer: e-mail events delivered, opened and clicked in the period."""
    wanted = (*EMAIL_DELIVERED, *EMAIL_OPENED, *EMAIL_CLICKED)
    named = events.filter(events.customer_id.notnull()).select(
        "customer_id", "timestamp", name=normalise_event_name(events.event)
    )
    mail = named.filter(_named_in(named.name, wanted))
    joined = _in_period(mail, "timestamp", moments, "period_start")
    per = joined.group_by(["moment_id", "customer_id"]).aggregate(
        delivered=joined.count(where=_named_in(joined.name, EMAIL_DELIVERED)),
        opened=joined.count(where=_named_in(joined.name, EMAIL_OPENED)),
        clicked=joined.count(where=_named_in(joined.name, EMAIL_CLICKED)),
    )
    return _complete(per, delivered=per.delivered, opened=per.opened, clicked=per.clicked)


def survey_facts(surveys: Any, moments: Any) -> Any:
    """Per moment and customer: NPS answers (promoters, detractors) and CSAT answers
    (satisfied) given in the period; answers off their scale (NPS 0-10, CSAT 1-5) are
    left out."""
    answers = surveys.filter(surveys.customer_id.notnull(), surveys.score.notnull())
    joined = _in_period(answers, "answered_at", moments, "period_start")
    # The importer checks that a score is a number, not its scale: an answer off its
    # kind's scale (an NPS of 42) is left out rather than counted as a promoter.
    nps = (joined.kind == "nps") & joined.score.between(0, 10)
    csat = (joined.kind == "csat") & joined.score.between(1, 5)
    per = joined.group_by(["moment_id", "customer_id"]).aggregate(
        nps_answers=joined.count(where=nps),
        promoters=joined.count(where=nps & (joined.score >= PROMOTER_MIN)),
        detractors=joined.count(where=nps & (joined.score <= DETRACTOR_MAX)),
        csat_answers=joined.count(where=csat),
        satisfied=joined.count(where=csat & (joined.score >= SATISFIED_MIN)),
    )
    return _complete(
        per,
        nps_answers=per.nps_answers,
        promoters=per.promoters,
        detractors=per.detractors,
        csat_answers=per.csat_answers,
        satisfied=per.satisfied,
    )


def ticket_facts(tickets: Any, moments: Any) -> Any:
    """Per moment and customer: support tickets opened in the period."""
    known = tickets.filter(tickets.customer_id.notnull())
    joined = _in_period(known, "opened_at", moments, "period_start")
    per = joined.group_by(["moment_id", "customer_id"]).aggregate(tickets=joined.count())
    return _complete(per, tickets=per.tickets)


def period_facts(*sources: Any) -> Any:
    """The facts of every source summed into one row per ``(moment_id, customer_id)``."""
    union = ibis.union(*sources, distinct=False)
    return union.group_by(["moment_id", "customer_id"]).aggregate(
        **{name: union[name].sum() for name in FACT_COLUMNS}
    )


def _ratio(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` as float, NULL where the denominator is 0."""
    return numerator.cast(dt.float64) / denominator.nullif(0).cast(dt.float64)


def segment_kpis(members: Any, facts: Any, values: Any, cac: Any) -> Any:
    """The KPIs of each segment at each moment.

    Parameters
    ----------
    members : ibis.Table
        ``moment_id, segment_id, dimension, customer_id``: who was in which segment.
    facts : ibis.Table
        :func:`period_facts`.
    values : ibis.Table
        ``moment_id, customer_id, clv``: the CLV trait of each member at the moment.
    cac : ibis.Table
        ``customer_id, cac``: what acquiring each customer cost (:mod:`cible.segments.cac`).

    Returns
    -------
    ibis.Table
        ``moment_id, segment_id, dimension`` and the counts and KPIs of docs/kpis.md.
    """
    keys = ["moment_id", "customer_id"]
    joined = members.left_join(facts, keys).select(members, *[facts[name] for name in FACT_COLUMNS])
    joined = joined.left_join(values, keys).select(joined, values.clv)
    joined = joined.left_join(cac, "customer_id").select(joined, cac.cac)
    zero = {name: joined[name].fill_null(0) for name in FACT_COLUMNS}
    mailed = zero["delivered"] > 0
    sums = joined.group_by(["moment_id", "segment_id", "dimension"]).aggregate(
        size=joined.count(),
        buyers=joined.count(where=zero["orders"] > 0),
        orders=zero["orders"].sum(),
        revenue=zero["revenue"].sum(),
        previous_buyers=joined.count(where=zero["orders_before"] > 0),
        churned=joined.count(where=(zero["orders_before"] > 0) & (zero["orders"] == 0)),
        mailed=joined.count(where=mailed),
        openers=joined.count(where=mailed & (zero["opened"] > 0)),
        clickers=joined.count(where=mailed & (zero["clicked"] > 0)),
        nps_answers=zero["nps_answers"].sum(),
        promoters=zero["promoters"].sum(),
        detractors=zero["detractors"].sum(),
        csat_answers=zero["csat_answers"].sum(),
        satisfied=zero["satisfied"].sum(),
        tickets=zero["tickets"].sum(),
        avg_clv=joined.clv.mean(),
        avg_cac=joined.cac.mean(),
    )
    return sums.select(
        "moment_id",
        "segment_id",
        "dimension",
        "size",
        "buyers",
        "orders",
        "revenue",
        avg_order_value=_ratio(sums.revenue, sums.orders),
        frequency=_ratio(sums.orders, sums.size),
        avg_clv=sums.avg_clv,
        previous_buyers=sums.previous_buyers,
        churn_rate=_ratio(sums.churned, sums.previous_buyers),
        conversion=_ratio(sums.buyers, sums.size),
        mailed=sums.mailed,
        open_rate=_ratio(sums.openers, sums.mailed),
        click_rate=_ratio(sums.clickers, sums.mailed),
        nps_answers=sums.nps_answers,
        nps=100.0 * _ratio(sums.promoters - sums.detractors, sums.nps_answers),
        csat_answers=sums.csat_answers,
        csat=_ratio(sums.satisfied, sums.csat_answers),
        tickets=sums.tickets,
        tickets_per_100=100.0 * _ratio(sums.tickets, sums.size),
        avg_cac=sums.avg_cac,
    )
