"""Objection to profiling (GDPR art. 21), read from the consents ledger.

A customer objects to profiling when their latest ``profiling`` record, on any
channel, is ``denied`` or ``withdrawn``. A customer with no ``profiling`` record does
not object: the ledger's ``profiling`` purpose records a refusal, and its absence is
no refusal. Between records of the same moment the strictest status wins (as in
:mod:`cible.features.consent`), so an ambiguous history never hides an objection.

The channel is ignored on purpose: an objection is to being profiled, not to being
contacted on one channel, so a refusal recorded on any channel counts, and only a
later ``granted`` record (on any channel) lifts it.

Every automated decision reads this one function: rule, built-in and cluster
segments in a run (:mod:`cible.segments.runner`) and in a live refresh
(:mod:`cible.segments.live`), value and churn scores, clustering, segment previews,
fairness reports, automations and channel exports.

An objection governs the processing done now, whatever date the data describes: a
run, a snapshot or a live refresh as of a past moment (a replay, a backtest) reads
objections as of :func:`objection_moment`, the later of that moment and now, so a
customer who objects today is never profiled again by a run dated before the
objection.

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> ledger = ibis.memtable({
...     "customer_id": ["a", "a", "b", "c"],
...     "channel": ["email", "sms", "email", "email"],
...     "purpose": ["profiling", "profiling", "profiling", "marketing"],
...     "status": ["granted", "withdrawn", "denied", "withdrawn"],
...     "recorded_at": [datetime(2024, 1, 1), datetime(2024, 3, 1), datetime(2024, 2, 1),
...                     datetime(2024, 2, 1)]})
>>> ids = objecting_customers(ledger, datetime(2024, 12, 31)).to_pyarrow()
>>> sorted(ids["customer_id"].to_pylist())
['a', 'b']
>>> objecting_customers(ledger, datetime(2024, 2, 15)).to_pyarrow()["customer_id"].to_pylist()
['b']
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis

from cible.domain.clock import utc_now
from cible.features.consent import RECORDED_AT, strictness

#: The ledger's purpose an objection is recorded under.
PROFILING = "profiling"
#: Latest ``profiling`` statuses that mean the customer objects.
OBJECTING = ("denied", "withdrawn")


def objection_moment(as_of: datetime | None = None) -> datetime:
    """The moment objections are read at for processing about ``as_of``: the later of
    ``as_of`` and now.

    Data may be evaluated as of a past moment, but the profiling happens now, and an
    objection recorded since applies to it (GDPR art. 21: the customer objects to
    being profiled from now on, not to how they were profiled in the past). A moment
    in the future is kept as it is, so records dated up to it count.

    Parameters
    ----------
    as_of : datetime, optional
        Naive UTC moment the data is evaluated at; ``None``: now.

    Examples
    --------
    >>> from datetime import datetime
    >>> objection_moment(datetime(2020, 1, 1)) > datetime(2024, 1, 1)
    True
    >>> objection_moment(datetime(9000, 1, 1))
    datetime.datetime(9000, 1, 1, 0, 0)
    """
    now = utc_now()
    return now if as_of is None or as_of < now else as_of


def objecting_customers(consents: Any, as_of: datetime | None = None) -> Any:
    """The ids of the customers who object to profiling as of ``as_of``.

    Parameters
    ----------
    consents : ibis.Table
        The ``consents`` ledger (or some of its rows: a live refresh passes those of
        the customers it refreshes).
    as_of : datetime, optional
        Naive UTC moment; records from it on are ignored, records without a date
        count (as in :func:`cible.features.consent.current_consents`). ``None``:
        every record.

    Returns
    -------
    ibis.Table
        One column, ``customer_id``, each objecting customer once.

    Examples
    --------
    >>> import ibis
    >>> ledger = ibis.memtable({
    ...     "customer_id": ["a", "a"], "channel": ["email", "post"],
    ...     "purpose": ["profiling"] * 2, "status": ["withdrawn", "granted"],
    ...     "recorded_at": [datetime(2024, 1, 1), datetime(2024, 5, 1)]})
    >>> objecting_customers(ledger).to_pyarrow().num_rows
    0
    """
    recorded = consents[RECORDED_AT]
    kept = [consents.customer_id.notnull(), consents.purpose == ibis.literal(PROFILING, "string")]
    if as_of is not None:
        kept.append(recorded.isnull() | (recorded < ibis.literal(as_of, recorded.type())))
    rows = consents.filter(*kept)
    ranked = rows.mutate(
        _objection_rank=ibis.row_number().over(
            group_by=[rows.customer_id],
            order_by=[
                ibis.desc(rows[RECORDED_AT], nulls_first=False),
                ibis.desc(strictness(rows.status)),
            ],
        )
    )
    latest = ranked.filter(ranked._objection_rank == 0)
    return latest.filter(latest.status.isin(OBJECTING)).select(
        customer_id=latest.customer_id.cast("string")
    )


def without_objectors(table: Any, objectors: Any) -> Any:
    """The rows of ``table`` whose ``customer_id`` does not object.

    ``objectors`` is what :func:`objecting_customers` returns.

    Examples
    --------
    >>> import ibis
    >>> members = ibis.memtable({"customer_id": ["a", "b"], "segment_id": ["x", "x"]})
    >>> objectors = ibis.memtable({"customer_id": ["b"]})
    >>> without_objectors(members, objectors).to_pyarrow()["customer_id"].to_pylist()
    ['a']
    """
    return table.anti_join(objectors, table.customer_id == objectors.customer_id)


def unprofiled(table: Any, objectors: Any, columns: Sequence[str]) -> Any:
    """``table`` with ``columns`` set to NULL on the rows of objecting customers.

    What a run derives about a customer to profile them (scores, tiers, bands,
    typologies) is not kept for a customer who objects; the facts the other columns
    hold (orders counted, money spent) stay.

    Examples
    --------
    >>> import ibis
    >>> traits = ibis.memtable({"customer_id": ["a", "b"], "frequency": [3, 1],
    ...                         "clv_12m": [120.0, 40.0]})
    >>> objectors = ibis.memtable({"customer_id": ["b"]})
    >>> masked = unprofiled(traits, objectors, ["clv_12m"]).order_by("customer_id")
    >>> masked.to_pyarrow().to_pydict()
    {'customer_id': ['a', 'b'], 'frequency': [3, 1], 'clv_12m': [120.0, None]}
    """
    flagged = objectors.select(_objector_id="customer_id", _objects=ibis.literal(True))
    joined = table.left_join(flagged, table.customer_id == flagged._objector_id)
    objects = joined._objects.fill_null(False)
    masked = {
        name: ibis.ifelse(objects, ibis.null(joined[name].type()), joined[name])
        if name in columns
        else joined[name]
        for name in table.columns
    }
    return joined.select(**masked)
