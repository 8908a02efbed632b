"""The current consent of each customer, derived from the consents ledger.

The ``consents`` table is an append-only ledger: every record (who, which channel and
purpose, which status, when, from which source, with which proof) is kept. The state
as of a moment is derived here, in one place, for every reader (segment conditions,
exports, audits, personas, dedupe): per (customer, channel, purpose), the latest
record before ``as_of``; between records of the same moment, the strictest status
(withdrawn, then denied, then granted), so that an ambiguous history never widens
consent. A customer without a record has no row here; callers decide what that means
(never consent).

Examples
--------
>>> from datetime import datetime
>>> import ibis
>>> consents = ibis.memtable({
...     "customer_id": ["a", "a", "b"], "channel": ["email"] * 3,
...     "purpose": ["marketing"] * 3, "status": ["granted", "withdrawn", "denied"],
...     "recorded_at": [datetime(2024, 1, 1), datetime(2024, 6, 1), datetime(2024, 2, 1)]})
>>> status = consent_status(consents, "email", "marketing", datetime(2024, 12, 31))
>>> sorted(status.to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
[{'customer_id': 'a', 'status': 'withdrawn'}, {'customer_id': 'b', 'status': 'denied'}]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from cible.domain.schema import CONSENT_STRICTNESS, CONSENT_SUBJECT

#: Column ordering the ledger's records.
RECORDED_AT = "recorded_at"


def strictness(status: Any) -> Any:
    """Rank of a status from the widest (0, granted) to the strictest; -1 when unknown.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"s": ["granted", "withdrawn"]})
    >>> t.select(r=strictness(t.s)).to_pyarrow()["r"].to_pylist()
    [0, 2]
    """
    return status.cases(*((s, i) for i, s in enumerate(CONSENT_STRICTNESS)), else_=-1)


def current_consents(consents: Any, as_of: datetime | None = None) -> Any:
    """The current record per (customer, channel, purpose) of the consents ledger.

    Parameters
    ----------
    consents : ibis.Table
        The ``consents`` ledger.
    as_of : datetime, optional
        Naive UTC moment; records from it on are ignored, records without a date
        count. ``None``: every record.

    Returns
    -------
    ibis.Table
        The ledger's columns, one row per (customer, channel, purpose) with a record.

    Examples
    --------
    >>> from datetime import datetime
    >>> import ibis
    >>> ledger = ibis.memtable({
    ...     "customer_id": ["a", "a"], "channel": ["sms", "sms"],
    ...     "purpose": ["marketing"] * 2, "status": ["granted", "denied"],
    ...     "recorded_at": [datetime(2024, 1, 1)] * 2})
    >>> current_consents(ledger).to_pyarrow()["status"].to_pylist()
    ['denied']
    """
    recorded = consents[RECORDED_AT]
    kept = [consents.customer_id.notnull()]
    if as_of is not None:
        kept.append(recorded.isnull() | (recorded < ibis.literal(as_of, recorded.type())))
    rows = consents.filter(*kept)
    ranked = rows.mutate(
        _consent_rank=ibis.row_number().over(
            group_by=list(CONSENT_SUBJECT),
            order_by=[
                ibis.desc(rows[RECORDED_AT], nulls_first=False),
                ibis.desc(strictness(rows.status)),
            ],
        )
    )
    return ranked.filter(ranked._consent_rank == 0).drop("_consent_rank")


def consent_status(consents: Any, channel: str, purpose: str, as_of: datetime) -> Any:
    """The current consent status per customer for ``channel`` and ``purpose``.

    Parameters
    ----------
    consents : ibis.Table
        The ``consents`` ledger.
    channel, purpose : str
        What the consent is for (``email``, ``marketing``...).
    as_of : datetime
        Naive UTC moment; records from it on are ignored, records without a date count.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``status``: one row per customer who has a record.
    """
    about = consents.filter(
        consents.channel == ibis.literal(channel, "string"),
        consents.purpose == ibis.literal(purpose, "string"),
    )
    return current_consents(about, as_of).select("customer_id", "status")
